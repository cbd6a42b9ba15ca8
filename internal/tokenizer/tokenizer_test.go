package tokenizer

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestEncodingFor(t *testing.T) {
	for model, want := range map[string]string{
		"gpt-4o": O200K, "openai/gpt-4o-mini": O200K, "azure/gpt-4.1": O200K, "o3-mini": O200K, "o1": O200K,
		"gpt-4": CL100K, "gpt-3.5-turbo": CL100K, "text-embedding-3-small": CL100K,
		"claude-3-haiku-20240307": Estimate, "gemini-2.5-pro": Estimate, "anthropic.claude-3": Estimate,
	} {
		if got := EncodingFor(model); got != want {
			t.Errorf("%s: %s, want %s", model, got, want)
		}
	}
}

func TestCountText(t *testing.T) {
	tests := []struct {
		model, text string
		want        int
	}{
		// Known counts from OpenAI's tokenizers.
		{"gpt-4", "hello world", 2},
		{"gpt-4o", "hello world", 2},
		{"gpt-3.5-turbo", "tiktoken is great!", 6},
		{"gpt-4o", "", 0},
		// estimate: ceil(chars/4)
		{"claude-3-haiku", "hello world", 3},
		{"claude-3-haiku", "abcd", 1},
		{"claude-3-haiku", "héllo", 2},
	}
	for _, tc := range tests {
		if got := CountText(tc.model, tc.text); got != tc.want {
			t.Errorf("%s %q: %d, want %d", tc.model, tc.text, got, tc.want)
		}
	}
}

func TestCountRequest(t *testing.T) {
	tests := []struct {
		name  string
		model string
		body  string
		want  int
	}{
		// OpenAI cookbook: "hello world" as one user message = 3 + 1(user) + 2 + 3 = 9 on gpt-4.
		{"one message", "", `{"model":"gpt-4","messages":[{"role":"user","content":"hello world"}]}`, 9},
		{"name adds one plus name tokens", "gpt-4", `{"messages":[{"role":"user","name":"bob","content":"hello world"}]}`, 11},
		{"parts and image", "gpt-4o", `{"messages":[{"role":"user","content":[{"type":"text","text":"hello world"},{"type":"image_url","image_url":{"url":"data:x"}}]}]}`, 9 + 85},
		{"estimate", "claude-3-haiku", `{"messages":[{"role":"user","content":"hello world"}]}`, 3 + 1 + 3 + 3},
		{"embeddings list", "text-embedding-3-small", `{"input":["hello world","hello world"]}`, 4},
		{"embeddings token ids", "text-embedding-3-small", `{"input":[1,2,3]}`, 3},
		{"completions prompt", "gpt-3.5-turbo-instruct", `{"prompt":"hello world"}`, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CountRequest(tc.model, []byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("%d, want %d", got, tc.want)
			}
		})
	}
	if _, err := CountRequest("gpt-4o", []byte(`{"messages":`)); err == nil {
		t.Fatal("no error on bad JSON")
	}
}

func thousandTokenPrompt() []byte {
	// ~1,000 tokens of ordinary English in o200k_base.
	text := strings.Repeat("The quick brown fox jumps over the lazy dog while the gateway counts tokens. ", 62)
	body, _ := json.Marshal(map[string]any{"model": "gpt-4o", "messages": []map[string]any{
		{"role": "system", "content": "You are a helpful assistant."},
		{"role": "user", "content": text},
	}})
	return body
}

func TestCountConcurrentAndFast(t *testing.T) {
	body := thousandTokenPrompt()
	want, err := CountRequest("", body)
	if err != nil {
		t.Fatal(err)
	}
	if want < 900 || want > 1100 {
		t.Fatalf("prompt is %d tokens, want about 1000", want)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				if got, _ := CountRequest("", body); got != want {
					t.Errorf("concurrent count %d != %d", got, want)
					return
				}
			}
		}()
	}
	wg.Wait()
	start := time.Now()
	const n = 50
	for range n {
		_, _ = CountRequest("", body)
	}
	t.Logf("1,000-token prompt (%d tokens): %v per count", want, time.Since(start)/n)
}

func BenchmarkCount1000Tokens(b *testing.B) {
	body := thousandTokenPrompt()
	_, _ = CountRequest("", body) // load the BPE outside the timing
	b.ResetTimer()
	for range b.N {
		_, _ = CountRequest("", body)
	}
}
