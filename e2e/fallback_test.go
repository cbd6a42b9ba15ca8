package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestProviderErrorFallbacks: context-window and content-policy errors known
// only from the provider's answer start their own fallback lists (internal
// redirect, D11), across wire formats.
func TestProviderErrorFallbacks(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, fmt.Sprintf(`
model_list:
  - model_name: small
    litellm_params: {model: azure/small, api_base: %[1]s, api_key: k, api_version: "2024-06-01"}
  - model_name: big
    litellm_params: {model: anthropic/claude-big, api_base: %[1]s, api_key: k}
  - model_name: safe
    litellm_params: {model: openai/safe-model, api_base: %[1]s/safe/v1, api_key: k}
router_settings:
  context_window_fallbacks: [{"small": ["big"]}]
  content_policy_fallbacks: [{"small": ["safe"]}]
general_settings:
  master_key: %[2]s
`, fake.URL(), master))

	t.Run("context window error from the provider", func(t *testing.T) {
		if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{Model: "small"}, Fault: fakeprovider.Fault{Status: 400,
			ErrorMessage: "This model's maximum context length is 10 tokens. However, your messages resulted in 50 tokens."}}); err != nil {
			t.Fatal(err)
		}
		defer fake.ClearRules()
		code, h, b := post(t, g.URL+"/v1/chat/completions", master, `{"model":"small","messages":[{"role":"user","content":"long prompt"}]}`)
		if code != 200 || !strings.Contains(string(b), "long prompt") {
			t.Fatalf("status %d: %s\n%s", code, b, g.Stderr())
		}
		if h.Get("x-litellm-model-group") != "big" {
			t.Errorf("served by group %q, want the context-window fallback big", h.Get("x-litellm-model-group"))
		}
	})

	t.Run("content_filter finish reason", func(t *testing.T) {
		if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{Model: "small"}, Fault: fakeprovider.Fault{FinishReason: "content_filter"}}); err != nil {
			t.Fatal(err)
		}
		defer fake.ClearRules()
		code, h, b := post(t, g.URL+"/v1/chat/completions", master, `{"model":"small","messages":[{"role":"user","content":"edgy"}]}`)
		if code != 200 || h.Get("x-litellm-model-group") != "safe" {
			t.Fatalf("status %d group %q: %s", code, h.Get("x-litellm-model-group"), b)
		}
	})

	t.Run("content policy error with no list of its kind reaches the client", func(t *testing.T) {
		if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{Model: "claude-big"}, Fault: fakeprovider.Fault{Status: 400,
			ErrorMessage: "prompt is too long: 300000 tokens > 200000 maximum"}}); err != nil {
			t.Fatal(err)
		}
		defer fake.ClearRules()
		code, _, b := post(t, g.URL+"/v1/chat/completions", master, `{"model":"big","messages":[{"role":"user","content":"x"}]}`)
		assertOpenAIError(t, code, b, 400, "prompt is too long")
	})
}
