package main

import (
	"os"
	"runtime"

	"github.com/llmgate/llmgate/internal/modrt"
)

// The module's Go runtime settings (docs/architecture.md D66): one P more
// than Envoy has workers, so that a worker's P left in "syscall" between two
// hooks is not taken back by sysmon and the worker never waits for a P on
// the request path (modrt.Procs).
func init() {
	if n := modrt.Procs(os.Getenv("GOMAXPROCS"), runtime.GOMAXPROCS(0), runtime.NumCPU()); n > 0 {
		runtime.GOMAXPROCS(n)
	}
}
