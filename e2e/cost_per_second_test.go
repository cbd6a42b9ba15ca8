package e2e

import (
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/openai/openai-go/v3"
)

// perSecondDelay is the fake provider's injected delay before each answer
// of the per-second priced deployments: a try lasts at least this long.
const perSecondDelay = 150 * time.Millisecond

func perSecondConfig(fake string) string {
	return fmt.Sprintf(`
model_list:
  - model_name: timed
    litellm_params: {model: azure/timed-dep, api_base: %[1]s/ps, api_key: az-key, api_version: "2024-06-01", input_cost_per_second: 0.01}
    model_info: {id: ps, output_cost_per_second: 0.02}
router_settings:
  provider_budget_config:
    azure: {budget_limit: 0.001, time_period: 1d}
litellm_settings:
  callbacks: ["prometheus"] # the test waits for the try on /metrics (waitReported)
general_settings:
  master_key: %[2]s
`, fake, master)
}

// TestCostPerSecond (D102): a deployment priced only per second
// (litellm_params.input_cost_per_second copied into model_info,
// model_info.output_cost_per_second) through the real Envoy with openai-go,
// on the module path and on ext_proc, against a provider that waits
// perSecondDelay: x-litellm-response-cost is at least (0.01 + 0.02) × the
// delay, and that spend counts against the provider budget (the next
// request is LiteLLM's 429 "crossed budget"). Before D102 the keys were
// ignored: no cost header, no spend, the second request answered 200.
func TestCostPerSecond(t *testing.T) {
	eachRequestFilter(t, perSecondConfig, func(t *testing.T, p routerPath) {
		must(t, p.fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/ps"}, Fault: fakeprovider.Fault{Delay: perSecondDelay}}))
		cost := perSecondCost(t, p, "timed")
		calls := p.fake.Count("/ps/")
		waitReported(t, p.g, "ps", calls) // the answer's spend is counted as it ends
		code, _, _, err := p.chat(t, "timed")
		var oe *openai.Error
		if code != 429 || !errors.As(err, &oe) {
			t.Fatalf("after a %v answer over the 0.001 budget: %d %v, want a 429 OpenAI error", cost, code, err)
		}
		if p.fake.Count("/ps/") != calls {
			t.Errorf("the provider over its budget was called")
		}
	})
}

// perSecondCost sends one chat completion to model and checks its
// x-litellm-response-cost: at least (0.01 + 0.02) per second × the delay.
func perSecondCost(t *testing.T, p routerPath, model string) float64 {
	t.Helper()
	code, h, _, err := p.chat(t, model)
	if err != nil || code != 200 {
		t.Fatalf("%s: %d %v", model, code, err)
	}
	cost, perr := strconv.ParseFloat(h.Get("x-litellm-response-cost"), 64)
	if min := (0.01 + 0.02) * perSecondDelay.Seconds(); perr != nil || cost < min {
		t.Fatalf("%s: x-litellm-response-cost = %q, want ≥ %v (price × the injected delay)", model, h.Get("x-litellm-response-cost"), min)
	}
	return cost
}

// TestCostPerSecondFastPath (D102): a deployment the module's fast path
// would serve (no budgets, OpenAI-compatible) priced only per second. The
// module prices an answer per token before it ends; it leaves such a
// deployment to the attempt filter, whose x-litellm-response-cost counts
// the try's duration. Seen failing with the module still serving it: the
// header read 0.
func TestCostPerSecondFastPath(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, fmt.Sprintf(`
model_list:
  - model_name: timed-fast
    litellm_params: {model: openai/timed-fast, api_base: %[1]s/ps/v1, api_key: k, input_cost_per_second: 0.01, output_cost_per_second: 0.02}
router_settings:
  num_retries: 0
general_settings:
  master_key: %[2]s
`, fake.URL(), master))
	must(t, fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/ps"}, Fault: fakeprovider.Fault{Delay: perSecondDelay}}))
	perSecondCost(t, routerPath{name: "default", fake: fake, g: g}, "timed-fast")
}
