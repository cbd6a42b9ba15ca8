package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestEnforceModelRateLimits (D168): with optional_pre_call_checks'
// enforce_model_rate_limits a group whose deployments are all at their rpm
// is refused through Envoy with LiteLLM's ModelRateLimitingCheck answer — 429,
// "litellm.RateLimitError: Model rate limit exceeded. RPM limit=2, current
// usage=3", type throttling_error, a retry-after — on both request filters,
// and no request over the limits reaches the provider; without the check
// the same refusal is the usual "No deployments available".
func TestEnforceModelRateLimits(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	cfg := func(checks string) string {
		return fmt.Sprintf(`
model_list:
  - model_name: gpt-rl
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/rl-a/v1, api_key: k, rpm: 2}
    model_info: {id: rl-a}
  - model_name: gpt-rl
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/rl-b/v1, api_key: k, rpm: 2}
    model_info: {id: rl-b}
router_settings:
  num_retries: 0
%[2]s
general_settings:
  master_key: %[3]s
`, fake.URL(), checks, master)
	}
	for _, c := range []struct {
		name, checks string
		args         []string
		want         string
	}{
		{"module", "  optional_pre_call_checks: [enforce_model_rate_limits]", moduleArgs,
			"litellm.RateLimitError: Model rate limit exceeded. RPM limit=2, current usage=3"},
		{"ext_proc", "  optional_pre_call_checks: [enforce_model_rate_limits]", extProcArgs,
			"litellm.RateLimitError: Model rate limit exceeded. RPM limit=2, current usage=3"},
		{"without the check", "", moduleArgs, "No deployments available for selected model"},
	} {
		t.Run(c.name, func(t *testing.T) {
			g := startGatewayArgs(t, cfg(c.checks), c.args)
			fake.Reset()
			waitForMinuteLeft(20 * time.Second) // (the rpm windows are UTC minutes)
			for i := range 4 {
				if st, _, b := post(t, g.URL+"/v1/chat/completions", master, chatBody("gpt-rl", "under the limits")); st != 200 {
					t.Fatalf("request %d of 4 under the limits: %d %s", i+1, st, b)
				}
			}
			st, h, b := post(t, g.URL+"/v1/chat/completions", master, chatBody("gpt-rl", "over the limits"))
			if st != 429 || !strings.Contains(string(b), `"message":"`+c.want) || h.Get("retry-after") == "" {
				t.Fatalf("over the limits: %d retry-after %q %s, want 429 with a retry-after and %q", st, h.Get("retry-after"), b, c.want)
			}
			if c.checks != "" && (!strings.Contains(string(b), `"type":"throttling_error"`) || !strings.Contains(string(b), `"code":"429"`)) {
				t.Errorf("over the limits: %s, want LiteLLM's type throttling_error and code 429", b)
			}
			if n := fake.Count("/rl-a/") + fake.Count("/rl-b/"); n != 4 {
				t.Errorf("the provider saw %d requests, want the 4 under the limits", n)
			}
		})
	}
}
