package e2e

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
)

func budgetConfig(fake string) string {
	return fmt.Sprintf(`
model_list:
  - model_name: budgeted
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/ba/v1, api_key: k, max_budget: 0.000001, budget_duration: 1d}
    model_info: {id: ba, input_cost_per_token: 0.000001, output_cost_per_token: 0.000001}
  - model_name: budgeted
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/bb/v1, api_key: k}
    model_info: {input_cost_per_token: 0.000001, output_cost_per_token: 0.000001}
  - model_name: capped
    litellm_params: {model: azure/gpt4-dep, api_base: %[1]s/az, api_key: az-key, api_version: "2024-06-01"}
    model_info: {id: az, input_cost_per_token: 0.000001, output_cost_per_token: 0.000001}
router_settings:
  provider_budget_config:
    azure: {budget_limit: 0.000001, time_period: 1d}
litellm_settings:
  callbacks: ["prometheus"] # the tests wait for the tries on /metrics (waitReported)
general_settings:
  master_key: %[2]s
`, fake, master)
}

// TestRouterBudgets (D89): deployment max_budget/budget_duration and
// provider_budget_config through the real Envoy with openai-go, on the
// module path and on ext_proc. Once a deployment's answers cost its
// max_budget, the group's requests go to its other deployment; once a
// provider's deployments cost its budget_limit, a group of that provider
// answers LiteLLM's 429 "No deployments available - crossed budget". Before
// D89 the keys did nothing: the budgeted deployment kept its share and the
// capped group kept answering.
func TestRouterBudgets(t *testing.T) {
	eachRequestFilter(t, budgetConfig, func(t *testing.T, p routerPath) {
		t.Run("deployment budget", func(t *testing.T) {
			for i := 0; p.fake.Count("/ba/") == 0; i++ {
				if code, _, _, err := p.chat(t, "budgeted"); err != nil || code != 200 {
					t.Fatalf("%d %v", code, err)
				}
				if i == 40 {
					t.Fatalf("40 requests and none reached the budgeted deployment: %v", p.fake.Counts())
				}
			}
			before := p.fake.Count("/ba/")
			waitReported(t, p.g, "ba", before) // the answer's spend is counted as it ends
			for range 10 {
				if code, _, _, err := p.chat(t, "budgeted"); err != nil || code != 200 {
					t.Fatalf("%d %v", code, err)
				}
			}
			if got := p.fake.Count("/ba/") - before; got != 0 {
				t.Errorf("the deployment over its max_budget got %d of 10 requests; %v", got, p.fake.Counts())
			}
		})
		t.Run("provider budget", func(t *testing.T) {
			if code, _, _, err := p.chat(t, "capped"); err != nil || code != 200 {
				t.Fatalf("first request: %d %v", code, err)
			}
			calls := p.fake.Count("/az/")
			waitReported(t, p.g, "az", calls)
			code, _, _, err := p.chat(t, "capped")
			var oe *openai.Error
			if code != 429 || !errors.As(err, &oe) {
				t.Fatalf("%d %v, want a 429 OpenAI error", code, err)
			}
			if want := "No deployments available - crossed budget: Exceeded budget for provider azure: "; !strings.HasPrefix(oe.Message, want) {
				t.Errorf("message %q, want it to start %q", oe.Message, want)
			}
			if p.fake.Count("/az/") != calls {
				t.Errorf("the provider over its budget was called")
			}
		})
	})
}
