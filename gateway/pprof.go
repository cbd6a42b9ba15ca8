package gateway

import (
	"log/slog"
	"net/http"
	"net/http/pprof"
	"os"
)

// PprofEnv names the environment variable that turns on Go's profiler for
// `llmgate run`: LLMGATE_PPROF_ADDR=127.0.0.1:6060 serves /debug/pprof/ on
// that address (CPU, heap, allocs, goroutine, mutex, block). Off by default;
// bind it to loopback only, the profiles are not authenticated.
const PprofEnv = "LLMGATE_PPROF_ADDR"

func init() {
	addr := os.Getenv(PprofEnv)
	if addr == "" {
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	go func() {
		slog.Info("pprof listening", "addr", addr)
		if err := http.ListenAndServe(addr, mux); err != nil {
			slog.Error("pprof server stopped", "addr", addr, "error", err)
		}
	}()
}
