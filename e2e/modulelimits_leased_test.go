package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestModuleLeaseNonFastPlan (D77; D72's last paragraph): a plan the module
// serves that is not fast (a single deployment's group retries on itself)
// on a deployment with rpm: 100 spends the module's lease in the upstream
// filter, so the whole limit is served: exactly 100 requests in the minute
// reach the provider, the rest are 429s. Before, the attempt filter's
// Begin counted every try and the lease (one request) sat unused: 99.
func TestModuleLeaseNonFastPlan(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, fmt.Sprintf(`
model_list:
  - model_name: limited
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/lim/v1, api_key: k, rpm: 100}
    model_info: {id: lim-a}
router_settings:
  num_retries: 1
general_settings:
  master_key: %[2]s
`, fake.URL(), master))
	waitLog(t, g, "llmgate module: config")
	waitForMinuteLeft(25 * time.Second)
	minute := time.Now().UTC().Truncate(time.Minute)
	tl := sendOpenAI(t, g, "limited", 110, 4)
	if time.Now().UTC().Truncate(time.Minute) != minute {
		t.Fatalf("the run crossed a UTC minute boundary; cannot judge the rpm limit")
	}
	for _, e := range tl.errs {
		t.Errorf("neither 200 nor a 429 with retry-after in OpenAI form: %s", e)
	}
	if got := fake.Count("/lim/"); tl.ok != 100 || got != 100 || tl.limited != 10 {
		t.Errorf("rpm: 100, 110 requests: %d answered 200, %d 429, %d reached the provider; want 100, 10, 100", tl.ok, tl.limited, got)
	}
	if tl.served == 0 {
		t.Errorf("the module served none of the requests")
	}
	t.Logf("%d ok, %d limited, module served %d of 110", tl.ok, tl.limited, tl.served)
}
