package config

import (
	"strings"
	"testing"
)

// TestPrometheusInitializeBudgetMetrics (D85): the key is read (a boolean)
// without a "not yet" warning: llmgate serves every key's, team's and
// user's budget gauges at each scrape, what true asks of LiteLLM.
func TestPrometheusInitializeBudgetMetrics(t *testing.T) {
	base := "model_list:\n  - model_name: m\n    litellm_params: {model: openai/gpt-4o, api_key: k}\nlitellm_settings:\n  callbacks: [prometheus]\n"
	env := func(string) (string, bool) { return "", false }
	for _, v := range []string{"true", "false"} {
		cfg := mustParse(t, base+"  prometheus_initialize_budget_metrics: "+v+"\n", env)
		for _, w := range cfg.Warnings {
			if strings.Contains(w.Key, "prometheus_initialize_budget_metrics") {
				t.Errorf("%s: warning %s: %s", v, w.Key, w.Message)
			}
		}
	}
	if e := parseErr(t, base+"  prometheus_initialize_budget_metrics: often\n", env); !strings.Contains(e.Error(), "prometheus_initialize_budget_metrics") {
		t.Errorf("a non-boolean: %v", e)
	}
}
