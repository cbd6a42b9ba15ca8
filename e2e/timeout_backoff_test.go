package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// liteLLMMinWait is the shortest wait LiteLLM's router sleeps before a retry
// that cannot go to another healthy deployment: 0.5 s × (1 − 0.25 × jitter),
// with no Retry-After to honour (a timeout or a dropped connection has none).
const liteLLMMinWait = 375 * time.Millisecond

// TestTimeoutBackoff: after a dropped connection or a timeout a retry on
// the same deployment waits LiteLLM's backoff and still gets its whole
// timeout (docs/architecture.md D18, D59), the last timeout is LiteLLM's 408,
// and a retry onto another deployment after a timeout does not wait.
func TestTimeoutBackoff(t *testing.T) {
	needEnvoy(t)

	t.Run("single_deployment_resets_are_spaced", func(t *testing.T) {
		code, b, reqs, _ := timeoutRun(t, `
model_list:
  - model_name: flaky
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/flaky/v1, api_key: k}
router_settings:
  num_retries: 2
`, nil, fakeprovider.Fault{Reset: fakeprovider.ResetBefore}, "flaky")
		if code < 500 {
			t.Errorf("status %d, want a 5xx after every try was dropped: %s", code, b)
		}
		if len(reqs) != 3 {
			t.Fatalf("%d calls, want 1 + num_retries = 3", len(reqs))
		}
		for i := 1; i < len(reqs); i++ {
			if gap := reqs[i].Time.Sub(reqs[i-1].Time); gap < liteLLMMinWait {
				t.Errorf("try %d reached the provider %v after the dropped one, want ≥ LiteLLM's minimum wait %v", i+1, gap, liteLLMMinWait)
			}
		}
	})

	t.Run("single_deployment_timeout_retries_are_spaced_and_get_their_whole_timeout", func(t *testing.T) {
		// The module's spacing (D59): pinned, since ext_proc alone
		// cannot space a retry after a timeout (D18).
		code, b, reqs, end := timeoutRun(t, `
model_list:
  - model_name: slow
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/slow/v1, api_key: k, timeout: 1}
router_settings:
  num_retries: 2
`, moduleArgs, slowFault, "slow")
		assertOpenAIError(t, code, b, 408, "litellm.Timeout: APITimeoutError - Request timed out. Received Model Group=slow")
		if !strings.Contains(string(b), `"type":"timeout_error"`) {
			t.Errorf("408 body %s, want LiteLLM's timeout_error", b)
		}
		if len(reqs) != 3 {
			t.Fatalf("%d calls, want 1 + num_retries = 3", len(reqs))
		}
		// LiteLLM: each try runs its whole timeout (1 s), then the router
		// sleeps 0.5 s × (0.75..1) before each of the first two retries.
		for i := 1; i < len(reqs); i++ {
			gap := reqs[i].Time.Sub(reqs[i-1].Time)
			t.Logf("try %d reached the provider %v after try %d (LiteLLM: 1 s + 0.375..0.5 s)", i+1, gap, i)
			if gap < time.Second+liteLLMMinWait {
				t.Errorf("try %d followed try %d after %v, want its 1 s timeout + LiteLLM's wait (≥ %v)", i+1, i, gap, time.Second+liteLLMMinWait)
			}
			// Not Envoy's Retry-After back-off on top (whole seconds: ≥ 1 s more).
			if gap >= 2*time.Second {
				t.Errorf("try %d followed try %d after %v, want LiteLLM's wait only (< 2 s)", i+1, i, gap)
			}
		}
		// The wait is not taken from the retried try's own timeout.
		if last := end.Sub(reqs[len(reqs)-1].Time); last < 950*time.Millisecond {
			t.Errorf("the last try was cut %v after it reached the provider, want its whole 1 s timeout", last)
		}
	})

	t.Run("timeout_error_retries_bounds_the_retries_after_a_timeout", func(t *testing.T) {
		code, b, reqs, _ := timeoutRun(t, `
model_list:
  - model_name: slow
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/slow/v1, api_key: k, timeout: 1}
router_settings:
  num_retries: 3
  retry_policy: {TimeoutErrorRetries: 1}
`, moduleArgs, slowFault, "slow")
		assertOpenAIError(t, code, b, 408, "litellm.Timeout")
		// LiteLLM: retry_policy's TimeoutErrorRetries, not num_retries, for a timeout.
		if n := len(reqs); n != 2 {
			t.Fatalf("%d calls, want 1 + TimeoutErrorRetries = 2", n)
		}
	})

	t.Run("another_deployment_is_tried_at_once", func(t *testing.T) {
		code, b, reqs, _ := timeoutRun(t, `
model_list:
  - model_name: pair
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/a/v1, api_key: k, timeout: 1}
  - model_name: pair
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/b/v1, api_key: k, timeout: 1}
router_settings:
  num_retries: 1
`, nil, slowFault, "pair")
		assertOpenAIError(t, code, b, 408, "litellm.Timeout")
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

// slowFault is a provider that answers after 3 s (tries time out after 1).
var slowFault = fakeprovider.Fault{Delay: 3 * time.Second}

// timeoutRun starts a provider that answers every call with fault and a
// gateway on cfg (%[1]s is the provider's URL) with args, posts one request
// for model and returns the answer, the calls the provider saw and when
// the answer came.
func timeoutRun(t *testing.T, cfg string, args []string, fault fakeprovider.Fault, model string) (int, []byte, []fakeprovider.Recorded, time.Time) {
	t.Helper()
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGatewayArgs(t, fmt.Sprintf(cfg, fake.URL()), args)
	if err := fake.AddRule(fakeprovider.Rule{Fault: fault}); err != nil {
		t.Fatal(err)
	}
	code, _, b := post(t, g.URL+"/v1/chat/completions", "", fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":"x"}]}`, model))
	return code, b, fake.Requests(), time.Now()
}
