package translator

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestOllamaGolden(t *testing.T) {
	chat := Target{Provider: "ollama_chat", Model: "llama3.2", APIBase: OllamaDefaultAPIBase}
	gen := Target{Provider: "ollama", Model: "llama2", APIBase: OllamaDefaultAPIBase}
	streaming := chat
	streaming.Stream = true
	emb := Target{Provider: "ollama", Model: "all-minilm", APIBase: "http://gpu-box:11434/"}
	d := "ollama"
	runGoldenCases(t, []goldenCase{
		{name: "chat_tools_multiturn", dir: d, provider: "ollama_chat", kind: goldenRequest, ep: Chat, target: chat},
		{name: "generate_prompt", dir: d, provider: "ollama", kind: goldenRequest, ep: Chat, target: gen},
		{name: "generate_tools_unsupported", dir: d, provider: "ollama", kind: goldenRequest, ep: Chat, target: gen},
		{name: "chat_remote_image", dir: d, provider: "ollama_chat", kind: goldenRequest, ep: Chat, target: chat},
		{name: "embed_request", dir: d, provider: "ollama", kind: goldenRequest, ep: Embeddings, target: emb},
		{name: "resp_chat", dir: d, provider: "ollama_chat", kind: goldenResponse, ep: Chat, target: chat},
		{name: "resp_chat_tools", dir: d, provider: "ollama_chat", kind: goldenResponse, ep: Chat, target: chat},
		{name: "resp_generate", dir: d, provider: "ollama", kind: goldenResponse, ep: Chat, target: gen},
		{name: "embed_resp", dir: d, provider: "ollama_chat", kind: goldenResponse, ep: Embeddings, target: emb},
		{name: "err_not_found", dir: d, provider: "ollama_chat", kind: goldenError, status: 404},
		{name: "err_context", dir: d, provider: "ollama", kind: goldenError, status: 400},
		{name: "stream_chat", dir: d, provider: "ollama_chat", kind: goldenStream, ep: Chat, target: streaming},
		{name: "stream_tools", dir: d, provider: "ollama_chat", kind: goldenStream, ep: Chat, target: streaming},
		{name: "stream_generate", dir: d, provider: "ollama", kind: goldenStream, ep: Chat, target: gen},
		{name: "stream_error", dir: d, provider: "ollama_chat", kind: goldenStream, ep: Chat, target: streaming},
		// done_reason length → length (chat; generate above)
		{name: "stream_chat_length", dir: d, provider: "ollama_chat", kind: goldenStream, ep: Chat, target: streaming},
	})
}

func TestOllamaLines(t *testing.T) {
	var l ollamaLines
	if got := l.feed([]byte(`{"a":1}`+"\n"+`{"b"`), false); len(got) != 1 || string(got[0]) != `{"a":1}` {
		t.Fatalf("first feed: %q", got)
	}
	if got := l.feed([]byte(`:2}`+"\r\n\n"), false); len(got) != 1 || string(got[0]) != `{"b":2}` {
		t.Fatalf("second feed: %q", got)
	}
	if got := l.feed([]byte(`{"c":3}`), true); len(got) != 1 || string(got[0]) != `{"c":3}` {
		t.Fatalf("last feed: %q", got)
	}
	if len(l.buf) != 0 {
		t.Fatal("buffer not released")
	}
}

// TestOllamaStreamEmitsEarly checks that a complete line is translated at once,
// before the stream ends.
func TestOllamaStreamEmitsEarly(t *testing.T) {
	s := For("ollama_chat").NewStream(Chat, Target{Model: "m"})
	out, err := s.Feed([]byte(`{"message":{"content":"Hi"},"done":false}`+"\n"), false)
	if err != nil || !bytes.Contains(out, []byte(`"content":"Hi"`)) {
		t.Fatalf("no chunk for a complete line: %q %v", out, err)
	}
	out, _ = s.Feed([]byte(`{"message":{"content":" there"},"done":fal`), false)
	if len(out) != 0 {
		t.Fatalf("half a line produced output: %q", out)
	}
}

func FuzzOllamaStream(f *testing.F) {
	f.Add([]byte("{\"message\":{\"content\":\"a\",\"tool_calls\":[{\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},\"done\":false}\n{\"done\":true,\"eval_count\":-1}\n"), 7)
	f.Add([]byte("{\"response\":\"x\"}\n{\"error\":{\"nested\":1}}\n"), 3)
	f.Add([]byte("not json\n"), 0)
	f.Fuzz(func(t *testing.T, in []byte, split int) {
		for _, p := range []string{"ollama", "ollama_chat"} {
			s := For(p).NewStream(Chat, Target{Model: "m"})
			if split < 0 {
				split = -split
			}
			i := split % (len(in) + 1)
			a, _ := s.Feed(in[:i], false)
			b, _ := s.Feed(in[i:], true)
			checkSSE(t, append(a, b...))
		}
	})
}

func FuzzOllamaResponse(f *testing.F) {
	f.Add([]byte(`{"message":{"content":"x","tool_calls":[{"function":{"name":"f","arguments":{"a":1}}}]},"done":true}`))
	f.Add([]byte(`{"embeddings":[[1,2]],"prompt_eval_count":3}`))
	f.Add([]byte(`{"error":"boom"}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, p := range []string{"ollama", "ollama_chat"} {
			tr := For(p)
			for _, ep := range []Endpoint{Chat, Embeddings} {
				if r, err := tr.Response(ep, in, Target{Model: "m"}); err == nil && !json.Valid(r.Body) {
					t.Fatalf("invalid JSON body: %s", r.Body)
				}
			}
			if e := tr.Error(500, nil, in); e == nil || !json.Valid(e.JSON()) {
				t.Fatal("bad error")
			}
		}
	})
}
