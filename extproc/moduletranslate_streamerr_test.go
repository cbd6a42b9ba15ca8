package extproc

import (
	"testing"

	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
	"github.com/llmgate/llmgate/translator"
)

// TestModuleTryStreamError (D66, D71, D82): a translated stream that ends
// with an Anthropic error event reports LiteLLM's status for it — 500 for
// every error event (LiteLLM's AnthropicError from a stream; the event
// carries no status) — and the class read from the message (a "prompt is too
// long" is a context-window error, not a bad request); one that ends well, or
// a try not yet streaming, reports none.
func TestModuleTryStreamError(t *testing.T) {
	start := "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-x\",\"content\":[],\"usage\":{\"input_tokens\":9,\"output_tokens\":1}}}\n\n"
	for _, c := range []struct {
		name, tail string
		want       int
		class      translator.ErrorClass
	}{
		{"overloaded", "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n", 500, translator.ErrInternal},
		{"api error", "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"boom\"}}\n\n", 500, translator.ErrInternal},
		{"rate limit", "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"slow down\"}}\n\n", 500, translator.ErrInternal},
		{"prompt too long", "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"prompt is too long: 210000 tokens > 200000 maximum\"}}\n\n", 500, translator.ErrContextWindow},
		{"ends well", "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":5}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n", 0, translator.ErrNone},
	} {
		tr := translator.For("anthropic")
		target := translator.Target{Provider: "anthropic", Model: "claude-x", Stream: true}
		mt := &ModuleTry{t: &try{rc: &llmgatev1.RequestContext{Stream: true, RequestedModel: "claude"}, tr: tr, ep: translator.Chat, target: target}}
		if got, _ := mt.StreamError(); got != 0 {
			t.Errorf("%s: before the answer StreamError = %d", c.name, got)
		}
		if mode, _, _ := mt.ResponseHeaders(200, false); mode != ModuleTryStream {
			t.Fatalf("mode %d", mode)
		}
		mt.ResponseChunk([]byte(start), false)
		mt.ResponseChunk([]byte(c.tail), false) // the error is known before the end
		if got, class := mt.StreamError(); got != c.want || class != c.class {
			t.Errorf("%s: StreamError = %d, class %v; want %d, %v", c.name, got, class, c.want, c.class)
		}
	}
}
