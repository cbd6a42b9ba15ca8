package tokenizer

import (
	"strings"
	"testing"
)

// TestRequestBound (D95): RequestBound is never below CountRequest's count,
// for each encoding (o200k, cl100k, the estimate) and bodies whose tokens
// crowd their bytes: one-byte words, digits, escapes, non-ASCII, names, tool
// calls and tools, images of every part type, pre-tokenized inputs.
func TestRequestBound(t *testing.T) {
	words := strings.Repeat("a b c d e f g h ", 40)
	bodies := []string{
		`{"model":"m","messages":[{"role":"system","content":"You are a helpful assistant. Answer briefly."},{"role":"user","content":"Summarise the benefits of running an LLM gateway on Envoy in one paragraph."}],"temperature":0.2,"max_tokens":256}`,
		`{"model":"m","messages":[{"role":"user","content":"` + words + `"}]}`,
		`{"model":"m","messages":[{"role":"user","content":"1 2 3 4 5 6 7 8 9 0 , . ; : ! ? ( ) [ ] { }"}]}`,
		`{"model":"m","messages":[{"role":"user","content":"\u00e9\u00e8\u4e2d\u6587 \ud83d\ude00 \n\t\"q\" \\"}]}`,
		`{"model":"m","messages":[{"role":"user","content":"日本語のテキスト 😀😀😀 ü ß"}]}`,
		`{"model":"m","messages":[{"role":"a","name":"b","content":"c"},{"role":"a","content":""},{"role":"a"},{"role":"","content":null}]}`,
		`{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"1","type":"function","function":{"name":"f","arguments":"{\"a\":1,\"b\":[1,2,3]}"}}]}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]}`,
		`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"x"},{"type":"image_url","image_url":{"url":"http://a/b.png"}},{"type":"input_image","image_url":"u"},{"type":"image","source":{}}]}]}`,
		`{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"u"}},{"type":"image_url","image_url":{"url":"u"}}]}]}`,
		`{"model":"m","input":"a b c d e"}`,
		`{"model":"m","input":["a","b","c"]}`,
		`{"model":"m","input":[1,2,3,4,5,6,7,8,9]}`,
		`{"model":"m","input":[[1,2],[3,4,5]]}`,
		`{"model":"m","prompt":"` + words + `"}`,
		`{"model":"m","messages":[]}`,
		`{}`,
	}
	for _, model := range []string{"gpt-4o", "gpt-4", "claude-3-5-haiku", ""} {
		for _, b := range bodies {
			n, err := CountRequest(model, []byte(b))
			if err != nil {
				t.Fatalf("%s: %v", b, err)
			}
			if bound := RequestBound([]byte(b)); n > bound {
				t.Errorf("%s, model %q: %d tokens, bound %d", b, model, n, bound)
			}
		}
	}
}
