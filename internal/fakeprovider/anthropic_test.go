package fakeprovider

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"
)

func newAnthropicClient(s *Server, key string) anthropic.Client {
	return anthropic.NewClient(option.WithBaseURL(s.URL()), option.WithAPIKey(key), option.WithMaxRetries(0))
}

func anthropicParams(text string, withTool bool) anthropic.MessageNewParams {
	p := anthropic.MessageNewParams{
		Model:     "claude-sonnet-4-5",
		MaxTokens: 256,
		System:    []anthropic.TextBlockParam{{Text: "be brief"}},
		Messages:  []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(text))},
	}
	if withTool {
		p.Tools = []anthropic.ToolUnionParam{{OfTool: &anthropic.ToolParam{
			Name:        "get_weather",
			InputSchema: anthropic.ToolInputSchemaParam{Properties: map[string]any{"query": map[string]any{"type": "string"}}},
		}}}
	}
	return p
}

func TestAnthropicMessages(t *testing.T) {
	s := StartT(t, Options{StreamChunks: 3})
	client := newAnthropicClient(s, "sk-ant-test")
	ctx := context.Background()
	tests := []struct {
		name     string
		text     string
		tool     bool
		wantStop anthropic.StopReason
	}{
		{"text", "hello there", false, "end_turn"},
		{"tool", "please call tool", true, "tool_use"},
		{"tools offered, not asked", "hello", true, "end_turn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, err := client.Messages.New(ctx, anthropicParams(tt.text, tt.tool))
			if err != nil {
				t.Fatalf("new: %v", err)
			}
			checkAnthropicMessage(t, msg, tt.text, tt.wantStop)
			if msg.Usage.InputTokens != int64(2+countTokens(tt.text)) {
				t.Errorf("input_tokens = %d", msg.Usage.InputTokens)
			}

			stream := client.Messages.NewStreaming(ctx, anthropicParams(tt.text, tt.tool))
			acc := anthropic.Message{}
			var events []string
			for stream.Next() {
				ev := stream.Current()
				events = append(events, ev.Type)
				if err := acc.Accumulate(ev); err != nil {
					t.Fatalf("accumulate: %v", err)
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatalf("stream: %v", err)
			}
			checkAnthropicMessage(t, &acc, tt.text, tt.wantStop)
			if acc.Usage.OutputTokens != msg.Usage.OutputTokens || acc.Usage.InputTokens != msg.Usage.InputTokens {
				t.Errorf("stream usage %+v != %+v", acc.Usage, msg.Usage)
			}
			// The SDK drops ping events; TestAnthropicStreamFinishAndCut sees
			// the ping on the wire.
			wantSeq := "message_start content_block_start content_block_delta"
			if got := strings.Join(events, " "); !strings.HasPrefix(got, wantSeq) || !strings.HasSuffix(got, "content_block_delta content_block_stop message_delta message_stop") {
				t.Errorf("event sequence = %s", got)
			}
		})
	}
}

func checkAnthropicMessage(t *testing.T, msg *anthropic.Message, text string, wantStop anthropic.StopReason) {
	t.Helper()
	if msg.StopReason != wantStop || !strings.HasPrefix(msg.ID, "msg_") || msg.Role != "assistant" || msg.Model != "claude-sonnet-4-5" {
		t.Errorf("message = %+v", msg)
	}
	if len(msg.Content) != 1 {
		t.Fatalf("content = %+v", msg.Content)
	}
	b := msg.Content[0]
	switch wantStop {
	case "tool_use":
		var input map[string]string
		if err := json.Unmarshal(b.Input, &input); err != nil || b.Type != "tool_use" || b.Name != "get_weather" || input["query"] != "fake" || !strings.HasPrefix(b.ID, "toolu_") {
			t.Errorf("tool_use block = %+v (input %s, err %v)", b, b.Input, err)
		}
	default:
		if b.Type != "text" || b.Text != "fake response to: "+text {
			t.Errorf("text block = %+v", b)
		}
	}
}

func TestAnthropicErrors(t *testing.T) {
	s := StartT(t, Options{APIKeys: []string{"sk-ant-good"}})
	const body = `{"model":"claude","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`
	tests := []struct {
		name       string
		body       string
		headers    map[string]string
		wantStatus int
		wantType   string
	}{
		{"no version", body, map[string]string{"x-api-key": "sk-ant-good"}, 400, "invalid_request_error"},
		{"no key", body, map[string]string{"anthropic-version": "2023-06-01"}, 401, "authentication_error"},
		{"bad key", body, map[string]string{"anthropic-version": "2023-06-01", "x-api-key": "bad"}, 401, "authentication_error"},
		{"no max_tokens", `{"model":"claude","messages":[{"role":"user","content":"hi"}]}`, map[string]string{"anthropic-version": "2023-06-01", "x-api-key": "sk-ant-good"}, 400, "invalid_request_error"},
		{"overloaded", body, map[string]string{"anthropic-version": "2023-06-01", "x-api-key": "sk-ant-good", "x-fake-status": "529"}, 529, "overloaded_error"},
		{"rate limited", body, map[string]string{"anthropic-version": "2023-06-01", "x-api-key": "sk-ant-good", "x-fake-status": "429"}, 429, "rate_limit_error"},
		{"prompt too long", body, map[string]string{"anthropic-version": "2023-06-01", "x-api-key": "sk-ant-good", "x-fake-error-message": "prompt is too long: 250000 tokens > 200000 maximum"}, 400, "invalid_request_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := post(t, s.URL()+"/v1/messages", tt.body, tt.headers)
			defer resp.Body.Close()
			var e struct {
				Type  string `json:"type"`
				Error struct {
					Type    string `json:"type"`
					Message string `json:"message"`
				} `json:"error"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus || e.Type != "error" || e.Error.Type != tt.wantType || e.Error.Message == "" {
				t.Errorf("status %d body %+v, want %d %s", resp.StatusCode, e, tt.wantStatus, tt.wantType)
			}
			if msg := tt.headers["x-fake-error-message"]; msg != "" && e.Error.Message != msg {
				t.Errorf("message = %q, want %q", e.Error.Message, msg)
			}
		})
	}
	// The SDK sees the same error as its typed error.
	bad := newAnthropicClient(s, "bad")
	_, err := bad.Messages.New(context.Background(), anthropicParams("x", false))
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || apiErr.Type() != "authentication_error" {
		t.Errorf("sdk error = %v", err)
	}
}

func TestAnthropicStreamFinishAndCut(t *testing.T) {
	s := StartT(t, Options{StreamChunks: 4})
	headers := map[string]string{"anthropic-version": "2023-06-01", "x-api-key": "k"}
	const body = `{"model":"claude","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"hi"}]}`

	h := map[string]string{"x-fake-finish-reason": "length"}
	for k, v := range headers {
		h[k] = v
	}
	resp := post(t, s.URL()+"/v1/messages", body, h)
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(raw), `"stop_reason":"max_tokens"`) {
		t.Errorf("finish override not in stream:\n%s", raw)
	}

	h = map[string]string{"x-fake-cut-after": "4"}
	for k, v := range headers {
		h[k] = v
	}
	resp = post(t, s.URL()+"/v1/messages", body, h)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	var events []string
	for sc.Scan() {
		if ev, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
			events = append(events, ev)
		}
	}
	if sc.Err() == nil || strings.Join(events, ",") != "message_start,content_block_start,ping,content_block_delta" {
		t.Errorf("events %v err %v, want 4 events then an error", events, sc.Err())
	}
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status = %d", resp.StatusCode)
	}
}
