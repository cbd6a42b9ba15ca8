package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/shared"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestParamsMergeReasoning: merge_reasoning_content_in_choices on an
// Anthropic deployment puts the streamed thinking into the content as
// <think>…</think> and sends no reasoning_content; the same deployment
// without it streams the thinking as reasoning_content. Through Envoy with
// openai-go, on both request filters (D119).
func TestParamsMergeReasoning(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{Reply: "The answer.", Thinking: "Let me think it over."})
	for _, mode := range requestFilterModes {
		t.Run(mode.name, func(t *testing.T) {
			g := startGatewayArgs(t, `
model_list:
  - model_name: claude
    litellm_params: {model: anthropic/claude-3-7-sonnet-20250219, api_base: `+fake.URL()+`, api_key: k}
  - model_name: claude-merged
    litellm_params: {model: anthropic/claude-3-7-sonnet-20250219, api_base: `+fake.URL()+`, api_key: k, merge_reasoning_content_in_choices: true}
`, mode.args)
			client := newClient(g, "any")
			read := func(model string) (content string, reasoningChunks int) {
				t.Helper()
				s := client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
					Model: model, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi")},
					ReasoningEffort: shared.ReasoningEffortLow,
				})
				for s.Next() {
					c := s.Current()
					if strings.Contains(c.RawJSON(), `"reasoning_content"`) {
						reasoningChunks++
					}
					if len(c.Choices) > 0 {
						content += c.Choices[0].Delta.Content
					}
				}
				if err := s.Err(); err != nil {
					t.Fatalf("%s: %v", model, err)
				}
				return content, reasoningChunks
			}
			if content, n := read("claude"); content != "The answer." || n == 0 {
				t.Errorf("claude: content %q and %d chunks with reasoning_content; want the reply alone and the thinking as reasoning_content", content, n)
			}
			for range 2 { // the second on a warm path
				if content, n := read("claude-merged"); content != "<think>Let me think it over.</think>The answer." || n != 0 {
					t.Errorf("claude-merged: content %q and %d chunks with reasoning_content; want <think>…</think> before the reply and none", content, n)
				}
			}
			rec, _ := fake.Last()
			if !strings.Contains(string(rec.Body), `"thinking"`) {
				t.Errorf("the provider was not asked to think: %s", rec.Body)
			}
		})
	}
}
