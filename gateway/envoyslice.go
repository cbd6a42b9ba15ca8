package gateway

import (
	"fmt"
	"os"
	"time"

	"github.com/llmgate/llmgate/envoy"
)

// EnvoySliceEnv sets the scheduler slice llmgate asks for its Envoy
// (docs/architecture.md D94, envoy/slice.go): a Go duration of at least
// 100µs, or 0 for the kernel's default. Unset: 100µs, so that an Envoy
// worker woken by a request takes its CPU at once from the gateway's
// background work (the module's outcome records, the tables), instead of
// after the running task's slice (1.4 ms on two CPUs).
const EnvoySliceEnv = "LLMGATE_ENVOY_SLICE"

// envoySlice is the slice of EnvoySliceEnv's value v.
func envoySlice(v string) (time.Duration, error) {
	if v == "" {
		return envoy.MinSlice, nil
	}
	d, err := time.ParseDuration(v)
	if v == "0" {
		d, err = 0, nil
	}
	if err != nil || d < 0 || (d > 0 && d < envoy.MinSlice) || d > 100*time.Millisecond {
		return 0, fmt.Errorf("$%s=%q: want 0 or a duration from 100µs to 100ms", EnvoySliceEnv, v)
	}
	return d, nil
}

// envoySliceOf is envoySlice of the environment's value.
func envoySliceOf() (time.Duration, error) { return envoySlice(os.Getenv(EnvoySliceEnv)) }
