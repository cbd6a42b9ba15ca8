package bench

import (
	"context"
	"net/http"
	"strings"
)

// The time to first token of a translated stream is read against a direct
// call in the provider's own format (docs/architecture.md D66). The fake
// provider paces every event of a stream ChunkDelay apart: an OpenAI stream
// sends its role chunk and then its first content chunk (one delay), an
// Anthropic stream message_start, content_block_start and ping before its
// first content_block_delta (three delays). Against the OpenAI-format direct
// call the Anthropic row's "added" time to first token carried the two extra
// delays of the fake's preamble, which no gateway can remove.

// AnthropicDirectName is the streaming table's row of the fake provider's
// Anthropic Messages stream called directly.
const AnthropicDirectName = "direct (Anthropic)"

// streamReference is the direct stream a target's added time to first token
// is taken against, when it is not the OpenAI-format direct call.
func streamReference(t *Target, fakeBase string) (func(ctx context.Context, c *http.Client) (StreamResult, error), bool) {
	if t.Model != AnthropicModelGroup {
		return nil, false
	}
	return func(ctx context.Context, c *http.Client) (StreamResult, error) {
		return StreamAnthropicDirect(ctx, c, fakeBase)
	}, true
}

// StreamAnthropicDirect times one stream of the fake provider's Anthropic
// Messages API called directly (as the Anthropic config's first deployment):
// time to its first text delta, the gap between text deltas.
func StreamAnthropicDirect(ctx context.Context, c *http.Client, fakeBase string) (StreamResult, error) {
	h := http.Header{
		"Content-Type":      {"application/json"},
		"X-Api-Key":         {"sk-ant-fake-1"},
		"Anthropic-Version": {"2023-06-01"},
	}
	return streamOf(ctx, c, AnthropicDirectName, fakeBase+"/dep-1/v1/messages", h, anthropicChatBody(true),
		func(data string) bool {
			return strings.Contains(data, `"text_delta"`) && !strings.Contains(data, `"text":""`)
		},
		func(data string) bool { return strings.Contains(data, `"type":"message_stop"`) })
}

// anthropicChatBody is ChatBody's request in Anthropic's Messages format (as
// the gateway translates it: the system message on its own).
func anthropicChatBody(stream bool) []byte {
	s := ""
	if stream {
		s = `,"stream":true`
	}
	return []byte(`{"model":"claude-3-5-haiku-20241022","system":"You are a helpful assistant. Answer briefly.","messages":[{"role":"user","content":"Summarise the benefits of running an LLM gateway on Envoy in one paragraph."}],"temperature":0.2,"max_tokens":256` + s + `}`)
}
