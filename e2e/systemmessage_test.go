package e2e

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestSupportsSystemMessage: a deployment with supports_system_message:
// false gets no system message (merged into the next user message's text,
// as LiteLLM's map_system_message_pt), an OpenAI one and an Anthropic one
// (translated); a deployment without it gets the same request's system
// message. On both request filters (D103).
func TestSupportsSystemMessage(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	for _, mode := range requestFilterModes {
		t.Run(mode.name, func(t *testing.T) {
			g := startGatewayArgs(t, fmt.Sprintf(`
model_list:
  - model_name: plain
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/v1, api_key: k}
  - model_name: nosys
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/v1, api_key: k, supports_system_message: false}
  - model_name: nosys-claude
    litellm_params: {model: anthropic/claude-3-5-haiku-20241022, api_base: %[1]s, api_key: k, supports_system_message: false}
`, fake.URL()), mode.args)
			body := `{"model":"%s","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}]}`
			type msg struct {
				Role    string `json:"role"`
				Content any    `json:"content"`
			}
			sent := func(model string) (msgs []msg, system any) {
				t.Helper()
				for range 2 { // the second on a warm path
					if code, _, b := post(t, g.URL+"/v1/chat/completions", "", fmt.Sprintf(body, model)); code != 200 {
						t.Fatalf("%s: status %d: %s", model, code, b)
					}
				}
				rec, _ := fake.Last()
				var m struct {
					Messages []msg `json:"messages"`
					System   any   `json:"system"`
				}
				if err := json.Unmarshal(rec.Body, &m); err != nil {
					t.Fatalf("%s: %v: %s", model, err, rec.Body)
				}
				return m.Messages, m.System
			}
			if msgs, _ := sent("plain"); len(msgs) != 2 || msgs[0].Role != "system" {
				t.Errorf("plain: the system message must reach the provider: %+v", msgs)
			}
			for _, model := range []string{"nosys", "nosys-claude"} {
				msgs, system := sent(model)
				if system != nil || len(msgs) != 1 || msgs[0].Role != "user" || fmt.Sprint(msgs[0].Content) != "Be brief. Hi" &&
					fmt.Sprint(msgs[0].Content) != "[map[text:Be brief. Hi type:text]]" {
					t.Errorf("%s: want one user message \"Be brief. Hi\" and no system, got %+v system %v", model, msgs, system)
				}
			}
		})
	}
}
