package e2e

import (
	"fmt"
	"testing"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// Context-window and content-policy fallbacks started by the provider's own
// answer (its error message, or finish_reason content_filter), as opposed to
// the pre-call check in router_fallback_test.go. Kept apart: the extproc side
// of this path is being built.

func cwFallbackConfig(fake string) string {
	return fmt.Sprintf(`
model_list:
  - model_name: cw
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/cw/v1, api_key: k}
  - model_name: cw-big
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/cw-big/v1, api_key: k}
  - model_name: cw-general
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/cw-general/v1, api_key: k}
  - model_name: cp
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/cp/v1, api_key: k}
  - model_name: cp-safe
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/cp-safe/v1, api_key: k}
  - model_name: nofb
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/nofb/v1, api_key: k}
router_settings:
  num_retries: 2
  fallbacks: [{"cw": ["cw-general"]}, {"cp": ["cw-general"]}]
  context_window_fallbacks: [{"cw": ["cw-big"]}]
  content_policy_fallbacks: [{"cp": ["cp-safe"]}]
general_settings:
  master_key: %[2]s
`, fake, master)
}

// TestRouterProviderErrorFallbacks: a provider's context-window error goes
// to context_window_fallbacks, a content-policy error or finish_reason
// content_filter to content_policy_fallbacks — not to the general fallbacks,
// and without retries on the same group.
func TestRouterProviderErrorFallbacks(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, cwFallbackConfig(fake.URL()))
	cases := []struct {
		name, group, prefix string
		fault               fakeprovider.Fault
		wantServer          string
	}{
		{"context window error → context_window_fallbacks", "cw", "/cw/",
			fakeprovider.Fault{ErrorMessage: "This model's maximum context length is 10 tokens. However, your messages resulted in 25 tokens."}, "/cw-big"},
		{"content policy error → content_policy_fallbacks", "cp", "/cp/",
			fakeprovider.Fault{Status: 400, ErrorMessage: "Your request was rejected as a result of our safety system. content_policy_violation"}, "/cp-safe"},
		{"finish_reason content_filter → content_policy_fallbacks", "cp", "/cp/",
			fakeprovider.Fault{FinishReason: "content_filter"}, "/cp-safe"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fake.Reset()
			fake.ClearRules()
			defer fake.ClearRules()
			must(t, fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: c.prefix}, Fault: c.fault}))
			r := send(g.URL, chatBody(c.group, "please answer"))
			if r.err != nil {
				t.Fatal(r.err)
			}
			if r.code != 200 || r.servedBy() != c.wantServer {
				t.Errorf("GATEWAY BUG (provider-error fallback): got %d from %q, want 200 from %s; provider saw %v; body %s",
					r.code, r.servedBy(), c.wantServer, fake.Counts(), r.body)
			}
			if got := fake.Count(c.prefix); got != 1 {
				t.Errorf("%s got %d calls, want 1 (no retry when a matching fallback list exists)", c.prefix, got)
			}
			if got := fake.Count("/cw-general/"); got != 0 {
				t.Errorf("the general fallback got %d calls; the specific list must be used", got)
			}
			if r.code == 200 && r.hdr.Get("x-litellm-attempted-fallbacks") != "1" {
				t.Errorf("x-litellm-attempted-fallbacks = %q, want 1", r.hdr.Get("x-litellm-attempted-fallbacks"))
			}
		})
	}

	t.Run("context window error without a fallback list reaches the client as a 400", func(t *testing.T) {
		fake.Reset()
		fake.ClearRules()
		defer fake.ClearRules()
		must(t, fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/nofb/"},
			Fault: fakeprovider.Fault{ErrorMessage: "This model's maximum context length is 10 tokens"}}))
		r := send(g.URL, chatBody("nofb", "too long"))
		if r.err != nil {
			t.Fatal(r.err)
		}
		assertOpenAIError(t, r.code, r.body, 400, "maximum context length")
	})
}
