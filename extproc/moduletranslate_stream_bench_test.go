package extproc

import (
	"fmt"
	"strings"
	"testing"
)

// benchAnthropicStreamEvents is an Anthropic Messages stream of ten text
// deltas, one event per chunk as the provider sends them.
func benchAnthropicStreamEvents() [][]byte {
	ev := func(name, data string) []byte { return []byte("event: " + name + "\ndata: " + data + "\n\n") }
	out := [][]byte{
		ev("message_start", `{"type":"message_start","message":{"id":"msg_fake0000000000000001","type":"message","role":"assistant","model":"claude-3-5-haiku-20241022","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":30,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}`),
		ev("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`),
		ev("ping", `{"type": "ping"}`),
	}
	for i := range 10 {
		out = append(out, ev("content_block_delta", fmt.Sprintf(`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"piece %d of the answer "}}`, i)))
	}
	return append(out,
		ev("content_block_stop", `{"type":"content_block_stop","index":0}`),
		ev("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":14}}`),
		ev("message_stop", `{"type":"message_stop"}`))
}

// BenchmarkModuleTranslatedStream is the module's work for one translated
// (Anthropic) streamed try after Serve: the try, its request, and the
// stream's fifteen events translated one by one (D107).
func BenchmarkModuleTranslatedStream(b *testing.B) {
	body := []byte(strings.Replace(string(benchAnthropicBody), `"max_tokens":256`, `"max_tokens":256,"stream":true`, 1))
	m, cluster, ctx := moduleTranslatedFixtureBody(b, body)
	events := benchAnthropicStreamEvents()
	b.ReportAllocs()
	for b.Loop() {
		mt, ok := m.NewModuleTry(cluster, 1, ctx)
		if !ok {
			b.Fatal("no try")
		}
		if _, _, _, reply := mt.Request(body); reply != nil {
			b.Fatal(string(reply.Body))
		}
		if mode, _, _ := mt.ResponseHeaders(200, false); mode != ModuleTryStream {
			b.Fatal(mode)
		}
		for i, e := range events {
			mt.ResponseChunk(e, i == len(events)-1)
		}
	}
}
