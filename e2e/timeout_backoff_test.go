package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// liteLLMMinWait is the shortest wait LiteLLM's router sleeps before a retry
// that cannot go to another healthy deployment: 0.5 s × (1 − 0.25 × jitter),
// with no Retry-After to honour (a timeout or a dropped connection has none).
const liteLLMMinWait = 375 * time.Millisecond

// TestTimeoutBackoff: after a dropped connection a retry on the same
// deployment waits LiteLLM's backoff (docs/architecture.md D18), a retry
// onto another deployment after a timeout does not, and a retry on the same
// deployment after a per-try timeout gets its whole timeout (Envoy cannot
// hold it for LiteLLM's wait without taking the wait from that timeout, D18).
func TestTimeoutBackoff(t *testing.T) {
	needEnvoy(t)
	const body = `{"model":"%s","messages":[{"role":"user","content":"x"}]}`

	t.Run("single_deployment_resets_are_spaced", func(t *testing.T) {
		fake := fakeprovider.StartT(t, fakeprovider.Options{})
		g := startGateway(t, fmt.Sprintf(`
model_list:
  - model_name: flaky
    litellm_params: {model: openai/gpt-4o-mini, api_base: %s/flaky/v1, api_key: k}
router_settings:
  num_retries: 2
`, fake.URL()))
		if err := fake.AddRule(fakeprovider.Rule{Fault: fakeprovider.Fault{Reset: fakeprovider.ResetBefore}}); err != nil {
			t.Fatal(err)
		}
		code, _, b := post(t, g.URL+"/v1/chat/completions", "", fmt.Sprintf(body, "flaky"))
		if code < 500 {
			t.Errorf("status %d, want a 5xx after every try was dropped: %s", code, b)
		}
		reqs := fake.Requests()
		if len(reqs) != 3 {
			t.Fatalf("%d calls, want 1 + num_retries = 3", len(reqs))
		}
		for i := 1; i < len(reqs); i++ {
			if gap := reqs[i].Time.Sub(reqs[i-1].Time); gap < liteLLMMinWait {
				t.Errorf("try %d reached the provider %v after the dropped one, want ≥ LiteLLM's minimum wait %v", i+1, gap, liteLLMMinWait)
			}
		}
	})

	t.Run("single_deployment_timeout_retry_gets_its_whole_timeout", func(t *testing.T) {
		fake := fakeprovider.StartT(t, fakeprovider.Options{})
		g := startGateway(t, fmt.Sprintf(`
model_list:
  - model_name: slow
    litellm_params: {model: openai/gpt-4o-mini, api_base: %s/slow/v1, api_key: k, timeout: 1}
router_settings:
  num_retries: 1
`, fake.URL()))
		if err := fake.AddRule(fakeprovider.Rule{Fault: fakeprovider.Fault{Delay: 3 * time.Second}}); err != nil {
			t.Fatal(err)
		}
		code, _, b := post(t, g.URL+"/v1/chat/completions", "", fmt.Sprintf(body, "slow"))
		end := time.Now()
		assertOpenAIError(t, code, b, 408, "litellm.Timeout")
		reqs := fake.Requests()
		if len(reqs) != 2 {
			t.Fatalf("%d calls, want 1 + num_retries = 2", len(reqs))
		}
		gap, last := reqs[1].Time.Sub(reqs[0].Time), end.Sub(reqs[1].Time)
		// The measurement D18 reports: LiteLLM's gap would be 1 s + 0.375..0.5 s.
		t.Logf("tries %v apart (LiteLLM: ≥ %v); the retry ran %v at the provider", gap, time.Second+liteLLMMinWait, last)
		if gap < time.Second {
			t.Errorf("the retry followed the first try after %v, before its 1 s timeout", gap)
		}
		// A retry held in its attempt filter loses the hold from its own
		// per-try timeout (Envoy starts the timer first): it was cut ~0.5 s
		// after reaching the provider.
		if last < 900*time.Millisecond {
			t.Errorf("the retry was cut %v after it reached the provider, want its whole 1 s timeout", last)
		}
	})

	t.Run("another_deployment_is_tried_at_once", func(t *testing.T) {
		fake := fakeprovider.StartT(t, fakeprovider.Options{})
		g := startGateway(t, fmt.Sprintf(`
model_list:
  - model_name: pair
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/a/v1, api_key: k, timeout: 1}
  - model_name: pair
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/b/v1, api_key: k, timeout: 1}
router_settings:
  num_retries: 1
`, fake.URL()))
		if err := fake.AddRule(fakeprovider.Rule{Fault: fakeprovider.Fault{Delay: 3 * time.Second}}); err != nil {
			t.Fatal(err)
		}
		code, _, b := post(t, g.URL+"/v1/chat/completions", "", fmt.Sprintf(body, "pair"))
		assertOpenAIError(t, code, b, 408, "litellm.Timeout")
		reqs := fake.Requests()
		if len(reqs) != 2 {
			t.Fatalf("%d calls, want 2 (num_retries: 1)", len(reqs))
		}
		if reqs[0].Path[:3] == reqs[1].Path[:3] {
			t.Errorf("both tries went to %s, want the other deployment second", reqs[0].Path)
		}
		// No LiteLLM wait: the retry follows the 1 s timeout by Envoy's few ms.
		if gap := reqs[1].Time.Sub(reqs[0].Time); gap >= time.Second+liteLLMMinWait {
			t.Errorf("the other deployment was tried %v after the first, want no backoff (< 1 s + %v)", gap, liteLLMMinWait)
		}
	})
}
