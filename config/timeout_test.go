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

// TestRequestTimeoutLadder: litellm_params.request_timeout is the
// deployment's timeout when timeout is not set (LiteLLM's _get_timeout reads
// timeout, then request_timeout); timeout wins when both are set, and
// force_timeout (LiteLLM's legacy parameter) changes nothing and warns
// nothing.
func TestRequestTimeoutLadder(t *testing.T) {
	cfg := mustParse(t, `
model_list:
  - model_name: a
    litellm_params: {model: openai/gpt-4o, api_key: k, request_timeout: 7}
  - model_name: b
    litellm_params: {model: openai/gpt-4o, api_key: k, request_timeout: 7, timeout: 3}
  - model_name: c
    litellm_params: {model: openai/gpt-4o, api_key: k, force_timeout: 600}
`, nil)
	for i, want := range []time.Duration{7 * time.Second, 3 * time.Second, 0} {
		if got := cfg.Models[i].Params.Timeout; got != want {
			t.Errorf("%s: timeout %v, want %v", cfg.Models[i].ModelName, got, want)
		}
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("warnings: %v", cfg.Warnings)
	}
}

// TestParamsBaseModel: litellm_params.base_model names the model whose
// prices apply when model_info.base_model is not set (LiteLLM's cost lookup
// reads model_info's first), without a warning.
func TestParamsBaseModel(t *testing.T) {
	cfg := mustParse(t, `
model_list:
  - model_name: a
    litellm_params: {model: azure/my-gpt, api_key: k, api_base: "https://x.example", base_model: azure/gpt-4o}
  - model_name: b
    litellm_params: {model: azure/my-gpt, api_key: k, api_base: "https://x.example", base_model: azure/gpt-4o}
    model_info: {base_model: azure/gpt-4o-mini}
`, nil)
	if got := cfg.Models[0].Info.BaseModel; got != "azure/gpt-4o" {
		t.Errorf("litellm_params.base_model: %q", got)
	}
	if got := cfg.Models[1].Info.BaseModel; got != "azure/gpt-4o-mini" {
		t.Errorf("model_info.base_model first: %q", got)
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("warnings: %v", cfg.Warnings)
	}
}
