package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/openai/openai-go/v3"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestParamsMessages: the litellm_params that rewrite a chat request's
// messages before the call, through Envoy with openai-go, on both request
// filters (D119). ensure_alternating_roles puts the assistant continue
// message (the deployment's own, else LiteLLM's "Please continue.") between
// two user turns, for an OpenAI deployment and an Anthropic one;
// cache_control_injection_points marks the system message and the last
// message of an Anthropic request, and an OpenAI deployment with the same
// points gets no mark. The fake provider's recorded body is read.
func TestParamsMessages(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	for _, mode := range requestFilterModes {
		t.Run(mode.name, func(t *testing.T) {
			g := startGatewayArgs(t, fmt.Sprintf(`
model_list:
  - model_name: plain
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/v1, api_key: k}
  - model_name: alt
    litellm_params:
      model: openai/gpt-4o
      api_base: %[1]s/v1
      api_key: k
      ensure_alternating_roles: true
      assistant_continue_message: {role: assistant, content: "go on"}
  - model_name: alt-claude
    litellm_params: {model: anthropic/claude-3-5-haiku-20241022, api_base: %[1]s, api_key: k, ensure_alternating_roles: true}
  - model_name: cache-claude
    litellm_params:
      model: anthropic/claude-3-5-haiku-20241022
      api_base: %[1]s
      api_key: k
      cache_control_injection_points:
        - {location: message, role: system}
        - {location: message, index: -1, control: {type: ephemeral, ttl: 1h}}
  - model_name: cache-openai
    litellm_params:
      model: openai/gpt-4o
      api_base: %[1]s/v1
      api_key: k
      cache_control_injection_points: [{location: message, role: system}]
`, fake.URL()), mode.args)
			client := newClient(g, "any")
			msgs := []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("S"), openai.UserMessage("A"), openai.UserMessage("B")}
			sent := func(model string) map[string]json.RawMessage {
				t.Helper()
				for range 2 { // the second on a warm path
					if _, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: model, Messages: msgs}); err != nil {
						t.Fatalf("%s: %v", model, err)
					}
				}
				rec, _ := fake.Last()
				var m map[string]json.RawMessage
				if err := json.Unmarshal(rec.Body, &m); err != nil {
					t.Fatalf("%s: %v: %s", model, err, rec.Body)
				}
				return m
			}
			compact := func(b json.RawMessage) string {
				var v any
				_ = json.Unmarshal(b, &v)
				out, _ := json.Marshal(v)
				return string(out)
			}
			for _, c := range []struct{ model, field, want string }{
				{"plain", "messages", `[{"content":"S","role":"system"},{"content":"A","role":"user"},{"content":"B","role":"user"}]`},
				{"alt", "messages", `[{"content":"S","role":"system"},{"content":"A","role":"user"},{"content":"go on","role":"assistant"},{"content":"B","role":"user"}]`},
				{"alt-claude", "messages", `[{"content":[{"text":"A","type":"text"}],"role":"user"},{"content":[{"text":"Please continue.","type":"text"}],"role":"assistant"},{"content":[{"text":"B","type":"text"}],"role":"user"}]`},
				{"cache-claude", "system", `[{"cache_control":{"type":"ephemeral"},"text":"S","type":"text"}]`},
				{"cache-claude", "messages", `[{"content":[{"text":"A","type":"text"},{"cache_control":{"ttl":"1h","type":"ephemeral"},"text":"B","type":"text"}],"role":"user"}]`},
				{"cache-openai", "messages", `[{"content":"S","role":"system"},{"content":"A","role":"user"},{"content":"B","role":"user"}]`},
			} {
				if got := compact(sent(c.model)[c.field]); got != c.want {
					t.Errorf("%s: the provider got %s\n%s, want\n%s", c.model, c.field, got, c.want)
				}
			}
		})
	}
}
