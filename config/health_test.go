package config

import (
	"testing"
	"time"
)

// TestHealthCheckSettings: background_health_checks and its interval, the
// health-check timeout from HEALTH_CHECK_TIMEOUT_SECONDS (LiteLLM's default
// 60 s) and a deployment's model_info.health_check_timeout.
func TestHealthCheckSettings(t *testing.T) {
	yml := `
model_list:
  - model_name: m
    litellm_params: {model: openai/gpt-4o, api_key: k}
    model_info: {id: a, health_check_timeout: 2.5}
general_settings:
  background_health_checks: true
  health_check_interval: 1
`
	cfg := mustParse(t, yml, func(string) (string, bool) { return "", false })
	g := cfg.General
	if !g.BackgroundHealthChecks || g.HealthCheckInterval != time.Second || g.HealthCheckTimeout != 60*time.Second {
		t.Errorf("general = background %v interval %v timeout %v", g.BackgroundHealthChecks, g.HealthCheckInterval, g.HealthCheckTimeout)
	}
	if got := cfg.Models[0].Info.HealthCheckTimeout; got != 2500*time.Millisecond {
		t.Errorf("model_info.health_check_timeout = %v", got)
	}
	env := func(k string) (string, bool) {
		if k == EnvHealthCheckTimeout {
			return "7", true
		}
		return "", false
	}
	if got := mustParse(t, yml, env).General.HealthCheckTimeout; got != 7*time.Second {
		t.Errorf("HEALTH_CHECK_TIMEOUT_SECONDS=7: %v", got)
	}
	bad := func(k string) (string, bool) {
		if k == EnvHealthCheckTimeout {
			return "soon", true
		}
		return "", false
	}
	cfg = mustParse(t, yml, bad)
	if cfg.General.HealthCheckTimeout != 60*time.Second || !hasDiag(cfg.Warnings, "HEALTH_CHECK_TIMEOUT_SECONDS") {
		t.Errorf("a bad HEALTH_CHECK_TIMEOUT_SECONDS: %v, warnings %v", cfg.General.HealthCheckTimeout, cfg.Warnings)
	}
}

// TestOTelMetricsEndpoint: the GenAI metrics go to
// OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, else the base endpoint's /v1/metrics
// over HTTP (the target itself over grpc).
func TestOTelMetricsEndpoint(t *testing.T) {
	yml := "model_list: []\nlitellm_settings:\n  callbacks: [\"otel\"]\n"
	for _, c := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, "http://localhost:4318/v1/metrics"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/"}, "http://collector:4318/v1/metrics"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "http://collector:4317"},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://m:9/x"}, "http://m:9/x"},
	} {
		env := func(k string) (string, bool) { v, ok := c.env[k]; return v, ok }
		if got := mustParse(t, yml, env).LiteLLM.Logging.OTelMetricsEndpoint; got != c.want {
			t.Errorf("%v: metrics endpoint %q, want %q", c.env, got, c.want)
		}
	}
}

// TestHealthCheckDetails (D85): health_check_details: false hides /health's
// endpoint details; true, or unset, keeps them (LiteLLM's default).
func TestHealthCheckDetails(t *testing.T) {
	for _, tc := range []struct {
		set  string
		hide bool
	}{{"", false}, {"  health_check_details: true\n", false}, {"  health_check_details: false\n", true}} {
		yml := "model_list:\n  - model_name: m\n    litellm_params: {model: openai/gpt-4o, api_key: k}\ngeneral_settings:\n  master_key: sk-1\n" + tc.set
		if got := mustParse(t, yml, func(string) (string, bool) { return "", false }).General.HealthCheckHidesDetails; got != tc.hide {
			t.Errorf("%q: hides details %v, want %v", tc.set, got, tc.hide)
		}
	}
}

// TestHealthCheckModel (D104): model_info.health_check_model is the model a
// health check calls instead of litellm_params.model (a wildcard deployment
// has no callable model). Its provider prefix, when it names one, must be
// the deployment's own; the rest is the provider model id.
func TestHealthCheckModel(t *testing.T) {
	none := func(string) (string, bool) { return "", false }
	cfg := mustParse(t, `
model_list:
  - model_name: "openai/*"
    litellm_params: {model: "openai/*", api_key: k}
    model_info: {id: w, health_check_model: openai/gpt-4o-mini}
  - model_name: "*"
    litellm_params: {model: "openai/*", api_key: k}
    model_info: {id: bare, health_check_model: ft:gpt-4o-mini:org:x}
  - model_name: plain
    litellm_params: {model: openai/gpt-4o, api_key: k}
    model_info: {id: p}
`, none)
	for i, want := range []string{"gpt-4o-mini", "ft:gpt-4o-mini:org:x", ""} {
		if got := cfg.Models[i].Info.HealthCheckModel; got != want {
			t.Errorf("deployment %s: health-check model id %q, want %q", cfg.Models[i].ID, got, want)
		}
	}
	le := parseErr(t, `
model_list:
  - model_name: "openai/*"
    litellm_params: {model: "openai/*", api_key: k}
    model_info: {health_check_model: anthropic/claude-3-5-haiku-20241022}
`, none)
	if !hasDiag(le.Diagnostics, "health_check_model") {
		t.Errorf("a health_check_model of another provider: %v", le.Diagnostics)
	}
}
