package config

import (
	"strings"
	"testing"
)

// TestServiceCallback (D98): service_callback (and the service_callbacks
// spelling) turns on LiteLLM's service metrics with "prometheus_system",
// as a list or one name, without a warning; another name is warned about
// and ignored.
func TestServiceCallback(t *testing.T) {
	base := "model_list:\n  - model_name: m\n    litellm_params: {model: openai/gpt-4o, api_key: k}\nlitellm_settings:\n"
	env := func(string) (string, bool) { return "", false }
	for _, tc := range []struct {
		yaml     string
		on       bool
		warnings int
	}{
		{`  service_callback: ["prometheus_system"]`, true, 0},
		{`  service_callback: prometheus_system`, true, 0},
		{`  service_callbacks: ["prometheus_system"]`, true, 0},
		{`  service_callback: ["datadog", "prometheus_system"]`, true, 1},
		{`  service_callback: ["datadog"]`, false, 1},
		{`  service_callback: []`, false, 0},
	} {
		cfg := mustParse(t, base+tc.yaml+"\n", env)
		n := 0
		for _, w := range cfg.Warnings {
			if strings.Contains(w.Key, "service_callback") {
				n++
				if !strings.Contains(w.Message, `"datadog"`) {
					t.Errorf("%s: warning %q", tc.yaml, w.Message)
				}
			}
		}
		if cfg.LiteLLM.PrometheusSystem != tc.on || n != tc.warnings {
			t.Errorf("%s: on %v with %d warnings, want %v with %d", tc.yaml, cfg.LiteLLM.PrometheusSystem, n, tc.on, tc.warnings)
		}
	}
}

// TestRedactMessagesInExceptions (D98): read as a boolean without a
// warning (it was "not yet"); a non-boolean is an error.
func TestRedactMessagesInExceptions(t *testing.T) {
	base := "model_list:\n  - model_name: m\n    litellm_params: {model: openai/gpt-4o, api_key: k}\nlitellm_settings:\n"
	env := func(string) (string, bool) { return "", false }
	for _, v := range []bool{true, false} {
		cfg := mustParse(t, base+"  redact_messages_in_exceptions: "+map[bool]string{true: "true", false: "false"}[v]+"\n", env)
		if cfg.LiteLLM.RedactMessagesInExceptions != v || len(cfg.Warnings) != 0 {
			t.Errorf("%v: read %v, warnings %v", v, cfg.LiteLLM.RedactMessagesInExceptions, cfg.Warnings)
		}
	}
	if e := parseErr(t, base+"  redact_messages_in_exceptions: often\n", env); !strings.Contains(e.Error(), "redact_messages_in_exceptions") {
		t.Errorf("a non-boolean: %v", e)
	}
}

// TestReturnResponseHeaders: read as a boolean without a warning (D110;
// "not yet" before); a non-boolean refused.
func TestReturnResponseHeaders(t *testing.T) {
	base := "model_list:\n  - model_name: m\n    litellm_params: {model: openai/gpt-4o, api_key: k}\nlitellm_settings:\n"
	env := func(string) (string, bool) { return "", false }
	for _, v := range []bool{true, false} {
		cfg := mustParse(t, base+"  return_response_headers: "+map[bool]string{true: "true", false: "false"}[v]+"\n", env)
		if cfg.LiteLLM.ReturnResponseHeaders != v || len(cfg.Warnings) != 0 {
			t.Errorf("%v: read %v, warnings %v", v, cfg.LiteLLM.ReturnResponseHeaders, cfg.Warnings)
		}
	}
	if e := parseErr(t, base+"  return_response_headers: always\n", env); !strings.Contains(e.Error(), "return_response_headers") {
		t.Errorf("a non-boolean: %v", e)
	}
}

// TestTelemetryAccepted: litellm_settings.telemetry only switches LiteLLM's
// own usage telemetry; read as a boolean without a warning (D110).
func TestTelemetryAccepted(t *testing.T) {
	base := "model_list:\n  - model_name: m\n    litellm_params: {model: openai/gpt-4o, api_key: k}\nlitellm_settings:\n"
	env := func(string) (string, bool) { return "", false }
	if cfg := mustParse(t, base+"  telemetry: false\n", env); len(cfg.Warnings) != 0 {
		t.Errorf("warnings %v", cfg.Warnings)
	}
	if e := parseErr(t, base+"  telemetry: sometimes\n", env); !strings.Contains(e.Error(), "telemetry") {
		t.Errorf("a non-boolean: %v", e)
	}
}
