package gateway

import (
	"testing"
	"time"
)

// TestEnvoySliceValue: LLMGATE_ENVOY_SLICE unset is 100µs, 0 is the
// kernel's default, a duration from 100µs to 100ms is taken as it is, and
// anything else is refused (D94).
func TestEnvoySliceValue(t *testing.T) {
	for v, want := range map[string]time.Duration{"": 100 * time.Microsecond, "0": 0, "0s": 0, "250us": 250 * time.Microsecond, "100ms": 100 * time.Millisecond} {
		if got, err := envoySlice(v); err != nil || got != want {
			t.Errorf("%q: %v, %v; want %v", v, got, err, want)
		}
	}
	for _, v := range []string{"50us", "1s", "-1ms", "fast", "100"} {
		if got, err := envoySlice(v); err == nil {
			t.Errorf("%q: %v, want an error", v, got)
		}
	}
}
