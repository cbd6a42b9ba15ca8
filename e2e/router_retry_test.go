package e2e

import (
	"fmt"
	"testing"
	"time"
)

func groupRetryConfig(fake string) string {
	return fmt.Sprintf(`
model_list:
  - model_name: mg
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/mga/v1, api_key: k}
  - model_name: mg
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/mgb/v1, api_key: k}
  - model_name: plain
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/pa/v1, api_key: k}
  - model_name: plain
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/pb/v1, api_key: k}
  - model_name: single
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/single/v1, api_key: k, num_retries: 1}
router_settings:
  num_retries: 3
  disable_cooldowns: true
  retry_policy: {InternalServerErrorRetries: 0}
  model_group_retry_policy:
    mg: {InternalServerErrorRetries: 2}
  retry_after: 3
general_settings:
  master_key: %[2]s
`, fake, master)
}

// TestRouterGroupRetryPolicy (D89): model_group_retry_policy and
// retry_after through the real Envoy with openai-go, on the module path and
// on ext_proc. A 500 is retried twice in the group whose
// model_group_retry_policy says so and not at all in the group that follows
// the router's retry_policy; a retry on the only deployment of a group
// waits at least retry_after (3 s) instead of LiteLLM's first 0.5 s
// backoff. Before D89 both groups made 1 call and the wait was about 1 s.
func TestRouterGroupRetryPolicy(t *testing.T) {
	eachRequestFilter(t, groupRetryConfig, func(t *testing.T, p routerPath) {
		for _, tc := range []struct {
			group  string
			prefix []string
			calls  int64
		}{{"mg", []string{"/mga/", "/mgb/"}, 3}, {"plain", []string{"/pa/", "/pb/"}, 1}} {
			t.Run(tc.group, func(t *testing.T) {
				p.fake.Reset()
				for _, pre := range tc.prefix {
					p.fail(t, pre, 500)
				}
				if code, _, _, err := p.chat(t, tc.group); code != 500 || err == nil {
					t.Fatalf("%d %v, want the provider's 500", code, err)
				}
				if got := p.fake.Count(tc.prefix[0]) + p.fake.Count(tc.prefix[1]); got != tc.calls {
					t.Errorf("%d calls, want %d; %v", got, tc.calls, p.fake.Counts())
				}
			})
		}
		t.Run("retry_after", func(t *testing.T) {
			p.fake.Reset()
			p.fail(t, "/single/", 429)
			if code, _, _, err := p.chat(t, "single"); code != 429 || err == nil {
				t.Fatalf("%d %v, want the provider's 429", code, err)
			}
			reqs := p.fake.Requests()
			if len(reqs) != 2 {
				t.Fatalf("%d calls, want 1 + the deployment's num_retries (1)", len(reqs))
			}
			// A lower bound only: the wait LiteLLM's retry_after asks for.
			if gap := reqs[1].Time.Sub(reqs[0].Time); gap < 2500*time.Millisecond {
				t.Errorf("the retry came %v after the first call, want at least retry_after (3 s, less jitter)", gap)
			}
		})
	})
}
