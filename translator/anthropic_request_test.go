package translator

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// anthRequests are chat bodies, quick (the quick way must take them) or not
// (it must leave them to the full way).
var anthRequests = []struct {
	name  string
	body  string
	quick bool
}{
	{"bench", `{"model":"claude","messages":[{"role":"system","content":"You are a helpful assistant. Answer briefly."},{"role":"user","content":"Summarise the benefits of running an LLM gateway on Envoy in one paragraph."}],"temperature":0.2,"max_tokens":256}`, true},
	{"bench stream", `{"model":"claude","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Hi"}],"temperature":0.2,"max_tokens":256,"stream":true,"stream_options":{"include_usage":true}}`, true},
	{"escapes", `{"model":"c\u00e9","messages":[{"role":"user","content":"line 1\nline \"2\"\t\u00e9 \/ <b>&amp;</b> \u2028 \u0001 \b\f\r \ud83d\ude00 \ud83d x \udc00 \ud83d\u0041"}]}`, true},
	{"non-ASCII and HTML", "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"héllo — 日本 \u2029 <&> \u007f\"}]}", true},
	{"invalid UTF-8", "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"a\xff\xfeb \xe2\x80\"}]}", true},
	{"merged roles", `{"model":"m","messages":[{"role":"user","content":"a"},{"role":"developer","content":"sys 1"},{"role":"user","content":"b"},{"role":"assistant","content":"c"},{"role":"assistant","content":"d"},{"role":"system","content":""},{"role":"system","content":"sys 2"},{"role":"user","content":"e"}]}`, true},
	// Empty or maybe-blank contents: LiteLLM's placeholder, the full way's (D148).
	{"empty contents", `{"model":"m","messages":[{"role":"user","content":"a"},{"role":"assistant","content":null},{"role":"assistant","content":"d"},{"role":"user","content":""},{"role":"user"}]}`, false},
	{"blank content", `{"model":"m","messages":[{"role":"user","content":" \n\t"}]}`, false},
	{"leading space", `{"model":"m","messages":[{"role":"user","content":" a"}]}`, false},
	{"assistant first", `{"model":"m","messages":[{"content":"x","role":"assistant"}]}`, true},
	{"whitespace", " {\n \"model\" : \"m\" ,\r\n\t\"messages\" : [ { \"role\" : \"user\" , \"content\" : \"x\" } ] , \"max_tokens\" : 10 , \"stream\" : false } \n", true},
	{"max_completion_tokens", `{"messages":[{"role":"user","content":"x"}],"max_completion_tokens":77,"model":"m"}`, true},
	{"both max", `{"model":"m","messages":[{"role":"user","content":"x"}],"max_completion_tokens":77,"max_tokens":5}`, true},
	{"max zero, negative", `{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":0,"max_completion_tokens":-3}`, true},
	{"nulls", `{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":null,"temperature":null,"top_p":null,"stream":null,"stream_options":null}`, true},
	{"floats", `{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":1.0,"top_p":1e-7}`, true},
	{"floats 2", `{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":-0,"top_p":0.30000000000000004}`, true},
	{"floats 3", `{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":12345678901234567890123,"top_p":0.000001}`, true},
	{"stream options empty", `{"model":"m","messages":[{"role":"user","content":"x"}],"stream":true,"stream_options":{}}`, true},
	{"no model", `{"messages":[{"role":"user","content":"x"}]}`, true},
	{"user", `{"model":"m","messages":[{"role":"user","content":"x"}],"user":"u1 <&>","stream":true}`, true},
	{"user email", `{"model":"m","messages":[{"role":"user","content":"x"}],"user":"a.b@example.com"}`, true},
	{"user phone", `{"model":"m","messages":[{"role":"user","content":"x"}],"user":"+1 (555) 123-4567"}`, true},
	{"user empty, null stop", `{"model":"m","messages":[{"role":"user","content":"x"}],"user":"","stop":null}`, true},
	{"stop string", `{"model":"m","messages":[{"role":"user","content":"x"}],"stop":"END","user":null}`, true},
	{"stop array", `{"stop":["a", "  ", "", "<b>"],"model":"m","messages":[{"role":"user","content":"x"}],"stream":true,"user":"u"}`, true},
	{"stop blank", `{"model":"m","messages":[{"role":"user","content":"x"}],"stop":"   "}`, true},
	{"stop empty array", `{"model":"m","messages":[{"role":"user","content":"x"}],"stop":[]}`, true},
	{"stop escaped", `{"model":"m","messages":[{"role":"user","content":"x"}],"stop":"\n"}`, false},
	{"stop non-ASCII", "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stop\":\"\u00a0\"}", false},
	{"stop null element", `{"model":"m","messages":[{"role":"user","content":"x"}],"stop":["a",null]}`, false},
	{"stop number", `{"model":"m","messages":[{"role":"user","content":"x"}],"stop":5}`, false},
	{"stop trailing comma", `{"model":"m","messages":[{"role":"user","content":"x"}],"stop":["a",]}`, false},
	{"user escaped", `{"model":"m","messages":[{"role":"user","content":"x"}],"user":"\u0061"}`, false},
	{"user number", `{"model":"m","messages":[{"role":"user","content":"x"}],"user":1}`, false},
	{"repeated stop", `{"model":"m","messages":[{"role":"user","content":"x"}],"stop":"a","stop":"b"}`, false},
	{"extra field", `{"model":"m","messages":[{"role":"user","content":"x"}],"top_k":5}`, false},
	{"n", `{"model":"m","messages":[{"role":"user","content":"x"}],"n":2}`, false},
	{"repeated key", `{"model":"m","model":"n","messages":[{"role":"user","content":"x"}]}`, false},
	{"repeated message key", `{"model":"m","messages":[{"role":"user","content":"x","content":"y"}]}`, false},
	{"folded key", `{"Model":"m","messages":[{"role":"user","content":"x"}]}`, false},
	{"folded message key", `{"model":"m","messages":[{"Role":"user","content":"x"}]}`, false},
	{"escaped key", `{"\u006dodel":"m","messages":[{"role":"user","content":"x"}]}`, false},
	{"name", `{"model":"m","messages":[{"role":"user","content":"x","name":"bob"}]}`, false},
	{"parts", `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"x"}]}]}`, false},
	{"tool message", `{"model":"m","messages":[{"role":"tool","content":"x","tool_call_id":"t"}]}`, false},
	{"unknown role", `{"model":"m","messages":[{"role":"bot","content":"x"}]}`, false},
	{"escaped role", `{"model":"m","messages":[{"role":"us\u0065r","content":"x"}]}`, false},
	{"only system", `{"model":"m","messages":[{"role":"system","content":"x"}]}`, false},
	{"empty user", `{"model":"m","messages":[{"role":"user","content":""}]}`, false},
	{"no messages", `{"model":"m","messages":[]}`, false},
	{"null messages", `{"model":"m","messages":null}`, false},
	{"absent messages", `{"model":"m"}`, false},
	{"null model", `{"model":null,"messages":[{"role":"user","content":"x"}]}`, false},
	{"fraction max", `{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":1.0}`, false},
	{"exponent max", `{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":1e2}`, false},
	{"huge max", `{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":123456789012345678901234567890}`, false},
	{"huge float", `{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":1e400}`, false},
	{"string temperature", `{"model":"m","messages":[{"role":"user","content":"x"}],"temperature":"0.2"}`, false},
	{"leading zero", `{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":01}`, false},
	{"stream string", `{"model":"m","messages":[{"role":"user","content":"x"}],"stream":"true"}`, false},
	{"stream options other", `{"model":"m","messages":[{"role":"user","content":"x"}],"stream_options":{"x":1}}`, false},
	{"bad escape", `{"model":"m","messages":[{"role":"user","content":"\x"}]}`, false},
	{"control character", "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"a\nb\"}]}", false},
	{"array", `[{"model":"m"}]`, false},
	{"truncated", `{"model":"m","messages":[{"role":"user","content":"x"}]`, false},
	{"empty", ``, false},
	{"trailing garbage", `{"model":"m","messages":[{"role":"user","content":"x"}]} x`, false},
	{"trailing comma", `{"model":"m","messages":[{"role":"user","content":"x"},]}`, false},
}

// anthRequestTargets are the targets the quick and full ways are compared
// on: the deployment's model or the client's, a stream, max_tokens
// defaults, drop_params, and additional_drop_params (never quick).
var anthRequestTargets = []Target{
	{Provider: "anthropic", Model: "claude-x", APIBase: "http://a.test/dep-1"},
	{Provider: "anthropic", APIBase: "https://api.anthropic.com"},
	{Provider: "anthropic", Model: "claude-<&>", Stream: true, MaxTokensDefault: 1000, DropParams: true},
	{Provider: "anthropic", Model: "claude-x", AdditionalDropParams: []string{"temperature"}},
}

// checkAnthRequest compares the quick way with the full way for one body
// and target; it returns whether the quick way took it.
func checkAnthRequest(t *testing.T, name string, body []byte, tg Target) bool {
	t.Helper()
	full, ferr := anthropicRequestFull(body, tg)
	b, stream, ok := anthropicRequestQuick(body, tg)
	if !ok {
		return false
	}
	if ferr != nil {
		t.Fatalf("%s: the quick way took a body the full way refuses (%v): %s", name, ferr, b)
	}
	if !bytes.Equal(b, full.Body) {
		t.Fatalf("%s: bodies differ\nquick: %s\nfull:  %s", name, b, full.Body)
	}
	if got := anthropicUpstream(b, stream, tg); !reflect.DeepEqual(got, full) {
		t.Fatalf("%s: requests differ\nquick: %+v\nfull:  %+v", name, got, full)
	}
	return true
}

// TestAnthropicRequestQuick: the quick way's request equals the full way's
// byte for byte (body, path, headers) for every body it takes, it takes the
// common ones, and it leaves every other one — errors included — to the
// full way.
func TestAnthropicRequestQuick(t *testing.T) {
	for _, c := range anthRequests {
		for i, tg := range anthRequestTargets {
			took := checkAnthRequest(t, c.name, []byte(c.body), tg)
			want := c.quick && len(tg.AdditionalDropParams) == 0
			if took != want {
				t.Errorf("%s, target %d: quick way took it: %v, want %v", c.name, i, took, want)
			}
		}
	}
}

// TestAnthropicRequestThroughQuick: Request takes the quick way (at most a
// quarter of the full way's allocations) and gives the full way's result
// for the bodies it leaves.
func TestAnthropicRequestThroughQuick(t *testing.T) {
	tg := anthRequestTargets[0]
	body := []byte(anthRequests[0].body)
	quick := testing.AllocsPerRun(50, func() { _, _ = anthropicTranslator{}.Request(Chat, body, tg) })
	full := testing.AllocsPerRun(50, func() { _, _ = anthropicRequestFull(body, tg) })
	if quick*4 > full {
		t.Fatalf("Request of the bench's body: %.0f allocations, the full way %.0f", quick, full)
	}
	for _, c := range anthRequests {
		got, gerr := anthropicTranslator{}.Request(Chat, []byte(c.body), tg)
		want, werr := anthropicRequestFull([]byte(c.body), tg)
		if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gerr, werr) {
			t.Fatalf("%s: Request %+v, %v; the full way %+v, %v", c.name, got, gerr, want, werr)
		}
	}
}

// TestAppendMarshalString: every string written as json.Marshal writes it.
func TestAppendMarshalString(t *testing.T) {
	for _, s := range []string{"", "plain", "<a&b>", "\x00\x01\b\f\n\r\t\x1f\x7f\"\\/", "é日本\u2028\u2029", "a\xffb\xe2\x80", "\ufffd"} {
		want, _ := json.Marshal(s)
		if got := appendMarshalString(nil, s); !bytes.Equal(got, want) {
			t.Errorf("%q: %s, json.Marshal %s", s, got, want)
		}
	}
}

// FuzzAnthropicRequestQuick: any body the quick way takes gives the full
// way's request byte for byte, on three targets.
func FuzzAnthropicRequestQuick(f *testing.F) {
	for _, c := range anthRequests {
		f.Add([]byte(c.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, tg := range anthRequestTargets[:3] {
			checkAnthRequest(t, "fuzz", body, tg)
		}
	})
}

// TestValidJSON: validJSON says what json.Valid says.
func TestValidJSON(t *testing.T) {
	deep := func(n int) []byte {
		return append(bytes.Repeat([]byte("["), n), bytes.Repeat([]byte("]"), n)...)
	}
	cases := [][]byte{deep(10000), deep(10001), []byte(`{"a":` + string(deep(9999)) + `}`), []byte(`{"a":` + string(deep(10000)) + `}`)}
	for _, s := range []string{"", " ", "{}", "[]", `""`, "0", "-0", "01", "-", "1.", ".5", "1e", "1e+", "1E-5", "-1.5e10", "true", "tru", "nul", "null ",
		`{"a":1,}`, `[1,]`, `{"a" 1}`, `{1:2}`, `{"a":1}}`, "\"\x01\"", `"\u12"`, `"\u12g4"`, `"\q"`, "\"\xff\"", ` [ 1 , { "a" : [ ] } ] `, "\t\n\r1\r\n", "\v1", `{"a":1}x`} {
		cases = append(cases, []byte(s))
	}
	cases = append(cases, []byte(anthAnswers[0].body))
	for _, c := range cases {
		if got, want := validJSON(c), json.Valid(c); got != want {
			t.Errorf("%.40q: validJSON %v, json.Valid %v", c, got, want)
		}
	}
}

// FuzzValidJSON: validJSON says what json.Valid says.
func FuzzValidJSON(f *testing.F) {
	for _, c := range anthRequests {
		f.Add([]byte(c.body))
	}
	for _, c := range anthAnswers {
		f.Add([]byte(c.body))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := validJSON(b), json.Valid(b); got != want {
			t.Fatalf("%q: validJSON %v, json.Valid %v", b, got, want)
		}
	})
}

// BenchmarkAnthropicRequestQuick: the bench's request, Request (the quick way)
// against the full way.
func BenchmarkAnthropicRequestQuick(b *testing.B) {
	tg := anthRequestTargets[0]
	body := []byte(anthRequests[0].body)
	b.Run("quick", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = anthropicTranslator{}.Request(Chat, body, tg)
		}
	})
	b.Run("full", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = anthropicRequestFull(body, tg)
		}
	})
}

// BenchmarkValidJSON: validJSON against json.Valid on the bench's answer.
func BenchmarkValidJSON(b *testing.B) {
	body := []byte(anthAnswers[0].body)
	b.Run("validJSON", func(b *testing.B) {
		for b.Loop() {
			validJSON(body)
		}
	})
	b.Run("json.Valid", func(b *testing.B) {
		for b.Loop() {
			json.Valid(body)
		}
	})
}

// TestAPIBasePathKept: an api_base is parsed once (no allocation after the
// first), with parseAPIBasePath's result.
func TestAPIBasePathKept(t *testing.T) {
	for _, base := range []string{"http://a.test/dep-1", "https://api.anthropic.com", "example.com/v1/", "http://h:8080/a%20b/?x=1", "", "::bad"} {
		if got, want := apiBasePath(base), parseAPIBasePath(base); got != want {
			t.Errorf("%q: %q, parsed %q", base, got, want)
		}
		if n := testing.AllocsPerRun(20, func() { apiBasePath(base) }); n != 0 {
			t.Errorf("%q: %.0f allocations after the first", base, n)
		}
	}
}
