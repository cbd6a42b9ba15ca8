package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// messagesConfig: an Anthropic group, an OpenAI-compatible group (and an
// alias of it), an Anthropic group whose provider always fails with a
// fallback to the OpenAI one, all priced; keys and spend on.
func messagesConfig(fake, antKey, oaiKey string) string {
	return fmt.Sprintf(`
model_list:
  - model_name: claude-x
    litellm_params: {model: anthropic/claude-3-5-sonnet-20241022, api_base: %[1]s, api_key: %[2]s}
    model_info: {input_cost_per_token: 0.001, output_cost_per_token: 0.002}
  - model_name: gpt-x
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/v1, api_key: %[3]s}
    model_info: {input_cost_per_token: 0.001, output_cost_per_token: 0.002}
  - model_name: mocked
    litellm_params: {model: openai/gpt-4o, api_key: %[3]s, mock_response: "a mocked answer"}
  - model_name: claude-broken
    litellm_params: {model: anthropic/claude-3-haiku-20240307, api_base: %[1]s/broken, api_key: %[2]s}
    model_info: {input_cost_per_token: 0.001, output_cost_per_token: 0.002}
router_settings:
  num_retries: 0
  model_group_alias: {gpt-alias: gpt-x}
  fallbacks: [{claude-broken: [gpt-x]}]
general_settings:
  master_key: %[4]s
  proxy_batch_write_at: 1
`, fake, antKey, oaiKey, master)
}

// TestMessagesRoute (D129): LiteLLM's /v1/messages with the official
// anthropic-sdk-go through Envoy. An Anthropic deployment gets the body
// natively at its /v1/messages with its own key; an OpenAI-compatible one
// gets a chat completion, and the client an Anthropic message and
// Anthropic's stream events either way; a failing Anthropic group falls
// back to the OpenAI one; a virtual key's spend grows; an unknown model and
// a body without max_tokens are LiteLLM's 400s; no provider key and no
// internal header reaches the client.
func TestMessagesRoute(t *testing.T) {
	const antKey, oaiKey = "sk-ant-provider-secret", "sk-oai-provider-secret"
	fake := fakeprovider.StartT(t, fakeprovider.Options{APIKeys: []string{antKey, oaiKey}})
	if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/broken/"}, Fault: fakeprovider.Fault{Status: 500}}); err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, messagesConfig(fake.URL(), antKey, oaiKey))
	k := keyAPI{t, g}
	key, _ := k.generate(`{"models":["claude-x","gpt-x","claude-broken","mocked"]}`)

	noLeak := func(what string, h http.Header, body string) {
		t.Helper()
		assertNoLeak(t, what, h, body, antKey, oaiKey)
	}

	var lastHeaders http.Header
	client := anthropic.NewClient(option.WithBaseURL(g.URL), option.WithAPIKey(key), option.WithMaxRetries(0),
		option.WithMiddleware(func(r *http.Request, next option.MiddlewareNext) (*http.Response, error) {
			resp, err := next(r)
			if resp != nil {
				lastHeaders = resp.Header
			}
			return resp, err
		}))
	params := func(model, prompt string) anthropic.MessageNewParams {
		return anthropic.MessageNewParams{Model: anthropic.Model(model), MaxTokens: 64,
			System:   []anthropic.TextBlockParam{{Text: "be brief"}},
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(prompt))}}
	}
	ctx := context.Background()

	for _, c := range []struct{ model, path, keyHeader, want string }{
		{"claude-x", "/v1/messages", "X-Api-Key", antKey},
		{"gpt-x", "/v1/chat/completions", "Authorization", "Bearer " + oaiKey},
		{"gpt-alias", "/v1/chat/completions", "Authorization", "Bearer " + oaiKey},
	} {
		t.Run(c.model, func(t *testing.T) {
			msg, err := client.Messages.New(ctx, params(c.model, "hello "+c.model), option.WithHeader("anthropic-beta", "test-beta-2025"))
			if err != nil {
				t.Fatalf("messages.new: %v\n%s", err, g.Logs())
			}
			if msg.Type != "message" || msg.Role != "assistant" || len(msg.Content) == 0 || msg.Content[0].Type != "text" ||
				!strings.Contains(msg.Content[0].Text, "hello "+c.model) || msg.Model != c.model || msg.StopReason != "end_turn" ||
				msg.Usage.InputTokens == 0 || msg.Usage.OutputTokens == 0 {
				t.Errorf("the Anthropic message: %+v", msg)
			}
			last, _ := fake.Last()
			if last.Path != c.path || last.Header.Get(c.keyHeader) != c.want {
				t.Errorf("the provider got %s with %s %q; want %s with the deployment's key", last.Path, c.keyHeader, last.Header.Get(c.keyHeader), c.path)
			}
			// LiteLLM carries the client's anthropic-beta to Anthropic deployments only.
			if beta := last.Header.Get("Anthropic-Beta"); (beta == "test-beta-2025") != (c.keyHeader == "X-Api-Key") {
				t.Errorf("anthropic-beta at the provider: %q", beta)
			}
			if strings.Contains(fmt.Sprint(last.Header), key) {
				t.Errorf("the client's key reached the provider")
			}
			var sent map[string]any
			_ = json.Unmarshal(last.Body, &sent)
			if c.path == "/v1/chat/completions" {
				msgs, _ := sent["messages"].([]any)
				if len(msgs) != 2 || sent["max_tokens"] != float64(64) {
					t.Errorf("the chat completion sent: %s", last.Body)
				}
			} else if _, ok := sent["system"]; !ok || sent["model"] != "claude-3-5-sonnet-20241022" {
				t.Errorf("the native body sent: %s", last.Body)
			}
			if lastHeaders.Get("x-litellm-model-group") != c.model || lastHeaders.Get("x-litellm-response-cost") == "" {
				t.Errorf("x-litellm headers: group %q cost %q", lastHeaders.Get("x-litellm-model-group"), lastHeaders.Get("x-litellm-response-cost"))
			}
			noLeak(c.model, lastHeaders, msg.RawJSON())

			stream := client.Messages.NewStreaming(ctx, params(c.model, "stream "+c.model))
			var text strings.Builder
			var acc anthropic.Message
			got, err := readEventRuns(stream, func(ev anthropic.MessageStreamEventUnion) string { return ev.Type },
				func(ev anthropic.MessageStreamEventUnion) {
					if err := acc.Accumulate(ev); err != nil {
						t.Errorf("accumulate %s: %v", ev.Type, err)
					}
					if ev.Type == "content_block_delta" {
						text.WriteString(ev.Delta.Text)
					}
				})
			if err != nil {
				t.Fatalf("stream: %v\n%s", err, g.Logs())
			}
			if !strings.HasPrefix(got, "message_start,content_block_start,content_block_delta,content_block_stop,message_delta,message_stop") ||
				!strings.Contains(text.String(), "stream "+c.model) {
				t.Errorf("stream events %s, text %q", got, text.String())
			}
			if acc.StopReason != "end_turn" || acc.Usage.OutputTokens == 0 || acc.Model != c.model {
				t.Errorf("the accumulated stream: stop %q usage %+v model %q", acc.StopReason, acc.Usage, acc.Model)
			}
			noLeak(c.model+" stream", lastHeaders, "")
		})
	}

	t.Run("a tool call through the OpenAI-compatible deployment", func(t *testing.T) {
		p := params("gpt-x", "use the tool")
		p.Tools = []anthropic.ToolUnionParam{{OfTool: &anthropic.ToolParam{Name: "lookup", Description: anthropic.String("looks up"),
			InputSchema: anthropic.ToolInputSchemaParam{Properties: map[string]any{"query": map[string]any{"type": "string"}}}}}}
		p.ToolChoice = anthropic.ToolChoiceUnionParam{OfTool: &anthropic.ToolChoiceToolParam{Name: "lookup"}}
		msg, err := client.Messages.New(ctx, p)
		if err != nil {
			t.Fatalf("messages.new: %v\n%s", err, g.Logs())
		}
		var use *anthropic.ToolUseBlock
		for _, b := range msg.Content {
			if b.Type == "tool_use" {
				tu := b.AsToolUse()
				use = &tu
			}
		}
		if msg.StopReason != "tool_use" || use == nil || use.Name != "lookup" || use.ID == "" || !strings.Contains(string(use.Input), "query") {
			t.Errorf("the tool call: %s", msg.RawJSON())
		}
		last, _ := fake.Last()
		if !strings.Contains(string(last.Body), `"tool_choice":{"function":{"name":"lookup"},"type":"function"}`) ||
			!strings.Contains(string(last.Body), `"parameters":{"properties"`) {
			t.Errorf("the chat completion's tools: %s", last.Body)
		}
	})

	t.Run("a plain body, and Claude Code's ?beta=true", func(t *testing.T) {
		// A body of plain keys may be planned by the module's request
		// filter; a query hands it to ext_proc. Both answer alike.
		for _, path := range []string{"/v1/messages", "/v1/messages?beta=true"} {
			code, h, b := do(t, "POST", g.URL+path, key, `{"model":"gpt-x","max_tokens":8,"messages":[{"role":"user","content":"plain"}]}`)
			var m struct {
				Type    string `json:"type"`
				Model   string `json:"model"`
				Content []struct{ Text string }
			}
			if code != 200 || json.Unmarshal(b, &m) != nil || m.Type != "message" || m.Model != "gpt-x" || len(m.Content) != 1 || !strings.Contains(m.Content[0].Text, "plain") {
				t.Errorf("%s: %d %s", path, code, b)
			}
			if last, _ := fake.Last(); last.Path != "/v1/chat/completions" {
				t.Errorf("%s reached the provider at %s", path, last.Path)
			}
			noLeak(path, h, string(b))
		}
	})

	t.Run("a mock_response deployment answers in Anthropic's shape", func(t *testing.T) {
		before := fake.Count("/")
		msg, err := client.Messages.New(ctx, params("mocked", "x"))
		if err != nil || msg.Type != "message" || len(msg.Content) != 1 || msg.Content[0].Text != "a mocked answer" || msg.StopReason != "end_turn" {
			t.Errorf("mock: %v %+v", err, msg)
		}
		stream := client.Messages.NewStreaming(ctx, params("mocked", "x"))
		var acc anthropic.Message
		for stream.Next() {
			_ = acc.Accumulate(stream.Current())
		}
		if err := stream.Err(); err != nil || len(acc.Content) != 1 || acc.Content[0].Text != "a mocked answer" || acc.Usage.OutputTokens == 0 {
			t.Errorf("mock stream: %v %+v", err, acc)
		}
		if fake.Count("/") != before {
			t.Errorf("a mock called the provider")
		}
	})

	t.Run("count_tokens", func(t *testing.T) {
		before := fake.Count("/")
		n, err := client.Messages.CountTokens(ctx, anthropic.MessageCountTokensParams{Model: "gpt-x",
			Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("count these few words please"))}})
		if err != nil || n.InputTokens < 5 || n.InputTokens > 40 {
			t.Errorf("count_tokens: %+v %v", n, err)
		}
		if fake.Count("/") != before {
			t.Errorf("count_tokens called the provider")
		}
		if code, _, b := do(t, "POST", g.URL+"/v1/messages/count_tokens", "sk-wrong", `{"model":"gpt-x","messages":[{"role":"user","content":"x"}]}`); code != 401 {
			t.Errorf("count_tokens with a wrong key: %d %s", code, b)
		}
	})

	t.Run("fallback from the Anthropic group to the OpenAI one", func(t *testing.T) {
		before := fake.Count("/broken/")
		msg, err := client.Messages.New(ctx, params("claude-broken", "hello fallback"))
		if err != nil {
			t.Fatalf("messages.new: %v\n%s", err, g.Logs())
		}
		if fake.Count("/broken/") == before || len(msg.Content) == 0 || !strings.Contains(msg.Content[0].Text, "hello fallback") {
			t.Errorf("the fallback: %+v (broken tried %d times)", msg, fake.Count("/broken/")-before)
		}
		if lastHeaders.Get("x-litellm-model-group") != "gpt-x" || lastHeaders.Get("x-litellm-attempted-fallbacks") != "1" {
			t.Errorf("fallback headers: group %q fallbacks %q", lastHeaders.Get("x-litellm-model-group"), lastHeaders.Get("x-litellm-attempted-fallbacks"))
		}
	})

	t.Run("a virtual key's spend grows", func(t *testing.T) {
		deadline := time.Now().Add(15 * time.Second)
		for k.spend(key) == 0 && time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
		}
		s0 := k.spend(key)
		if s0 == 0 {
			t.Fatalf("no spend after the key's requests")
		}
		if _, err := client.Messages.New(ctx, params("gpt-x", "more spend")); err != nil {
			t.Fatal(err)
		}
		for k.spend(key) <= s0 && time.Now().Before(deadline.Add(10*time.Second)) {
			time.Sleep(200 * time.Millisecond)
		}
		if s1 := k.spend(key); s1 <= s0 {
			t.Errorf("the key's spend did not grow: %v → %v", s0, s1)
		}
	})

	t.Run("errors as LiteLLM answers them", func(t *testing.T) {
		before := fake.Count("/")
		_, err := client.Messages.New(ctx, params("no-such-model", "x"))
		var apiErr *anthropic.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 ||
			!strings.Contains(apiErr.RawJSON(), "anthropic_messages: Invalid model name passed in model=no-such-model") {
			t.Errorf("an unknown model: %v", err)
		}
		code, h, b := do(t, "POST", g.URL+"/v1/messages", key, `{"model":"claude-x","messages":[{"role":"user","content":"x"}]}`)
		var e struct {
			Error struct{ Message, Type string } `json:"error"`
		}
		if code != 400 || json.Unmarshal(b, &e) != nil || e.Error.Message != "anthropic_messages: Missing required parameter: 'max_tokens'." || e.Error.Type != "invalid_request_error" {
			t.Errorf("no max_tokens: %d %s", code, b)
		}
		noLeak("an error", h, string(b))
		if code, _, b := do(t, "POST", g.URL+"/v1/messages", "sk-wrong", `{"model":"claude-x","max_tokens":8,"messages":[{"role":"user","content":"x"}]}`); code != 401 || !strings.Contains(string(b), `"error"`) {
			t.Errorf("a wrong key: %d %s", code, b)
		}
		if n := fake.Count("/"); n != before {
			t.Errorf("refused requests reached the provider (%d)", n-before)
		}
	})
}
