package translator

import (
	"encoding/json"
	"reflect"
	"testing"
)

// decodeBodies are chat bodies for decodeChatRequest's quick way against
// the full one: plain, escapes in keys and values, repeated keys,
// whitespace, non-ASCII, extra fields, nulls, type errors, non-objects.
var decodeBodies = []string{
	`{"model":"m","messages":[{"role":"user","content":"hi"}]}`,
	` { "model" : "m" , "messages" : [ { "role" : "user" , "content" : [ {"type":"text","text":"a\"b\\c"} ] } ] , "temperature" : 0.5 , "top_k" : 3 } `,
	"{\n\t\"model\":\"m\",\r\n\"messages\":[],\"stream\":true,\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":1024},\"metadata\":{\"a\":[1,2,{\"b\":\"}\"}]}}",
	`{"model":"m","model":"n","messages":[{"role":"user","content":"x"}],"user":"u@example.com","stop":["a","b"],"n":1}`,
	`{"mod\u0065l":"m","messages":[{"role":"user","content":"x"}]}`,
	`{"modèl":"m","messages":[{"role":"user","content":"é ü"}],"extra":"ß"}`,
	`{"model":"m","messages":[{"role":"user","content":null}],"tools":null,"tool_choice":"auto","response_format":{"type":"json_object"}}`,
	`{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":"hot"}`,
	`{"model":"m","messages":"not a list"}`,
	`{"model":"m","max_tokens":1e3}`,
	`{"model":"m","max_tokens":12,"logit_bias":{"1":2},"seed":-1,"empty":{},"list":[],"f":false,"t":true,"z":null}`,
	`{}`,
	`[]`,
	`null`,
	`"text"`,
	`{"model":`,
	`{"model":"m"}x`,
	``,
}

// TestDecodeChatRequestQuick (D95): the quick decode (one validation, one
// decode, the top-level fields cut from the body) gives what the full one
// gives — the request, its extra fields, the raw fields, the error — for
// every body above.
func TestDecodeChatRequestQuick(t *testing.T) {
	for _, body := range decodeBodies {
		req, raw, e := decodeChatRequest([]byte(body))
		wreq, wraw, we := decodeChatRequestFull([]byte(body))
		if (e == nil) != (we == nil) || e != nil && (e.Message != we.Message || e.Status != we.Status) {
			t.Errorf("%s: error %v, want %v", body, e, we)
			continue
		}
		if !reflect.DeepEqual(req, wreq) {
			t.Errorf("%s: request\n%+v\nwant\n%+v", body, req, wreq)
		}
		if !reflect.DeepEqual(raw, wraw) {
			t.Errorf("%s: raw fields %q, want %q", body, raw, wraw)
		}
	}
}

// TestTopLevelFields: the fields cut from a valid object are
// json.Unmarshal's, and they do not share the caller's bytes.
func TestTopLevelFields(t *testing.T) {
	for _, body := range decodeBodies {
		b := []byte(body)
		var want map[string]json.RawMessage
		if json.Unmarshal(b, &want) != nil {
			continue // topLevelFields takes valid JSON only
		}
		got, ok := topLevelFields(b)
		if !ok {
			continue // the full way decides
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %q, want %q", body, got, want)
		}
		for i := range b {
			b[i] = 'x'
		}
		for k, v := range got {
			if len(v) > 0 && v[0] == 'x' && want[k][0] != 'x' {
				t.Errorf("%s: field %s shares the body's bytes", body, k)
			}
		}
	}
	if _, ok := topLevelFields([]byte(`{"a":1}`)); !ok {
		t.Error("a plain object not taken the quick way")
	}
}

// TestDecodeChatRequestAllocs (D95): the bench's request decodes in fewer
// allocations than the full way (one validation and decode, not three).
func TestDecodeChatRequestAllocs(t *testing.T) {
	body := benchChatRequest(false)
	quick := testing.AllocsPerRun(200, func() { _, _, _ = decodeChatRequest(body) })
	full := testing.AllocsPerRun(200, func() { _, _, _ = decodeChatRequestFull(body) })
	if quick > full-8 {
		t.Errorf("decodeChatRequest: %.0f allocations, the full way %.0f: want at least 8 fewer", quick, full)
	}
}

func BenchmarkDecodeChatRequest(b *testing.B) {
	body := benchChatRequest(false)
	for _, way := range []struct {
		name string
		f    func([]byte) (*ChatRequest, map[string]json.RawMessage, *Error)
	}{{"quick", decodeChatRequest}, {"full", decodeChatRequestFull}} {
		b.Run(way.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				way.f(body)
			}
		})
	}
}

// TestPlainJSONString (D95): a message's string content read without a
// second decode is json.Unmarshal's string, and every literal that needs
// decoding (escapes, invalid UTF-8, control characters) is left to it.
func TestPlainJSONString(t *testing.T) {
	for _, lit := range []string{`""`, `"hello there"`, `"é ü — 日本"`, `"a\"b"`, `"a\\b"`, `"\u00e9"`, `"tab\tx"`, "\"raw\ttab\"", "\"bad \xff utf8\"", `"x`, `x"`, `"`} {
		got, ok := plainJSONString([]byte(lit))
		var want string
		err := json.Unmarshal([]byte(lit), &want)
		if ok && (err != nil || got != want) {
			t.Errorf("%q: %q, json.Unmarshal %q (%v)", lit, got, want, err)
		}
		var c Content
		cerr := c.UnmarshalJSON([]byte(lit))
		if (cerr == nil) != (err == nil) || err == nil && c.Text != want {
			t.Errorf("%q: Content %q (%v), want %q (%v)", lit, c.Text, cerr, want, err)
		}
	}
	if _, ok := plainJSONString([]byte(`"hello there"`)); !ok {
		t.Error("a plain literal not read the quick way")
	}
}
