package extproc

import (
	"encoding/base64"
	"slices"
	"testing"

	"github.com/llmgate/llmgate/internal/eventstream"
)

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

// TestPassThroughUsageBedrock (D181): the direct /bedrock route's answers as
// LiteLLM's BedrockPassthroughConfig reads them: a Converse body's usage, a
// ConverseStream's metadata event, an InvokeModel (Anthropic) body, an
// InvokeModelWithResponseStream's base64 chunks — each fed in chunks split
// anywhere; and the models the spend is priced by (the path's).
func TestPassThroughUsageBedrock(t *testing.T) {
	frame := func(typ string, payload string) []byte {
		b, err := eventstream.Encode(nil, eventstream.Message{Headers: []eventstream.Header{
			eventstream.StringHeader(":event-type", typ), eventstream.StringHeader(":content-type", "application/json"),
			eventstream.StringHeader(":message-type", "event")}, Payload: []byte(payload)})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	chunk := func(event string) []byte {
		return frame("chunk", `{"bytes":"`+base64.StdEncoding.EncodeToString([]byte(event))+`","p":"abcd"}`)
	}
	converseStream := slices.Concat(frame("messageStart", `{"role":"assistant"}`),
		frame("contentBlockDelta", `{"contentBlockIndex":0,"delta":{"text":"hi usage"}}`),
		frame("messageStop", `{"stopReason":"end_turn"}`),
		frame("metadata", `{"usage":{"inputTokens":12,"outputTokens":5,"cacheReadInputTokens":100,"cacheWriteInputTokens":7,"totalTokens":124},"metrics":{"latencyMs":40}}`))
	invokeStream := slices.Concat(chunk(`{"type":"message_start","message":{"model":"claude-3-haiku-20240307","usage":{"input_tokens":9,"output_tokens":1}}}`),
		chunk(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"usage"}}`),
		chunk(`{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":14}}`),
		chunk(`{"type":"message_stop","amazon-bedrock-invocationMetrics":{"inputTokenCount":9,"outputTokenCount":14}}`))
	for _, c := range []struct {
		name          string
		body          []byte
		es            bool
		prompt, compl int64
		read, write   int
	}{
		{"converse", []byte(`{"output":{"message":{"role":"assistant","content":[{"text":"hi"}]}},"stopReason":"end_turn","usage":{"inputTokens":12,"outputTokens":5,"totalTokens":17}}`), false, 12, 5, 0, 0},
		{"converse-stream", converseStream, true, 119, 5, 100, 7},
		{"invoke (anthropic)", []byte(`{"id":"msg_1","type":"message","model":"claude-3-haiku-20240307","usage":{"input_tokens":9,"output_tokens":14}}`), false, 9, 14, 0, 0},
		{"invoke-with-response-stream", invokeStream, true, 9, 14, 0, 0},
	} {
		for _, size := range []int{1, 5, 1 << 20} {
			u := ptUsage{es: c.es}
			for b := c.body; len(b) > 0; {
				n := min(size, len(b))
				u.feed(b[:n])
				b = b[n:]
			}
			u.end()
			if !u.seen || u.prompt != c.prompt || u.completion != c.compl || u.usage.CachedTokens != c.read || u.usage.CacheCreationTokens != c.write {
				t.Errorf("%s in chunks of %d: seen %v, %d + %d tokens (cache read %d, write %d); want %d + %d (%d, %d)",
					c.name, size, u.seen, u.prompt, u.completion, u.usage.CachedTokens, u.usage.CacheCreationTokens, c.prompt, c.compl, c.read, c.write)
			}
		}
	}
	u := ptUsage{es: true}
	u.feed([]byte("not an event stream, twelve bytes or more"))
	u.feed(converseStream)
	if u.end(); u.seen {
		t.Errorf("a corrupt event stream read as usage %+v", u.usage)
	}
	for p, want := range map[string]string{
		"/bedrock/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse":                  "anthropic.claude-3-haiku-20240307-v1:0",
		"/bedrock/model/anthropic.claude-3-haiku-20240307-v1:0/converse-stream?x=1":         "anthropic.claude-3-haiku-20240307-v1:0",
		"/bedrock/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Ainference-profile%2Fp/invoke": "arn:aws:bedrock:us-east-1:1:inference-profile/p",
		"/bedrock/knowledgebases/KB1/retrieve":                                              "",
		"/bedrock/model/converse":                                                           "",
	} {
		if m := bedrockPathModel(p); m != want {
			t.Errorf("bedrockPathModel(%s) = %q, want %q", p, m, want)
		}
	}
	if m := geminiPathModel("/vertex_ai/v1/projects/p/locations/l/publishers/google/models/gemini-1.5-pro:streamGenerateContent"); m != "gemini-1.5-pro" {
		t.Errorf("vertex path model %q", m)
	}
}
