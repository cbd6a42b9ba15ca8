package extproc

import (
	"testing"

	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
	"github.com/llmgate/llmgate/translator"
)

// TestModuleTryStreamError (D66): a translated stream that ends with an
// Anthropic error event reports the error's status for the outcome; one
// that ends well, or a try not yet streaming, reports none.
func TestModuleTryStreamError(t *testing.T) {
	start := "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-x\",\"content\":[],\"usage\":{\"input_tokens\":9,\"output_tokens\":1}}}\n\n"
	for _, c := range []struct {
		name, tail string
		want       int
	}{
		{"overloaded", "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n", 529},
		{"api error", "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"boom\"}}\n\n", 500},
		{"rate limit", "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"slow down\"}}\n\n", 429},
		{"ends well", "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":5}}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n", 0},
	} {
		tr := translator.For("anthropic")
		target := translator.Target{Provider: "anthropic", Model: "claude-x", Stream: true}
		mt := &ModuleTry{t: &try{rc: &llmgatev1.RequestContext{Stream: true, RequestedModel: "claude"}, tr: tr, ep: translator.Chat, target: target}}
		if got := mt.StreamError(); got != 0 {
			t.Errorf("%s: before the answer StreamError = %d", c.name, got)
		}
		if mode, _, _ := mt.ResponseHeaders(200, false); mode != ModuleTryStream {
			t.Fatalf("mode %d", mode)
		}
		mt.ResponseChunk([]byte(start), false)
		mt.ResponseChunk([]byte(c.tail), true)
		if got := mt.StreamError(); got != c.want {
			t.Errorf("%s: StreamError = %d, want %d", c.name, got, c.want)
		}
	}
}
