package config

import (
	"testing"
	"time"
)

// TestSubMillisecondTimeoutsAreOneMillisecond: Envoy counts whole
// milliseconds and reads 0 as "no timeout", so `timeout: 0.0001` must not
// round to 0.
func TestSubMillisecondTimeoutsAreOneMillisecond(t *testing.T) {
	cfg := mustParse(t, `
model_list:
  - model_name: m
    litellm_params: {model: openai/gpt-4o, api_key: k, timeout: 0.0001, stream_timeout: 0.0000001}
router_settings:
  timeout: 0.0004
`, nil)
	p := cfg.Models[0].Params
	if p.Timeout != time.Millisecond || p.StreamTimeout != time.Millisecond {
		t.Errorf("deployment timeout %v, stream_timeout %v, want 1ms", p.Timeout, p.StreamTimeout)
	}
	if cfg.Router.Timeout != time.Millisecond {
		t.Errorf("router timeout %v, want 1ms", cfg.Router.Timeout)
	}
}
