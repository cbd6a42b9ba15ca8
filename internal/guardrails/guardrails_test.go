package guardrails

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestRequested: the forms of a request's guardrails (names, per-name
// extra_body, metadata.guardrails; a false toggle is no request; a
// mapping, LiteLLM's v1 form, is reported with the names it enables).
func TestRequested(t *testing.T) {
	for _, c := range []struct {
		body    string
		names   []string
		extra   map[string]map[string]any
		mapping map[string]bool
	}{
		{`{"guardrails":["a","b"]}`, []string{"a", "b"}, nil, nil},
		{`{"guardrails":[{"a":{"extra_body":{"x":1}}}]}`, []string{"a"}, map[string]map[string]any{"a": {"x": float64(1)}}, nil},
		{`{"metadata":{"guardrails":["c"]}}`, []string{"c"}, nil, nil},
		{`{"metadata":{"guardrails":{"hide_secrets":false}}}`, nil, nil, map[string]bool{}},
		{`{"metadata":{"guardrails":{"prompt_injection":true,"pii":false}}}`, []string{"prompt_injection"}, nil, map[string]bool{"prompt_injection": true}},
		{`{"model":"m"}`, nil, nil, nil},
	} {
		var top map[string]json.RawMessage
		if err := json.Unmarshal([]byte(c.body), &top); err != nil {
			t.Fatal(err)
		}
		names, extra, mapping := Requested(top)
		if !reflect.DeepEqual(names, c.names) || !reflect.DeepEqual(extra, c.extra) || !reflect.DeepEqual(mapping, c.mapping) {
			t.Errorf("%s: %v %v %v, want %v %v %v", c.body, names, extra, mapping, c.names, c.extra, c.mapping)
		}
	}
}

// TestDocumentTexts: a request's texts (string contents and text parts)
// written back, the other fields as they were.
func TestDocumentTexts(t *testing.T) {
	in := `{"model":"m","n":12345678901234567890,"messages":[{"role":"system","content":"a"},{"role":"user","content":[{"type":"text","text":"b"},{"type":"image_url","image_url":{"url":"u"}}]}]}`
	d, err := readRequest([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if got := d.texts(); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Fatalf("texts %v", got)
	}
	d.set(1, "<B>")
	out, e := d.encode()
	if e != nil {
		t.Fatal(e)
	}
	want := `{"messages":[{"content":"a","role":"system"},{"content":[{"text":"<B>","type":"text"},{"image_url":{"url":"u"},"type":"image_url"}],"role":"user"}],"model":"m","n":12345678901234567890}`
	if string(out) != want {
		t.Errorf("encoded\n%s\nwant\n%s", out, want)
	}
	a, err := readAnswer([]byte(`{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"hi <B>"}}]}`))
	if err != nil || !reflect.DeepEqual(a.texts(), []string{"hi <B>"}) {
		t.Fatalf("answer texts %v %v", a.texts(), err)
	}
}

// TestPyRepr: Python's str() of the dicts LiteLLM puts in its messages.
func TestPyRepr(t *testing.T) {
	for in, want := range map[string]string{
		`{"error":"Violated","r":{"a":[1,2.5,true,null],"b":"it's","c":1e-05,"d":3.0}}`: `{'error': 'Violated', 'r': {'a': [1, 2.5, True, None], 'b': "it's", 'c': 1e-05, 'd': 3.0}}`,
		`{"z":"a\nb","a":"q'\""}`: `{'z': 'a\nb', 'a': 'q\'"'}`,
	} {
		if got := pyRepr(json.RawMessage(in)); got != want {
			t.Errorf("pyRepr(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestMasked(t *testing.T) {
	for _, c := range []struct {
		key  string
		in   any
		want string
	}{
		{"api_key", "sk-1234567", `"sk****67"`},
		{"api_key", "abcd", `"*****"`},
		{"api_base", "http://x", `"http://x"`},
		{"headers", map[string]any{"Authorization": "Bearer secret", "x-team": "t"}, `{"Authorization":"Be****et","x-team":"t"}`},
		{"aws_secret_access_key", 12345, `12345`},
	} {
		b, _ := json.Marshal(masked(c.key, c.in))
		if string(b) != c.want {
			t.Errorf("masked(%q, %v) = %s, want %s", c.key, c.in, b, c.want)
		}
	}
}
