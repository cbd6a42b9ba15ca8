package modrt

import "strconv"

// Procs is the GOMAXPROCS the module sets in Envoy's process: one more than
// the CPUs the process may run on (ncpu) or the runtime's own choice (cur),
// whichever is larger — unless the operator set GOMAXPROCS (env), which is
// kept (0: leave the runtime alone).
//
// Why one more (docs/architecture.md D66): every Envoy worker thread that
// calls a hook takes a P and, back in Envoy's C++ code between hooks, leaves
// it in the "syscall" state. When no P is idle, the Go scheduler's sysmon
// takes that P back after 20 µs and starts a thread to look for work with
// it, and the worker's next hook then finds no P and waits for one: about
// five Go thread wake-ups per request on a busy worker, and the worker
// parked on the request path for one request in a dozen. With one P more
// than Envoy has workers (Envoy runs one per CPU by default) a P is always
// idle, so sysmon leaves a worker's P alone (for up to 10 ms) and stops
// spinning.
func Procs(env string, cur, ncpu int) int {
	if env != "" {
		if n, err := strconv.Atoi(env); err == nil && n > 0 {
			return 0
		}
	}
	return max(cur, ncpu) + 1
}
