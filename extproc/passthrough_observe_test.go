package extproc

import "testing"

// TestPassThroughUsage reads the usage of each provider route's answer as
// the observer gets it: in chunks split anywhere (D128).
func TestPassThroughUsage(t *testing.T) {
	for _, c := range []struct {
		name, body    string
		sse           bool
		model         string
		prompt, compl int64
	}{
		{"anthropic", `{"id":"msg_1","model":"claude-3-5-sonnet-20241022","usage":{"input_tokens":5,"cache_creation_input_tokens":2,"cache_read_input_tokens":3,"output_tokens":8}}`, false, "claude-3-5-sonnet-20241022", 10, 8},
		{"anthropic stream", "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"claude-3-5-sonnet-20241022\",\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\nevent: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"usage\"}}\n\nevent: message_delta\r\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":9}}\r\n\r\n", true, "claude-3-5-sonnet-20241022", 5, 9},
		{"cohere", `{"id":"x","message":{"role":"assistant"},"usage":{"billed_units":{"input_tokens":4,"output_tokens":6},"tokens":{"input_tokens":70,"output_tokens":6}}}`, false, "", 4, 6},
		{"mistral stream", "data: {\"model\":\"mistral-small\",\"choices\":[]}\n\ndata: {\"model\":\"mistral-small\",\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":7}}\n\ndata: [DONE]\n\n", true, "mistral-small", 3, 7},
		{"gemini", `{"candidates":[],"usageMetadata":{"promptTokenCount":11,"candidatesTokenCount":4,"thoughtsTokenCount":2},"modelVersion":"gemini-1.5-pro"}`, false, "gemini-1.5-pro", 11, 6},
	} {
		for _, size := range []int{1, 7, 1 << 20} {
			var u ptUsage
			u.sse = c.sse
			for b := []byte(c.body); len(b) > 0; {
				n := min(size, len(b))
				u.feed(b[:n])
				b = b[n:]
			}
			u.end()
			if !u.seen || u.model != c.model || u.prompt != c.prompt || u.completion != c.compl {
				t.Errorf("%s in chunks of %d: seen %v model %q, %d + %d tokens; want %q, %d + %d", c.name, size, u.seen, u.model, u.prompt, u.completion, c.model, c.prompt, c.compl)
			}
		}
	}
	if m := geminiPathModel("/gemini/v1beta/models/gemini-1.5-flash:generateContent"); m != "gemini-1.5-flash" {
		t.Errorf("gemini path model %q", m)
	}
}
