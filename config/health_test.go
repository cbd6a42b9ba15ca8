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
