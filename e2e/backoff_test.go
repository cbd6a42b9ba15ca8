package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestBackoffOnTheSameDeployment: retries on the same deployment wait
// (LiteLLM's 0.5·2ⁿ s, rounded up to whole seconds for Envoy), while a retry
// onto another deployment is immediate (e2e/router_test.go).
func TestBackoffOnTheSameDeployment(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, fmt.Sprintf(`
model_list:
  - model_name: single
    litellm_params: {model: openai/gpt-4o, api_base: %s/single/v1, api_key: k}
router_settings:
  num_retries: 2
`, fake.URL()))
	if err := fake.AddRule(fakeprovider.Rule{Fault: fakeprovider.Fault{Status: 500}}); err != nil {
		t.Fatal(err)
	}
	code, _, b := post(t, g.URL+"/v1/chat/completions", "", `{"model":"single","messages":[{"role":"user","content":"x"}]}`)
	assertOpenAIError(t, code, b, 500, "")
	reqs := fake.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d calls, want 1 + num_retries = 3", len(reqs))
	}
	for i := 1; i < len(reqs); i++ {
		// A lower bound only: the retry must not hammer a failing deployment.
		if gap := reqs[i].Time.Sub(reqs[i-1].Time); gap < 900*time.Millisecond {
			t.Errorf("retry %d came %v after the previous call, want the backoff (≥ 1 s)", i, gap)
		}
	}
}
