package translator

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
)

// Micro-benchmarks of the translators on the hot path (`go test -bench .
// ./translator/`); figures are quoted in docs/benchmarks.md.

var openAITarget = Target{Provider: "openai", Model: "gpt-4o", APIBase: "https://api.openai.com/v1"}

func benchChatRequest(stream bool) []byte {
	s := ""
	if stream {
		s = `,"stream":true`
	}
	return []byte(`{"model":"gpt-4o","messages":[{"role":"system","content":"You are a helpful assistant. Answer briefly."},{"role":"user","content":"Summarise the benefits of running an LLM gateway on Envoy in one paragraph."}],"temperature":0.2,"max_tokens":256` + s + `}`)
}

// benchCompletion is an OpenAI chat completion with a 1 KB answer.
func benchCompletion() []byte {
	return []byte(`{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"` +
		strings.Repeat("lorem ipsum ", 85) + `"},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":40,"completion_tokens":200,"total_tokens":240}}`)
}

// benchOpenAIStream is a 100-chunk OpenAI SSE stream, split into the
// network pieces a provider would send (one event each).
func benchOpenAIStream() [][]byte {
	var out [][]byte
	for i := 0; i < 100; i++ {
		out = append(out, fmt.Appendf(nil, `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o","choices":[{"index":0,"delta":{"content":"tok%03d "},"logprobs":null,"finish_reason":null}]}`+"\n\n", i))
	}
	out = append(out, []byte(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":40,"completion_tokens":100,"total_tokens":140}}`+"\n\n"))
	return append(out, []byte("data: [DONE]\n\n"))
}

func readFixture(b *testing.B, path string) []byte {
	b.Helper()
	in, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	return in
}

func BenchmarkOpenAIRequest(b *testing.B) {
	tr := For("openai")
	body := benchChatRequest(false)
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := tr.Request(Chat, body, openAITarget); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpenAIResponse(b *testing.B) {
	tr := For("openai")
	body := benchCompletion()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := tr.Response(Chat, body, openAITarget); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpenAIStream100Chunks(b *testing.B) {
	tr := For("openai")
	chunks := benchOpenAIStream()
	tg := openAITarget
	tg.Stream = true
	b.ReportAllocs()
	for b.Loop() {
		s := tr.NewStream(Chat, tg)
		for i, c := range chunks {
			if _, err := s.Feed(c, i == len(chunks)-1); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkAnthropicRequest(b *testing.B) {
	for _, name := range []string{"req_basic", "req_tools_multiturn"} {
		b.Run(name, func(b *testing.B) {
			body := readFixture(b, "testdata/anthropic/"+name+".json")
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := (anthropicTranslator{}).Request(Chat, body, anthTarget); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAnthropicResponse(b *testing.B) {
	for _, name := range []string{"resp_text", "resp_tool_use"} {
		b.Run(name, func(b *testing.B) {
			body := readFixture(b, "testdata/anthropic/"+name+".json")
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := (anthropicTranslator{}).Response(Chat, body, anthTarget); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAnthropicStream feeds a recorded Messages stream event by event.
func BenchmarkAnthropicStream(b *testing.B) {
	raw := readFixture(b, "testdata/anthropic/stream_text.sse")
	var events [][]byte
	for _, e := range bytes.SplitAfter(raw, []byte("\n\n")) {
		if len(e) > 0 {
			events = append(events, e)
		}
	}
	tg := anthTarget
	tg.Stream = true
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		s := (anthropicTranslator{}).NewStream(Chat, tg)
		for i, e := range events {
			if _, err := s.Feed(e, i == len(events)-1); err != nil {
				b.Fatal(err)
			}
		}
	}
}
