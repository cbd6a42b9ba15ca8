package translator

import (
	"encoding/json"
	"testing"

	"github.com/llmgate/llmgate/internal/msgparams"
)

// roles lists a body's messages as role:content (content as JSON text).
func messagesOf(t *testing.T, body []byte) []map[string]any {
	t.Helper()
	var req struct {
		Messages []map[string]any `json:"messages"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	return req.Messages
}

func summary(msgs []map[string]any) string {
	s := ""
	for i, m := range msgs {
		if i > 0 {
			s += " "
		}
		c, _ := json.Marshal(m["content"])
		s += m["role"].(string) + ":" + string(c)
	}
	return s
}

func TestRewriteMessagesAlternation(t *testing.T) {
	alt := &msgparams.Params{EnsureAlternatingRoles: true}
	cases := []struct {
		name, in, want string
		p              *msgparams.Params
	}{
		{"two users", `[{"role":"user","content":"A"},{"role":"user","content":"B"}]`,
			`user:"A" assistant:"Please continue." user:"B"`, alt},
		{"assistant alone", `[{"role":"assistant","content":"X"}]`,
			`user:"Please continue." assistant:"X" user:"Please continue."`, alt},
		{"system then assistant", `[{"role":"system","content":"S"},{"role":"assistant","content":"X"}]`,
			`system:"S" assistant:"X" user:"Please continue."`, alt},
		{"tool turns skipped",
			`[{"role":"system","content":"S"},{"role":"user","content":"U"},{"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c","content":"r"},{"role":"assistant","content":"A1"},{"role":"assistant","content":"A2"}]`,
			`system:"S" user:"U" assistant:null tool:"r" assistant:"A1" user:"Please continue." assistant:"A2" user:"Please continue."`, alt},
		{"user, tool call, user", `[{"role":"user","content":"U1"},{"role":"assistant","tool_calls":[{"id":"c"}]},{"role":"tool","content":"r"},{"role":"user","content":"U2"}]`,
			`user:"U1" assistant:null tool:"r" assistant:"Please continue." user:"U2"`, alt},
		{"custom messages", `[{"role":"user","content":"A"},{"role":"user","content":"B"},{"role":"assistant","content":"C"}]`,
			`user:"A" assistant:"go on" user:"B" assistant:"C" user:"more"`,
			&msgparams.Params{EnsureAlternatingRoles: true, UserContinue: json.RawMessage(`{"role":"user","content":"more"}`), AssistantContinue: json.RawMessage(`{"role":"assistant","content":"go on"}`)}},
		{"continue messages without ensure_alternating_roles", `[{"role":"user","content":"A"},{"role":"user","content":"B"}]`,
			`user:"A" user:"B"`, &msgparams.Params{UserContinue: json.RawMessage(`{"role":"user","content":"more"}`)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, e := RewriteMessages([]byte(`{"model":"m","messages":`+c.in+`}`), c.p, false)
			if e != nil {
				t.Fatal(e)
			}
			if got := summary(messagesOf(t, out)); got != c.want {
				t.Fatalf("got  %s\nwant %s", got, c.want)
			}
		})
	}
	body := []byte(`{"model":"m","messages":[{"role":"user","content":"A"},{"role":"assistant","content":"B"},{"role":"user","content":"C"}]}`)
	if out, _ := RewriteMessages(body, alt, false); string(out) != string(body) {
		t.Fatalf("an alternating body was rewritten: %s", out)
	}
}

func TestRewriteMessagesCacheControl(t *testing.T) {
	idx := func(i int) *int { return &i }
	in := `{"model":"m","messages":[{"role":"system","content":"S"},{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},{"role":"assistant","content":"x"},{"role":"user","content":"q"}]}`
	points := &msgparams.Params{CacheControl: []msgparams.CacheControlPoint{
		{Role: "system"},
		{Index: idx(-1), Control: json.RawMessage(`{"type":"ephemeral","ttl":"1h"}`)},
		{Index: idx(1)},
		{Index: idx(9)}, // out of range: nothing
	}}
	// Not an Anthropic deployment: the points do not apply.
	if out, _ := RewriteMessages([]byte(in), points, false); string(out) != in {
		t.Fatalf("cache_control marks put without cacheControl: %s", out)
	}
	out, e := RewriteMessages([]byte(in), points, true)
	if e != nil {
		t.Fatal(e)
	}
	msgs := messagesOf(t, out)
	want := []string{`{"type":"ephemeral"}`, ``, `null`, `{"ttl":"1h","type":"ephemeral"}`}
	for i, w := range want {
		got, _ := json.Marshal(msgs[i]["cache_control"])
		if w == "" {
			got = []byte("")
		}
		if string(got) != w {
			t.Errorf("message %d cache_control %s, want %s", i, got, w)
		}
	}
	parts := msgs[1]["content"].([]any)
	if _, ok := parts[0].(map[string]any)["cache_control"]; ok {
		t.Errorf("first part marked: %v", parts)
	}
	if cc, _ := json.Marshal(parts[1].(map[string]any)["cache_control"]); string(cc) != `{"type":"ephemeral"}` {
		t.Errorf("last part cache_control %s", cc)
	}

	// A marked message is left as the client marked it, and the client's
	// marks count toward the 4.
	in = `{"messages":[{"role":"user","content":"1","cache_control":{"type":"ephemeral","ttl":"5m"}},{"role":"user","content":"2"},{"role":"user","content":"3","cache_control":{"type":"ephemeral"}},{"role":"user","content":"4"},{"role":"user","content":"5"},{"role":"user","content":"6"}]}`
	out, _ = RewriteMessages([]byte(in), &msgparams.Params{CacheControl: []msgparams.CacheControlPoint{{Role: "user", Control: json.RawMessage(`{"type":"ephemeral","ttl":"1h"}`)}}}, true)
	marks := ""
	for _, m := range messagesOf(t, out) {
		cc, _ := json.Marshal(m["cache_control"])
		marks += string(cc) + " "
	}
	if want := `{"ttl":"5m","type":"ephemeral"} {"ttl":"1h","type":"ephemeral"} {"type":"ephemeral"} {"ttl":"1h","type":"ephemeral"} null null `; marks != want {
		t.Fatalf("marks\n%s\nwant\n%s", marks, want)
	}
}

func TestAnthropicCacheControl(t *testing.T) {
	body := `{"model":"claude","messages":[{"role":"system","content":"S","cache_control":{"type":"ephemeral"}},{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b","cache_control":{"type":"ephemeral","ttl":"1h"}}]},{"role":"assistant","content":"x","cache_control":{"type":"ephemeral"}},{"role":"user","content":"q"}]}`
	up, err := anthropicTranslator{}.Request(Chat, []byte(body), Target{Model: "claude"})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		System   []map[string]any `json:"system"`
		Messages []struct {
			Content []map[string]any `json:"content"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(up.Body, &got); err != nil {
		t.Fatal(err)
	}
	cc := func(b map[string]any) string { s, _ := json.Marshal(b["cache_control"]); return string(s) }
	if cc(got.System[0]) != `{"type":"ephemeral"}` {
		t.Errorf("system block %v", got.System[0])
	}
	if cc(got.Messages[0].Content[0]) != "null" || cc(got.Messages[0].Content[1]) != `{"ttl":"1h","type":"ephemeral"}` {
		t.Errorf("user blocks %v", got.Messages[0].Content)
	}
	if cc(got.Messages[1].Content[0]) != `{"type":"ephemeral"}` || cc(got.Messages[2].Content[0]) != "null" {
		t.Errorf("assistant/user blocks %v", got.Messages[1:])
	}
}
