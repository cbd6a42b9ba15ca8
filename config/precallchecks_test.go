package config

import (
	"testing"
	"time"
)

// router_settings.optional_pre_call_checks (D162): responses_api_deployment_check
// turns on the Responses affinity, router_budget_limiting is silent (budgets
// apply whenever set), the checks not built and unknown names are warned
// about at their line.
func TestOptionalPreCallChecks(t *testing.T) {
	cfg := mustParse(t, `
model_list:
  - model_name: m
    litellm_params: {model: openai/gpt-4o, api_key: k}
router_settings:
  optional_pre_call_checks:
    - router_budget_limiting
    - responses_api_deployment_check
    - prompt_caching
    - no_such_check
    - session_affinity
    - enforce_model_rate_limits
  model_group_affinity_config:
    g1: [deployment_affinity, responses_api_deployment_check]
    g2: [session_affinity, encrypted_content_affinity, bogus]
  deployment_affinity_ttl_seconds: 600
  session_affinity_repin_on_failover: true
`, nil)
	if !cfg.Router.ResponsesAffinity || !cfg.Router.SessionAffinity || cfg.Router.DeploymentAffinity {
		t.Errorf("checks read: responses %v session %v deployment %v, want true true false",
			cfg.Router.ResponsesAffinity, cfg.Router.SessionAffinity, cfg.Router.DeploymentAffinity)
	}
	if !cfg.Router.EnforceModelRateLimits {
		t.Error("enforce_model_rate_limits not read")
	}
	// D179: prompt_caching, the re-pin and its TTL.
	if !cfg.Router.PromptCaching || !cfg.Router.SessionAffinityRepin || cfg.Router.DeploymentAffinityTTL != 600*time.Second {
		t.Errorf("prompt_caching %v, repin %v, ttl %v: want true, true, 10m", cfg.Router.PromptCaching, cfg.Router.SessionAffinityRepin, cfg.Router.DeploymentAffinityTTL)
	}
	if d := mustParse(t, "model_list: []\n", nil).Router; d.PromptCaching || d.SessionAffinityRepin || d.DeploymentAffinityTTL != time.Hour {
		t.Errorf("defaults: prompt_caching %v, repin %v, ttl %v: want false, false, 1h", d.PromptCaching, d.SessionAffinityRepin, d.DeploymentAffinityTTL)
	}
	if g := cfg.Router.ModelGroupAffinity; len(g) != 2 || g["g1"] != (AffinityChecks{Deployment: true, Responses: true}) || g["g2"] != (AffinityChecks{Session: true}) {
		t.Errorf("model_group_affinity_config: %+v", g)
	}
	for _, w := range []string{
		`test.yaml:10: warning: router_settings.optional_pre_call_checks[3]: "no_such_check" is not one of LiteLLM's optional pre-call checks`,
		`test.yaml:15: warning: router_settings.model_group_affinity_config.g2: "encrypted_content_affinity" is accepted, not implemented yet`,
		`test.yaml:15: warning: router_settings.model_group_affinity_config.g2: unknown flag "bogus"`,
		`test.yaml:16: warning: router_settings.deployment_affinity_ttl_seconds: partly implemented`,
	} {
		if !hasDiag(cfg.Warnings, w) {
			t.Errorf("missing warning %q; got:\n%v", w, cfg.Warnings)
		}
	}
	if hasDiag(cfg.Warnings, "router_budget_limiting") || hasDiag(cfg.Warnings, `"responses_api_deployment_check" is`) || hasDiag(cfg.Warnings, `"session_affinity" is`) || hasDiag(cfg.Warnings, "enforce_model_rate_limits") ||
		hasDiag(cfg.Warnings, `"prompt_caching"`) || hasDiag(cfg.Warnings, "session_affinity_repin_on_failover:") {
		t.Errorf("a supported check warned about: %v", cfg.Warnings)
	}
	if cfg := mustParse(t, "model_list: []\n", nil); cfg.Router.ResponsesAffinity {
		t.Error("ResponsesAffinity on without the check")
	}
}
