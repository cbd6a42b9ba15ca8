package config

import "testing"

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
`, nil)
	if !cfg.Router.ResponsesAffinity {
		t.Error("responses_api_deployment_check not read")
	}
	for _, w := range []string{
		`test.yaml:9: warning: router_settings.optional_pre_call_checks[2]: "prompt_caching" is accepted, not implemented yet`,
		`test.yaml:10: warning: router_settings.optional_pre_call_checks[3]: "no_such_check" is not one of LiteLLM's optional pre-call checks`,
	} {
		if !hasDiag(cfg.Warnings, w) {
			t.Errorf("missing warning %q; got:\n%v", w, cfg.Warnings)
		}
	}
	if hasDiag(cfg.Warnings, "router_budget_limiting") || hasDiag(cfg.Warnings, "responses_api_deployment_check") {
		t.Errorf("a supported check warned about: %v", cfg.Warnings)
	}
	if cfg := mustParse(t, "model_list: []\n", nil); cfg.Router.ResponsesAffinity {
		t.Error("ResponsesAffinity on without the check")
	}
}
