package translator

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestMapSystemMessages: LiteLLM's map_system_message_pt output for each
// shape (the expected messages are what LiteLLM returns for the same input).
func TestMapSystemMessages(t *testing.T) {
	cases := []struct {
		name, in, want string
		fails          bool
	}{
		{name: "system then user",
			in:   `[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi","name":"bob"}]`,
			want: `[{"role":"user","content":"Be brief. Hi","name":"bob"}]`},
		{name: "two systems then user",
			in:   `[{"role":"system","content":"A"},{"role":"system","content":"B"},{"role":"user","content":"Q"}]`,
			want: `[{"role":"user","content":"A"},{"role":"user","content":"B Q"}]`},
		{name: "system alone",
			in:   `[{"role":"system","content":"S"}]`,
			want: `[{"role":"user","content":"S"}]`},
		{name: "system then assistant",
			in:   `[{"role":"user","content":"Q"},{"role":"system","content":"S"},{"role":"assistant","content":"A"}]`,
			want: `[{"role":"user","content":"Q"},{"role":"assistant","content":"S A"}]`},
		{name: "system then tool is dropped",
			in:   `[{"role":"system","content":"S"},{"role":"tool","tool_call_id":"c","content":"r"}]`,
			want: `[{"role":"tool","tool_call_id":"c","content":"r"}]`},
		{name: "system parts last becomes a user message",
			in:   `[{"role":"user","content":"Q"},{"role":"system","content":[{"type":"text","text":"S"}]}]`,
			want: `[{"role":"user","content":"Q"},{"role":"user","content":[{"type":"text","text":"S"}]}]`},
		{name: "system parts merged fails (LiteLLM: TypeError)",
			in:    `[{"role":"system","content":[{"type":"text","text":"S"}]},{"role":"user","content":"Q"}]`,
			fails: true},
		{name: "user parts merged fails (LiteLLM: TypeError)",
			in:    `[{"role":"system","content":"S"},{"role":"user","content":[{"type":"text","text":"Q"}]}]`,
			fails: true},
		{name: "no system", in: `[{"role":"user","content":"Q"}]`, want: `[{"role":"user","content":"Q"}]`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := []byte(`{"model":"m","messages":` + c.in + `,"temperature":0.5}`)
			out, e := MapSystemMessages(body)
			if c.fails {
				if e == nil || e.Status != 400 {
					t.Fatalf("want a 400, got %v %s", e, out)
				}
				return
			}
			if e != nil {
				t.Fatal(e.Message)
			}
			var got struct {
				Model       string  `json:"model"`
				Messages    any     `json:"messages"`
				Temperature float64 `json:"temperature"`
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatal(err)
			}
			var want any
			_ = json.Unmarshal([]byte(c.want), &want)
			if !reflect.DeepEqual(got.Messages, want) || got.Model != "m" || got.Temperature != 0.5 {
				t.Fatalf("got %s, want messages %s", out, c.want)
			}
		})
	}
}
