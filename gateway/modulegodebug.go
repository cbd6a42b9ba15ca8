package gateway

import (
	"os"
	"strings"
)

// moduleGODEBUG is the GODEBUG llmgate gives Envoy in module mode
// (docs/architecture.md D70): the caller's own GODEBUG with cgocheck=0
// added, unless the caller set cgocheck. The module's Go runtime reads it
// once, when Envoy loads the module. cgocheck=1 (Go's default) checks, on
// every call from the module into Envoy, that no Go pointer passed to C
// points at memory holding Go pointers; the module passes only byte
// buffers, Envoy-owned memory and pinned header arrays (dynmod/abi.go), and
// `make test` runs it with the check on, so turning it off drops a check
// that never fires, not a protection.
func moduleGODEBUG() string { return withCgocheckOff(os.Getenv("GODEBUG")) }

// withCgocheckOff is moduleGODEBUG for the caller's GODEBUG.
func withCgocheckOff(caller string) string {
	for _, kv := range strings.Split(caller, ",") {
		if strings.HasPrefix(strings.TrimSpace(kv), "cgocheck=") {
			return "GODEBUG=" + caller
		}
	}
	if caller == "" {
		return "GODEBUG=cgocheck=0"
	}
	return "GODEBUG=" + caller + ",cgocheck=0"
}
