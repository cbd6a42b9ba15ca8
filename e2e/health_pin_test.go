package e2e

import (
	"fmt"
	"testing"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestHealthPinIsNeverRedirected: a deployment whose health check fails with
// a context-window or content-policy error is reported unhealthy with that
// error. The pinned check used to be redirected into the group's
// context_window_fallbacks (D11), whose healthy answer made /health report
// the failing deployment healthy (D13).
func TestHealthPinIsNeverRedirected(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, fmt.Sprintf(`
model_list:
  - model_name: small
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/small/v1, api_key: k}
    model_info: {id: small}
  - model_name: unsafe
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/unsafe/v1, api_key: k}
    model_info: {id: unsafe}
  - model_name: big
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/big/v1, api_key: k}
    model_info: {id: big}
router_settings:
  context_window_fallbacks: [{"small": ["big"]}]
  content_policy_fallbacks: [{"unsafe": ["big"]}]
general_settings:
  master_key: %[2]s
`, fake.URL(), master))
	must(t, fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/small/"},
		Fault: fakeprovider.Fault{Status: 400, ErrorMessage: "This model's maximum context length is 8 tokens. However, your messages resulted in 9 tokens."}}))
	must(t, fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/unsafe/"},
		Fault: fakeprovider.Fault{Status: 400, ErrorMessage: "Your request was rejected as a result of our safety system (content_policy_violation)."}}))

	h := getHealth(t, g)
	b := h.Raw
	unhealthy := map[string]string{}
	for _, e := range h.Unhealthy {
		unhealthy[e.ID] = e.Error
	}
	for _, id := range []string{"small", "unsafe"} {
		if unhealthy[id] == "" {
			t.Errorf("deployment %s fails its check but is not unhealthy with its error: %s", id, b)
		}
	}
	if len(h.Healthy) != 1 || h.Healthy[0].ID != "big" {
		t.Errorf("healthy = %s", b)
	}
	// Each deployment was called once: the failing checks went nowhere else.
	for _, p := range []string{"/small/", "/unsafe/", "/big/"} {
		if n := fake.Count(p); n != 1 {
			t.Errorf("%s called %d times, want 1", p, n)
		}
	}
}
