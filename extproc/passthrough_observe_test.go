package extproc

import "testing"

// TestPassThroughUsage reads the usage of each provider route's answer as
// the observer gets it: in chunks split anywhere (D128), with the
// translators' readers (D141): Cohere v2's tokens before its billed units,
// as LiteLLM's CohereV2ChatConfig reads them, the prompt cache's counts.
func TestPassThroughUsage(t *testing.T) {
	for _, c := range []struct {
		name, body    string
		sse           bool
		model         string
		prompt, compl int64
		read, write   int
	}{
		{"anthropic", `{"id":"msg_1","model":"claude-3-5-sonnet-20241022","usage":{"input_tokens":5,"cache_creation_input_tokens":2,"cache_read_input_tokens":3,"output_tokens":8}}`, false, "claude-3-5-sonnet-20241022", 10, 8, 3, 2},
		{"anthropic stream", "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":\"claude-3-5-sonnet-20241022\",\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\nevent: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"usage\"}}\n\nevent: message_delta\r\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":9}}\r\n\r\n", true, "claude-3-5-sonnet-20241022", 5, 9, 0, 0},
		{"anthropic stream cached", "data: {\"type\":\"message_start\",\"message\":{\"model\":\"claude-sonnet-4-5\",\"usage\":{\"input_tokens\":4,\"cache_creation_input_tokens\":100,\"cache_read_input_tokens\":1000,\"output_tokens\":1}}}\n\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":12}}\n\n", true, "claude-sonnet-4-5", 1104, 12, 1000, 100},
		{"cohere", `{"id":"x","message":{"role":"assistant"},"usage":{"billed_units":{"input_tokens":4,"output_tokens":6},"tokens":{"input_tokens":70,"output_tokens":6}}}`, false, "", 70, 6, 0, 0},
		{"cohere stream", "event: message-end\ndata: {\"type\":\"message-end\",\"delta\":{\"finish_reason\":\"COMPLETE\",\"usage\":{\"billed_units\":{\"input_tokens\":3,\"output_tokens\":5},\"tokens\":{\"input_tokens\":60,\"output_tokens\":5}}}}\n\n", true, "", 60, 5, 0, 0},
		{"cohere embed v1", `{"id":"e","embeddings":[[0.1]],"meta":{"api_version":{"version":"1"},"billed_units":{"input_tokens":9}}}`, false, "", 9, 0, 0, 0},
		{"openai cached", `{"model":"gpt-4o","usage":{"prompt_tokens":2000,"completion_tokens":7,"prompt_tokens_details":{"cached_tokens":1500}}}`, false, "gpt-4o", 2000, 7, 1500, 0},
		{"mistral stream", "data: {\"model\":\"mistral-small\",\"choices\":[]}\n\ndata: {\"model\":\"mistral-small\",\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":7}}\n\ndata: [DONE]\n\n", true, "mistral-small", 3, 7, 0, 0},
		{"gemini", `{"candidates":[],"usageMetadata":{"promptTokenCount":11,"candidatesTokenCount":4,"thoughtsTokenCount":2},"modelVersion":"gemini-1.5-pro"}`, false, "gemini-1.5-pro", 11, 6, 0, 0},
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
			if !u.seen || u.model != c.model || u.prompt != c.prompt || u.completion != c.compl || u.usage.CachedTokens != c.read || u.usage.CacheCreationTokens != c.write {
				t.Errorf("%s in chunks of %d: seen %v model %q, %d + %d tokens (cache read %d, write %d); want %q, %d + %d (%d, %d)",
					c.name, size, u.seen, u.model, u.prompt, u.completion, u.usage.CachedTokens, u.usage.CacheCreationTokens, c.model, c.prompt, c.compl, c.read, c.write)
			}
		}
	}
	if m := geminiPathModel("/gemini/v1beta/models/gemini-1.5-flash:generateContent"); m != "gemini-1.5-flash" {
		t.Errorf("gemini path model %q", m)
	}
}
