package main

import (
	"net/http"
	_ "net/http/pprof" // probe only: LLMGATE_DYNMOD_PPROF=127.0.0.1:PORT serves /debug/pprof from inside Envoy
	"os"
)

func init() {
	if addr := os.Getenv("LLMGATE_DYNMOD_PPROF"); addr != "" {
		go func() { _ = http.ListenAndServe(addr, nil) }()
	}
}
