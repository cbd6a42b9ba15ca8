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

// boolSetting checks a litellm_settings boolean: true and false read
// (read, when the key sets a field) without a warning, a non-boolean
// refused naming the key.
func boolSetting(t *testing.T, key string, read func(*Config) bool) {
	t.Helper()
	base := "model_list:\n  - model_name: m\n    litellm_params: {model: openai/gpt-4o, api_key: k}\nlitellm_settings:\n"
	env := func(string) (string, bool) { return "", false }
	for _, v := range []bool{true, false} {
		cfg := mustParse(t, base+"  "+key+": "+map[bool]string{true: "true", false: "false"}[v]+"\n", env)
		if (read != nil && read(cfg) != v) || len(cfg.Warnings) != 0 {
			t.Errorf("%s %v: warnings %v", key, v, cfg.Warnings)
		}
	}
	if e := parseErr(t, base+"  "+key+": often\n", env); !strings.Contains(e.Error(), key) {
		t.Errorf("%s: a non-boolean: %v", key, e)
	}
}

// TestRedactMessagesInExceptions (D98): read as a boolean without a
// warning (it was "not yet"); a non-boolean is an error.
func TestRedactMessagesInExceptions(t *testing.T) {
	boolSetting(t, "redact_messages_in_exceptions", func(c *Config) bool { return c.LiteLLM.RedactMessagesInExceptions })
}

// TestReturnResponseHeaders: read as a boolean without a warning (D110;
// "not yet" before); a non-boolean refused.
func TestReturnResponseHeaders(t *testing.T) {
	boolSetting(t, "return_response_headers", func(c *Config) bool { return c.LiteLLM.ReturnResponseHeaders })
}

// TestTelemetryAccepted: litellm_settings.telemetry only switches LiteLLM's
// own usage telemetry; read as a boolean without a warning (D110).
func TestTelemetryAccepted(t *testing.T) {
	boolSetting(t, "telemetry", nil)
}
