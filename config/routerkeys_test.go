package config

import (
	"reflect"
	"testing"
	"time"
)

// TestRouterKeysD89: the router keys of D89 read as LiteLLM writes them, and
// their mistakes reported.
func TestRouterKeysD89(t *testing.T) {
	cfg := mustParse(t, `
model_list:
  - model_name: g
    litellm_params: {model: openai/a, order: 2, tags: [x, default], tag_regex: ["^User-Agent: cc/", "(bad"], max_budget: 0.5, budget_duration: 1d}
router_settings:
  enable_tag_filtering: true
  tag_filtering_match_any: false
  retry_after: 2
  model_group_retry_policy:
    g: {RateLimitErrorRetries: 4}
  provider_budget_config:
    openai: {budget_limit: 10, time_period: 7d}
    azure: {max_budget: 1, budget_duration: 30m}
`, nil)
	p := findModel(t, cfg, "g").Params
	if p.Order == nil || *p.Order != 2 || !reflect.DeepEqual(p.TagRegex, []string{"^User-Agent: cc/"}) ||
		p.MaxBudget != 0.5 || p.BudgetDuration != 24*time.Hour {
		t.Errorf("litellm_params: order %v, tag_regex %q, max_budget %v, budget_duration %v", p.Order, p.TagRegex, p.MaxBudget, p.BudgetDuration)
	}
	r := cfg.Router
	if !r.EnableTagFiltering || r.TagFilteringMatchAny || r.RetryAfter != 2*time.Second ||
		!reflect.DeepEqual(r.ModelGroupRetryPolicy, map[string]map[string]int{"g": {"RateLimitErrorRetries": 4}}) ||
		!reflect.DeepEqual(r.ProviderBudgets, map[string]Budget{"openai": {10, 7 * 24 * time.Hour}, "azure": {1, 30 * time.Minute}}) {
		t.Errorf("router_settings: %+v", r)
	}
	if !hasDiag(cfg.Warnings, `pattern "(bad"`) {
		t.Errorf("no warning for the invalid tag_regex: %v", cfg.Warnings)
	}
	if d := mustParse(t, "model_list: [{model_name: g, litellm_params: {model: openai/a}}]\n", nil).Router; !d.TagFilteringMatchAny {
		t.Errorf("tag_filtering_match_any defaults to false")
	}
	le := parseErr(t, `
model_list: [{model_name: g, litellm_params: {model: openai/a, order: x}}]
router_settings:
  provider_budget_config:
    openai: {budget_limit: 10}
  model_group_retry_policy:
    g: {RateLimitRetries: 1}
`, nil)
	for _, want := range []string{"order: must be an integer", "needs budget_limit (> 0) and time_period", `unknown error class "RateLimitRetries"`} {
		if !hasDiag(le.Diagnostics, want) {
			t.Errorf("no error %q in %v", want, le.Diagnostics)
		}
	}
}
