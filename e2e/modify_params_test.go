package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// TestModifyParams (D148): litellm_settings.modify_params mends Anthropic
// requests as LiteLLM 1.109 does, through Envoy on both request filters
// with the official OpenAI SDK. Without it a request of system messages only
// is LiteLLM's 400 ("Anthropic requires at least one non-system message…");
// with it the provider gets a "Please continue." user message, and an
// assistant message's tool calls without results get LiteLLM's "skipped"
// tool results while a result of no call is removed. Whatever the setting,
// an empty user message reaches Anthropic as LiteLLM's placeholder text.
func TestModifyParams(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	cfg := func(modify bool) string {
		return fmt.Sprintf(`
model_list:
  - model_name: claude
    litellm_params: {model: anthropic/claude-3-5-haiku-20241022, api_base: %s, api_key: k}
litellm_settings:
  modify_params: %v
`, fake.URL(), modify)
	}
	systemOnly := openai.ChatCompletionNewParams{Model: "claude", Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("You are a poet.")}}
	emptyUser := openai.ChatCompletionNewParams{Model: "claude", Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("s"), openai.UserMessage("")}}
	asst := openai.ChatCompletionAssistantMessageParam{ToolCalls: []openai.ChatCompletionMessageToolCallUnionParam{
		{OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{ID: "call_1", Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: "get_weather", Arguments: `{"city":"Paris"}`}}},
		{OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{ID: "call_2", Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{Name: "get_time", Arguments: `{}`}}},
	}}
	toolTurn := openai.ChatCompletionNewParams{Model: "claude",
		Tools: []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{Name: "get_weather"}), openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{Name: "get_time"})},
		Messages: []openai.ChatCompletionMessageParamUnion{
			openai.UserMessage("weather and time?"),
			{OfAssistant: &asst},
			openai.ToolMessage("sunny", "call_1"),
			openai.ToolMessage("stale", "call_9"),
			openai.UserMessage("thanks"),
		}}
	// sent is what Anthropic got for the last request: its messages.
	sent := func(t *testing.T) string {
		t.Helper()
		rec, ok := fake.Last()
		if !ok {
			t.Fatal("the provider got no request")
		}
		var b struct{ Messages json.RawMessage }
		if err := json.Unmarshal(rec.Body, &b); err != nil {
			t.Fatalf("provider body: %v: %s", err, rec.Body)
		}
		return string(b.Messages)
	}
	for _, mode := range requestFilterModes {
		t.Run(mode.name, func(t *testing.T) {
			off := startGatewayArgs(t, cfg(false), mode.args)
			on := startGatewayArgs(t, cfg(true), mode.args)
			client := func(g *Gateway) openai.Client {
				return openai.NewClient(option.WithBaseURL(g.URL+"/v1"), option.WithAPIKey("any"), option.WithMaxRetries(0))
			}
			ctx := context.Background()

			fake.Reset()
			c := client(off)
			_, err := c.Chat.Completions.New(ctx, systemOnly)
			var oe *openai.Error
			if !errors.As(err, &oe) || oe.StatusCode != 400 || oe.Type != "invalid_request_error" ||
				!strings.HasPrefix(oe.Message, "litellm.BadRequestError: Anthropic requires at least one non-system message. Either provide one, or set `litellm.modify_params = True`") {
				t.Fatalf("system only, modify_params off: %v", err)
			}
			if n := len(fake.Requests()); n != 0 {
				t.Errorf("the refused request reached the provider (%d requests)", n)
			}
			if _, err := c.Chat.Completions.New(ctx, emptyUser); err != nil {
				t.Fatalf("empty user message, modify_params off: %v", err)
			}
			if got, want := sent(t), `[{"role":"user","content":[{"type":"text","text":"[System: Empty message content sanitised to satisfy protocol]"}]}]`; got != want {
				t.Errorf("empty user message sent as %s, want %s", got, want)
			}

			c = client(on)
			before := requestFilterStreams(t, on)
			if r, err := c.Chat.Completions.New(ctx, systemOnly); err != nil || len(r.Choices) != 1 {
				t.Fatalf("system only, modify_params on: %v", err)
			}
			if got, want := sent(t), `[{"role":"user","content":[{"type":"text","text":"Please continue."}]}]`; got != want {
				t.Errorf("system only sent as %s, want %s", got, want)
			}
			if _, err := c.Chat.Completions.New(ctx, toolTurn); err != nil {
				t.Fatalf("tool turn, modify_params on: %v", err)
			}
			want := `[{"role":"user","content":[{"type":"text","text":"weather and time?"}]},` +
				`{"role":"assistant","content":[{"type":"tool_use","id":"call_1","name":"get_weather","input":{"city":"Paris"}},{"type":"tool_use","id":"call_2","name":"get_time","input":{}}]},` +
				`{"role":"user","content":[{"type":"tool_result","tool_use_id":"call_1","content":[{"type":"text","text":"sunny"}]},` +
				`{"type":"tool_result","tool_use_id":"call_2","content":[{"type":"text","text":"[System: Tool execution skipped/interrupted by user. No result provided for tool 'get_time'.]"}]},` +
				`{"type":"text","text":"thanks"}]}]`
			if got := sent(t); got != want {
				t.Errorf("tool turn sent as\n%s\nwant\n%s", got, want)
			}
			if n := requestFilterStreams(t, on) - before; mode.name == "module" && n != 0 {
				t.Errorf("the mended requests opened %d request-filter streams: not served by the module", n)
			}
		})
	}
}
