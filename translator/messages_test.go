package translator

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestMessagesToChat(t *testing.T) {
	in := `{"model":"m","max_tokens":64,"system":[{"type":"text","text":"be brief"}],"stop_sequences":["END"],
"metadata":{"user_id":"u1"},"temperature":0.5,"top_k":3,
"tools":[{"name":"get","description":"d","input_schema":{"type":"object"}},{"type":"web_search_20250305","name":"web_search"}],
"tool_choice":{"type":"tool","name":"get","disable_parallel_tool_use":true},
"messages":[
 {"role":"user","content":"hi"},
 {"role":"assistant","content":[{"type":"text","text":"calling"},{"type":"tool_use","id":"tu1","name":"get","input":{"q":1}}]},
 {"role":"user","content":[{"type":"tool_result","tool_use_id":"tu1","content":[{"type":"text","text":"42"}]},
   {"type":"text","text":"and this"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAA"}}]}]}`
	out, e := MessagesToChat([]byte(in))
	if e != nil {
		t.Fatal(e)
	}
	var c struct {
		Model       string   `json:"model"`
		MaxTokens   int      `json:"max_tokens"`
		Stop        []string `json:"stop"`
		User        string   `json:"user"`
		TopK        any      `json:"top_k"`
		Temperature float64  `json:"temperature"`
		Messages    []struct {
			Role       string          `json:"role"`
			Content    json.RawMessage `json:"content"`
			ToolCalls  []ToolCall      `json:"tool_calls"`
			ToolCallID string          `json:"tool_call_id"`
		} `json:"messages"`
		Tools             []Tool          `json:"tools"`
		ToolChoice        json.RawMessage `json:"tool_choice"`
		ParallelToolCalls *bool           `json:"parallel_tool_calls"`
	}
	if err := json.Unmarshal(out, &c); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if c.Model != "m" || c.MaxTokens != 64 || len(c.Stop) != 1 || c.User != "u1" || c.TopK != nil || c.Temperature != 0.5 {
		t.Errorf("params: %s", out)
	}
	roles := []string{}
	for _, m := range c.Messages {
		roles = append(roles, m.Role)
	}
	if strings.Join(roles, ",") != "system,user,assistant,tool,user" {
		t.Fatalf("roles %v: %s", roles, out)
	}
	if a := c.Messages[2]; string(a.Content) != `"calling"` || len(a.ToolCalls) != 1 || a.ToolCalls[0].ID != "tu1" || a.ToolCalls[0].Function.Arguments != `{"q":1}` {
		t.Errorf("assistant: %+v", a)
	}
	if tm := c.Messages[3]; tm.ToolCallID != "tu1" || string(tm.Content) != `"42"` {
		t.Errorf("tool message: %+v", tm)
	}
	if u := string(c.Messages[4].Content); !strings.Contains(u, `"image_url":{"url":"data:image/png;base64,AAA"}`) || !strings.Contains(u, "and this") {
		t.Errorf("user parts: %s", u)
	}
	if len(c.Tools) != 1 || c.Tools[0].Function.Name != "get" || string(c.Tools[0].Function.Parameters) != `{"type":"object"}` {
		t.Errorf("tools: %+v", c.Tools)
	}
	if string(c.ToolChoice) != `{"function":{"name":"get"},"type":"function"}` || c.ParallelToolCalls == nil || *c.ParallelToolCalls {
		t.Errorf("tool_choice %s parallel %v", c.ToolChoice, c.ParallelToolCalls)
	}
	if _, e := MessagesToChat([]byte(`{"model":"m","messages":[{"role":"system","content":"x"}]}`)); e == nil || e.Status != 400 {
		t.Errorf("a system role in messages: %v", e)
	}
}

func TestMessagesThinking(t *testing.T) {
	for body, want := range map[string]string{
		`{"type":"enabled","budget_tokens":1024}`:  "minimal",
		`{"type":"enabled","budget_tokens":2000}`:  "low",
		`{"type":"enabled","budget_tokens":5000}`:  "medium",
		`{"type":"enabled","budget_tokens":16000}`: "high",
		`{"type":"adaptive"}`:                      "medium",
		`{"type":"disabled"}`:                      "none",
	} {
		out, e := MessagesToChat([]byte(`{"model":"m","max_tokens":5,"thinking":` + body + `,"messages":[{"role":"user","content":"x"}]}`))
		var c struct {
			ReasoningEffort string `json:"reasoning_effort"`
			Thinking        any    `json:"thinking"`
		}
		if e != nil || json.Unmarshal(out, &c) != nil || c.ReasoningEffort != want || c.Thinking != nil {
			t.Errorf("thinking %s: %s, want reasoning_effort %s", body, out, want)
		}
	}
	out, _ := MessagesToChat([]byte(`{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x"}]}`))
	if strings.Contains(string(out), "reasoning_effort") {
		t.Errorf("no thinking, yet: %s", out)
	}
}

func TestMessagesRequired(t *testing.T) {
	if e := MessagesRequired([]byte(`{"model":"m","messages":[]}`)); e == nil || e.Message != "anthropic_messages: Missing required parameter: 'max_tokens'." {
		t.Errorf("no max_tokens: %v", e)
	}
	if e := MessagesRequired([]byte(`{"model":"m","max_tokens":1}`)); e == nil || e.Param != "messages" {
		t.Errorf("no messages: %v", e)
	}
	if e := MessagesRequired([]byte(`{"model":"m","max_tokens":1,"messages":[]}`)); e != nil {
		t.Errorf("complete: %v", e)
	}
}

func TestChatToMessage(t *testing.T) {
	in := `{"id":"chatcmpl-1","model":"gpt-4o","choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","content":"ok",
"tool_calls":[{"id":"c1","type":"function","function":{"name":"get","arguments":"{\"q\":1}"}},{"id":"c2","type":"function","function":{"name":"bad","arguments":"nope"}}]}}],
"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15,"prompt_tokens_details":{"cached_tokens":4}}}`
	out, e := ChatToMessage([]byte(in), "group")
	if e != nil {
		t.Fatal(e)
	}
	want := `{"id":"chatcmpl-1","type":"message","role":"assistant","model":"group","content":[{"text":"ok","type":"text"},` +
		`{"id":"c1","input":{"q":1},"name":"get","type":"tool_use"},{"id":"c2","input":{},"name":"bad","type":"tool_use"}],` +
		`"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":6,"output_tokens":5,"cache_read_input_tokens":4}}`
	if string(out) != want {
		t.Errorf("got  %s\nwant %s", out, want)
	}
	for f, want := range map[string]string{"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "content_filter": "end_turn"} {
		if got := msgsFinish(f); got != want {
			t.Errorf("%s → %s, want %s", f, got, want)
		}
	}
}

// feedBytewise feeds s one byte at a time: events split anywhere.
func feedBytewise(t *testing.T, s Stream, in string) string {
	t.Helper()
	var out []byte
	for i := 0; i < len(in); i++ {
		b, err := s.Feed([]byte{in[i]}, i == len(in)-1)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b...)
	}
	return string(out)
}

func eventTypes(out string) []string {
	var types []string
	var p SSEParser
	for _, ev := range p.Feed([]byte(out), true) {
		var e struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal(ev.Data, &e)
		if ev.Event != e.Type {
			types = append(types, "MISMATCH:"+ev.Event+"/"+e.Type)
			continue
		}
		types = append(types, e.Type)
	}
	return types
}

func TestMessagesStreamFromChat(t *testing.T) {
	in := `data: {"id":"c","model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}

data: {"id":"c","model":"gpt-4o","choices":[{"index":0,"delta":{"content":"Hel"},"finish_reason":null}]}

data: {"id":"c","model":"gpt-4o","choices":[{"index":0,"delta":{"content":"lo"},"finish_reason":null}]}

data: {"id":"c","model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"t1","type":"function","function":{"name":"get","arguments":""}}]},"finish_reason":null}]}

data: {"id":"c","model":"gpt-4o","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"q\":1}"}}]},"finish_reason":null}]}

data: {"id":"c","model":"gpt-4o","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}

data: {"id":"c","model":"gpt-4o","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}

data: [DONE]

`
	s := ForMessages("openai").NewStream(Messages, Target{Provider: "openai", Model: "gpt-4o", Stream: true})
	s = ModelStream(s, "group")
	out := feedBytewise(t, s, in)
	got := strings.Join(eventTypes(out), ",")
	want := "message_start,content_block_start,content_block_delta,content_block_delta,content_block_stop," +
		"content_block_start,content_block_delta,content_block_stop,message_delta,message_stop"
	if got != want {
		t.Fatalf("events %s\nwant   %s\n%s", got, want, out)
	}
	for _, frag := range []string{`"model":"group"`, `"text":"Hel"`, `"partial_json":"{\"q\":1}"`, `"stop_reason":"tool_use"`,
		`"usage":{"input_tokens":7,"output_tokens":3}`, `"index":1`, `"name":"get"`} {
		if !strings.Contains(out, frag) {
			t.Errorf("missing %s in\n%s", frag, out)
		}
	}
	if u := s.Usage(); u.PromptTokens != 7 || u.CompletionTokens != 3 {
		t.Errorf("usage %+v", u)
	}
}

func TestMessagesStreamError(t *testing.T) {
	in := "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"},\"finish_reason\":null}]}\n\n" +
		"data: {\"error\":{\"message\":\"Rate limit reached\",\"type\":\"rate_limit_error\",\"code\":\"429\"}}\n\n"
	s := ForMessages("openai").NewStream(Messages, Target{Provider: "openai", Stream: true})
	out := feedBytewise(t, s, in)
	types := eventTypes(out)
	if types[len(types)-1] != "error" || !strings.Contains(out, "Rate limit reached") {
		t.Errorf("an in-stream error: %s", out)
	}
	if se, ok := s.(StreamErr); !ok || se.Err() == nil {
		t.Errorf("the stream's error is not reported")
	}
}

func TestMessagesNative(t *testing.T) {
	up, err := ForMessages("anthropic").Request(Messages, []byte(`{"model":"alias","max_tokens":5,"metadata":{"user_id":"u"},"fallbacks":["x"],"top_k":2,"messages":[{"role":"user","content":"hi"}]}`),
		Target{Provider: "anthropic", Model: "claude-3-haiku", APIBase: "https://api.anthropic.com"})
	if err != nil {
		t.Fatal(err)
	}
	if up.Path != "/v1/messages" || up.Headers["anthropic-version"] == "" || string(up.Body) != `{"model":"claude-3-haiku","max_tokens":5,"metadata":{"user_id":"u"},"top_k":2,"messages":[{"role":"user","content":"hi"}]}` {
		t.Errorf("native request: %s %v %s", up.Path, up.Headers, up.Body)
	}
	r, err := ForMessages("anthropic").Response(Messages, []byte(`{"id":"msg_1","type":"message","role":"assistant","model":"claude-3-haiku","content":[{"type":"text","text":"hi"}],"stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":2,"cache_read_input_tokens":1}}`),
		Target{ResponseModel: "alias"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(r.Body), `"model":"alias"`) || r.Usage.PromptTokens != 4 || r.Usage.CompletionTokens != 2 || r.FinishReason != "stop" {
		t.Errorf("native answer: %s %+v", r.Body, r)
	}

	in := "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":\"claude-3-haiku\",\"usage\":{\"input_tokens\":9,\"output_tokens\":1}}}\n\n" +
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" +
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}\n\n" +
		"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n" +
		"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"max_tokens\"},\"usage\":{\"output_tokens\":4}}\n\n" +
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
	s := ModelStream(ForMessages("anthropic").NewStream(Messages, Target{}), "alias")
	out := feedBytewise(t, s, in)
	if strings.Replace(out, `"model":"alias"`, `"model":"claude-3-haiku"`, 1) != in {
		t.Errorf("the native stream changed beyond its model:\n%s", out)
	}
	if u := s.Usage(); u.PromptTokens != 9 || u.CompletionTokens != 4 || s.FinishReason() != "length" {
		t.Errorf("native stream usage %+v finish %q", u, s.FinishReason())
	}
	cut := ForMessages("anthropic").NewStream(Messages, Target{})
	out = feedBytewise(t, cut, in[:strings.Index(in, "event: message_delta")])
	if se := cut.(StreamErr); se.Err() == nil || !strings.HasSuffix(out, "\n\n") || !strings.Contains(out, "event: error") {
		t.Errorf("a native stream cut short: %s", out)
	}
}
