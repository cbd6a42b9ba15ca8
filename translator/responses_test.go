package translator

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestResponseID(t *testing.T) {
	id := EncodeResponseID("openai", "dep-1", "resp_abc")
	// LiteLLM's own encoding of the same three values.
	if id != "resp_bGl0ZWxsbTpjdXN0b21fbGxtX3Byb3ZpZGVyOm9wZW5haTttb2RlbF9pZDpkZXAtMTtyZXNwb25zZV9pZDpyZXNwX2FiYw==" {
		t.Errorf("encoded %q", id)
	}
	if p, d, o := DecodeResponseID(id); p != "openai" || d != "dep-1" || o != "resp_abc" {
		t.Errorf("decoded %q %q %q", p, d, o)
	}
	if p, d, o := DecodeResponseID(strings.TrimRight(id, "=")); d != "dep-1" || o != "resp_abc" || p != "openai" {
		t.Errorf("without padding: %q %q %q", p, d, o)
	}
	if EncodeResponseID("azure", "x", id) != id {
		t.Errorf("an encoded id is encoded again")
	}
	for _, raw := range []string{"resp_abc", "chatcmpl-1", "resp_!!!", ""} {
		if _, d, o := DecodeResponseID(raw); d != "" || o != raw {
			t.Errorf("%q decoded as deployment %q id %q", raw, d, o)
		}
	}
}

func TestResponsesPathID(t *testing.T) {
	for p, want := range map[string][3]string{
		"/responses/resp_x":             {"resp_x", ""},
		"/responses/resp_x/input_items": {"resp_x", "input_items"},
		"/responses/resp_x/cancel":      {"resp_x", "cancel"},
		"/responses/resp_a%2Fb%3D":      {"resp_a/b=", ""},
		"/responses/resp_a/b=/cancel":   {"resp_a/b=", "cancel"},
		"/responses/":                   {"", "", "no"},
		"/responses/x/y":                {"", "", "no"},
		"/responses":                    {"", "", "no"},
	} {
		id, action, ok := ResponsesPathID(p)
		if ok != (want[2] == "") || id != want[0] || action != want[1] {
			t.Errorf("%s: %q %q %v", p, id, action, ok)
		}
	}
}

func TestResponsesByID(t *testing.T) {
	id := EncodeResponseID("openai", "d", "resp_1")
	up, e := ResponsesByID("GET", "/v1/responses/"+id+"/input_items?limit=5", Target{Provider: "openai", APIBase: "http://h/base/v1"})
	if e != nil || up.Method != "GET" || up.Path != "/base/v1/responses/resp_1/input_items?limit=5" {
		t.Errorf("openai: %+v %v", up, e)
	}
	up, e = ResponsesByID("DELETE", "/responses/"+id, Target{Provider: "azure", APIBase: "http://h/openai", APIVersion: "v9"})
	if e != nil || up.Method != "DELETE" || up.Path != "/openai/responses/resp_1?api-version=v9" {
		t.Errorf("azure: %+v %v", up, e)
	}
	if _, e := ResponsesByID("GET", "/v1/responses/"+id, Target{Provider: "anthropic"}); e == nil || e.Status != 400 {
		t.Errorf("a bridged provider: %v", e)
	}
}

func TestResponsesToChat(t *testing.T) {
	in := `{"model":"m","instructions":"be brief","max_output_tokens":64,"temperature":0.5,"user":"u1","stream":true,
"reasoning":{"effort":"low"},"text":{"format":{"type":"json_schema","name":"s","schema":{"type":"object"},"strict":true}},
"tools":[{"type":"function","name":"get","description":"d","parameters":{"type":"object"}},{"type":"web_search"}],
"tool_choice":{"type":"function","name":"get"},"previous_response_id":"resp_x","store":true,
"input":[
 {"role":"developer","content":"rules"},
 {"type":"message","role":"user","content":[{"type":"input_text","text":"hi"},{"type":"input_image","image_url":"data:image/png;base64,AAA"}]},
 {"type":"function_call","call_id":"c1","name":"get","arguments":"{\"q\":1}"},
 {"type":"function_call","call_id":"c2","name":"get","arguments":"{}"},
 {"type":"function_call_output","call_id":"c1","output":"42"},
 {"type":"reasoning","summary":[]},
 {"role":"assistant","content":[{"type":"output_text","text":"so"}]}]}`
	out, e := ResponsesToChat([]byte(in))
	if e != nil {
		t.Fatal(e)
	}
	var c struct {
		Model          string `json:"model"`
		MaxTokens      int    `json:"max_tokens"`
		User           string `json:"user"`
		Stream         bool   `json:"stream"`
		StreamOptions  *StreamOptions
		Effort         string          `json:"reasoning_effort"`
		ResponseFormat *ResponseFormat `json:"response_format"`
		Tools          []Tool          `json:"tools"`
		ToolChoice     json.RawMessage `json:"tool_choice"`
		Messages       []struct {
			Role       string          `json:"role"`
			Content    json.RawMessage `json:"content"`
			ToolCalls  []ToolCall      `json:"tool_calls"`
			ToolCallID string          `json:"tool_call_id"`
		} `json:"messages"`
		Extra map[string]any
	}
	if err := json.Unmarshal(out, &c); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if c.Model != "m" || c.MaxTokens != 64 || c.User != "u1" || !c.Stream || c.Effort != "low" ||
		c.ResponseFormat == nil || c.ResponseFormat.JSONSchema == nil || c.ResponseFormat.JSONSchema.Name != "s" {
		t.Errorf("params: %s", out)
	}
	if !strings.Contains(string(out), `"stream_options":{"include_usage":true}`) || strings.Contains(string(out), "previous_response_id") || strings.Contains(string(out), "store") {
		t.Errorf("stream options or Responses-only fields: %s", out)
	}
	if len(c.Tools) != 1 || c.Tools[0].Function.Name != "get" || string(c.ToolChoice) != `{"function":{"name":"get"},"type":"function"}` {
		t.Errorf("tools: %s", out)
	}
	roles := []string{}
	for _, m := range c.Messages {
		roles = append(roles, m.Role)
	}
	if strings.Join(roles, ",") != "system,system,user,assistant,tool,assistant" {
		t.Fatalf("roles %v: %s", roles, out)
	}
	if u := string(c.Messages[2].Content); !strings.Contains(u, `"image_url":{"url":"data:image/png;base64,AAA"}`) || !strings.Contains(u, `"text":"hi"`) {
		t.Errorf("user parts: %s", u)
	}
	if a := c.Messages[3]; len(a.ToolCalls) != 2 || a.ToolCalls[0].ID != "c1" || a.ToolCalls[1].ID != "c2" {
		t.Errorf("function calls: %+v", a)
	}
	if tm := c.Messages[4]; tm.ToolCallID != "c1" || string(tm.Content) != `"42"` {
		t.Errorf("tool message: %+v", tm)
	}
	if a := c.Messages[5]; string(a.Content) != `"so"` {
		t.Errorf("assistant text: %s", a.Content)
	}
	if out, _ := ResponsesToChat([]byte(`{"model":"m","input":"just text"}`)); !strings.Contains(string(out), `"messages":[{"role":"user","content":"just text"}]`) {
		t.Errorf("a string input: %s", out)
	}
}

func TestChatToResponse(t *testing.T) {
	chat := `{"id":"chatcmpl-1","model":"prov","choices":[{"message":{"role":"assistant","content":"hello","reasoning_content":"hm",
"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get","arguments":"{\"q\":1}"}}]},"finish_reason":"length"}],
"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15,"prompt_tokens_details":{"cached_tokens":4}}}`
	out, e := ChatToResponse([]byte(chat), Target{Provider: "anthropic", DeploymentID: "dep", ResponseModel: "group", Created: 7})
	if e != nil {
		t.Fatal(e)
	}
	var r struct {
		ID                string                  `json:"id"`
		Object            string                  `json:"object"`
		CreatedAt         int64                   `json:"created_at"`
		Status            string                  `json:"status"`
		Model             string                  `json:"model"`
		IncompleteDetails struct{ Reason string } `json:"incomplete_details"`
		Output            []map[string]any        `json:"output"`
		Usage             responsesUsage          `json:"usage"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatal(err)
	}
	if _, d, o := DecodeResponseID(r.ID); d != "dep" || o != "chatcmpl-1" {
		t.Errorf("id %q", r.ID)
	}
	if r.Object != "response" || r.CreatedAt != 7 || r.Status != "incomplete" || r.IncompleteDetails.Reason != "max_output_tokens" || r.Model != "group" {
		t.Errorf("response: %s", out)
	}
	types := []string{}
	for _, it := range r.Output {
		types = append(types, it["type"].(string))
	}
	if strings.Join(types, ",") != "reasoning,message,function_call" || r.Output[2]["call_id"] != "call_1" || r.Output[2]["arguments"] != `{"q":1}` {
		t.Errorf("output: %s", out)
	}
	if r.Usage.InputTokens != 10 || r.Usage.OutputTokens != 5 || r.Usage.TotalTokens != 15 || r.Usage.InputTokensDetails.CachedTokens != 4 {
		t.Errorf("usage: %+v", r.Usage)
	}
}

// responsesEvents is the event types of a Responses stream, in order.
func responsesEvents(t *testing.T, out []byte) ([]string, []map[string]any) {
	t.Helper()
	var p SSEParser
	var types []string
	var evs []map[string]any
	for _, ev := range p.Feed(out, true) {
		var m map[string]any
		if err := json.Unmarshal(ev.Data, &m); err != nil {
			t.Fatalf("%v: %s", err, ev.Data)
		}
		if ev.Event != m["type"] {
			t.Errorf("event %q carries type %v", ev.Event, m["type"])
		}
		types = append(types, ev.Event)
		evs = append(evs, m)
	}
	return types, evs
}

func TestResponsesStreamFromChat(t *testing.T) {
	chunks := []string{
		`{"id":"c1","model":"p","choices":[{"delta":{"role":"assistant","content":"Hel"}}]}`,
		`{"id":"c1","model":"p","choices":[{"delta":{"content":"lo"}}]}`,
		`{"id":"c1","model":"p","choices":[{"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get","arguments":"{\"q\""}}]}}]}`,
		`{"id":"c1","model":"p","choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":":1}"}}]}}]}`,
		`{"id":"c1","model":"p","choices":[{"delta":{},"finish_reason":"tool_calls"}]}`,
		`{"id":"c1","model":"p","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}`,
	}
	var in []byte
	for _, c := range chunks {
		in = WriteSSE(in, "", []byte(c))
	}
	in = WriteSSE(in, "", []byte("[DONE]"))
	st := ForResponses("groq").NewStream(Responses, Target{Provider: "groq", DeploymentID: "d", Stream: true})
	st = ModelStream(st, "group")
	var out []byte
	for i := range in { // a byte at a time
		b, err := st.Feed(in[i:i+1], i == len(in)-1)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b...)
	}
	types, evs := responsesEvents(t, out)
	want := "response.created,response.in_progress,response.output_item.added,response.content_part.added,response.output_text.delta,response.output_text.delta," +
		"response.output_text.done,response.content_part.done,response.output_item.done," +
		"response.output_item.added,response.function_call_arguments.delta,response.function_call_arguments.delta,response.function_call_arguments.done,response.output_item.done,response.completed"
	if got := strings.Join(types, ","); got != want {
		t.Fatalf("events:\n%s\nwant\n%s", got, want)
	}
	for i, ev := range evs {
		if ev["sequence_number"] != float64(i) {
			t.Errorf("event %d has sequence_number %v", i, ev["sequence_number"])
		}
	}
	last := evs[len(evs)-1]["response"].(map[string]any)
	if _, d, o := DecodeResponseID(last["id"].(string)); d != "d" || o != "c1" || last["model"] != "group" || last["status"] != "completed" {
		t.Errorf("completed: %v", last)
	}
	if u := last["usage"].(map[string]any); u["input_tokens"] != float64(3) || u["output_tokens"] != float64(4) {
		t.Errorf("usage: %v", u)
	}
	out2, _ := json.Marshal(last["output"])
	if !strings.Contains(string(out2), `"text":"Hello"`) || !strings.Contains(string(out2), `"arguments":"{\"q\":1}"`) {
		t.Errorf("output: %s", out2)
	}
	if u := st.Usage(); u.PromptTokens != 3 || u.CompletionTokens != 4 {
		t.Errorf("the stream's usage: %+v", u)
	}
}

func TestResponsesStreamError(t *testing.T) {
	in := WriteSSE(nil, "", []byte(`{"id":"c1","choices":[{"delta":{"content":"x"}}]}`))
	in = WriteSSE(in, "", []byte(`{"error":{"message":"overloaded","type":"server_error","code":"529"}}`))
	st := ForResponses("groq").NewStream(Responses, Target{Provider: "groq", Stream: true})
	out, _ := st.Feed(in, true)
	types, evs := responsesEvents(t, out)
	if types[len(types)-1] != "response.failed" || st.(StreamErr).Err() == nil {
		t.Fatalf("events %v", types)
	}
	if r := evs[len(evs)-1]["response"].(map[string]any); r["status"] != "failed" || !strings.Contains(string(must(json.Marshal(r["error"]))), "overloaded") {
		t.Errorf("failed: %v", r)
	}
}

func must(b []byte, _ error) []byte { return b }

func TestResponsesNative(t *testing.T) {
	tr := ForResponses("openai")
	prev := EncodeResponseID("openai", "d", "resp_prev")
	up, err := tr.Request(Responses, []byte(`{"model":"group","input":"hi","previous_response_id":"`+prev+`","litellm_metadata":{"a":1}}`), Target{Provider: "openai", Model: "gpt-4o", APIBase: "https://api.openai.com/v1"})
	if err != nil || up.Path != "/v1/responses" || string(up.Body) != `{"model":"gpt-4o","input":"hi","previous_response_id":"resp_prev"}` {
		t.Fatalf("request: %v %+v %s", err, up, up.Body)
	}
	if up, _ := ForResponses("azure").Request(Responses, []byte(`{"model":"g","input":"hi"}`), Target{Provider: "azure", Model: "dep", APIBase: "https://x.openai.azure.com", APIVersion: "v1x"}); up.Path != "/openai/responses?api-version=v1x" {
		t.Errorf("azure path %s", up.Path)
	}
	r, err := tr.Response(Responses, []byte(`{"id":"resp_1","object":"response","status":"completed","usage":{"input_tokens":5,"output_tokens":2,"total_tokens":7}}`), Target{Provider: "openai", DeploymentID: "d"})
	if err != nil || r.Usage.PromptTokens != 5 || r.Usage.CompletionTokens != 2 {
		t.Fatalf("response: %v %+v", err, r)
	}
	var got struct{ ID string }
	_ = json.Unmarshal(r.Body, &got)
	if _, d, o := DecodeResponseID(got.ID); d != "d" || o != "resp_1" {
		t.Errorf("id %q", got.ID)
	}
	// The stream: ids encoded, the usage read, a stream cut short an error event.
	in := WriteSSE(nil, "response.created", []byte(`{"type":"response.created","response":{"id":"resp_1","model":"gpt-4o","status":"in_progress"}}`))
	in = WriteSSE(in, "response.output_text.delta", []byte(`{"type":"response.output_text.delta","delta":"hi"}`))
	full := WriteSSE(in, "response.completed", []byte(`{"type":"response.completed","response":{"id":"resp_1","model":"gpt-4o","status":"completed","usage":{"input_tokens":5,"output_tokens":2,"total_tokens":7}}}`))
	st := ModelStream(tr.NewStream(Responses, Target{Provider: "openai", DeploymentID: "d"}), "group")
	out, _ := st.Feed(full, true)
	types, evs := responsesEvents(t, out)
	if strings.Join(types, ",") != "response.created,response.output_text.delta,response.completed" || st.Usage().CompletionTokens != 2 || st.(StreamErr).Err() != nil {
		t.Errorf("native stream: %v %+v", types, st.Usage())
	}
	if r := evs[2]["response"].(map[string]any); r["model"] != "group" || !strings.HasPrefix(r["id"].(string), "resp_bGl0ZWxsbT") {
		t.Errorf("completed: %v", r)
	}
	cut := tr.NewStream(Responses, Target{Provider: "openai"})
	out, _ = cut.Feed(in, true)
	if types, _ := responsesEvents(t, out); types[len(types)-1] != "error" || cut.(StreamErr).Err() == nil {
		t.Errorf("a stream cut short: %v", types)
	}
}
