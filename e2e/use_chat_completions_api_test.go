package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
)

// TestUseChatCompletionsAPI (D148): litellm_params.use_chat_completions_api
// makes an OpenAI deployment answer /v1/responses through LiteLLM's chat
// completions bridge (the provider gets POST /v1/chat/completions, the
// client a Response), where the same deployment without it gets the
// Responses API; the bridged answer keeps nothing to read by id. Through
// Envoy on both request filters with the official SDK.
func TestUseChatCompletionsAPI(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	cfg := fmt.Sprintf(`
model_list:
  - model_name: gpt-native
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/v1, api_key: k}
  - model_name: gpt-bridged
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/v1, api_key: k, use_chat_completions_api: true}
`, fake.URL())
	ctx := context.Background()
	for _, mode := range requestFilterModes {
		t.Run(mode.name, func(t *testing.T) {
			g := startGatewayArgs(t, cfg, mode.args)
			c := openai.NewClient(option.WithBaseURL(g.URL+"/v1"), option.WithAPIKey("any"), option.WithMaxRetries(0))
			for _, tc := range []struct{ model, path string }{
				{"gpt-native", "/v1/responses"},
				{"gpt-bridged", "/v1/chat/completions"},
			} {
				r, err := c.Responses.New(ctx, responses.ResponseNewParams{Model: tc.model,
					Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("hello " + tc.model)}})
				if err != nil {
					t.Fatalf("%s: %v", tc.model, err)
				}
				if r.Object != "response" || !strings.Contains(r.OutputText(), "hello "+tc.model) {
					t.Errorf("%s: the Response: %s", tc.model, r.RawJSON())
				}
				if last, _ := fake.Last(); last.Path != tc.path {
					t.Errorf("%s: the provider got %s, want %s", tc.model, last.Path, tc.path)
				}
				if tc.model == "gpt-bridged" {
					code, _, b := do(t, "GET", g.URL+"/v1/responses/"+r.ID, "", "")
					assertOpenAIError(t, code, b, 400, "answer the Responses API through chat completions")
				}
			}
		})
	}
}
