package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/llmgate/llmgate/internal/fakeqdrant"
)

// bagOfWordsDims is the test embedder's vector size.
const bagOfWordsDims = 256

// startBagOfWords serves OpenAI's POST /v1/embeddings with a bag-of-words
// vector of each input (its lowercased words counted into hashed buckets):
// prompts sharing most words are near (cosine), others far. It counts its
// calls.
func startBagOfWords(t *testing.T) (string, *atomic.Int64) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Model string `json:"model"`
			Input any    `json:"input"`
		}
		if r.URL.Path != "/v1/embeddings" || json.NewDecoder(r.Body).Decode(&req) != nil {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":{"message":"bad request","type":"invalid_request_error"}}`))
			return
		}
		calls.Add(1)
		in, _ := req.Input.(string)
		vec := make([]float64, bagOfWordsDims)
		words := strings.FieldsFunc(strings.ToLower(in), func(r rune) bool { return !('a' <= r && r <= 'z' || '0' <= r && r <= '9') })
		for _, w := range words {
			h := fnv.New32a()
			_, _ = h.Write([]byte(w))
			vec[h.Sum32()%bagOfWordsDims]++
		}
		var n float64
		for _, x := range vec {
			n += x * x
		}
		for i := range vec {
			vec[i] /= math.Sqrt(n)
		}
		w.Header().Set("content-type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"object": "list", "model": req.Model,
			"data":  []any{map[string]any{"object": "embedding", "index": 0, "embedding": vec}},
			"usage": map[string]any{"prompt_tokens": len(words), "total_tokens": len(words)}})
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &calls
}

// semanticChat sends a chat request and returns its content, the
// x-litellm-cache-key and x-litellm-semantic-similarity headers.
func semanticChat(t *testing.T, c openai.Client, model, prompt string) (content, key string, sim float64) {
	t.Helper()
	var raw *http.Response
	resp, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompt)},
	}, option.WithResponseInto(&raw))
	if err != nil {
		t.Fatalf("chat %q: %v", prompt, err)
	}
	h := raw.Header.Get("x-litellm-semantic-similarity")
	if h == "" {
		t.Fatalf("chat %q: no x-litellm-semantic-similarity header", prompt)
	}
	sim, err = strconv.ParseFloat(h, 64)
	if err != nil {
		t.Fatalf("x-litellm-semantic-similarity %q: %v", h, err)
	}
	return resp.Choices[0].Message.Content, raw.Header.Get("x-litellm-cache-key"), sim
}

// TestResponseCacheQdrantSemantic (D138): cache_params type
// qdrant-semantic through the real Envoy with openai-go, a fake Qdrant
// speaking its REST API and a bag-of-words embedding model in the
// model_list: the collection is made as LiteLLM makes it; an answer is
// stored as a point; a prompt near it (similarity above the threshold) is
// answered from the cache without a provider call, one far from it (below)
// goes to the provider; another model group never takes the entry.
func TestResponseCacheQdrantSemantic(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	embedURL, embedCalls := startBagOfWords(t)
	qd := fakeqdrant.Start(t, "qdrant-secret")
	cfg := fmt.Sprintf(`
model_list:
  - model_name: cached
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/cached/v1, api_key: k}
  - model_name: other
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/other/v1, api_key: k}
  - model_name: cache-embedding
    litellm_params: {model: openai/text-embedding-3-small, api_base: %[2]s/v1, api_key: k}
    model_info: {mode: embedding}
litellm_settings:
  cache: true
  cache_params:
    type: qdrant-semantic
    qdrant_api_base: %[3]s
    qdrant_api_key: os.environ/QDRANT_TEST_KEY
    qdrant_collection_name: llm-semantic
    qdrant_quantization_config: scalar
    qdrant_semantic_cache_embedding_model: cache-embedding
    qdrant_semantic_cache_vector_size: %[5]d
    similarity_threshold: 0.8
general_settings:
  master_key: %[4]s
`, fake.URL(), embedURL, qd.URL, master, bagOfWordsDims)
	g := startGateway(t, cfg, "QDRANT_TEST_KEY=qdrant-secret")
	c := newClient(g, master)

	const stored = "What is the capital of France"
	content, key, sim := semanticChat(t, c, "cached", stored)
	if key != "" || sim != 0 {
		t.Fatalf("first request: key %q, similarity %g (want a miss, 0: nothing stored)", key, sim)
	}
	if size, dist, quant, ok := qd.Collection("llm-semantic"); !ok || size != bagOfWordsDims || dist != "Cosine" || !strings.Contains(string(quant), `"scalar"`) {
		t.Errorf("collection: made %v, size %d, distance %q, quantization %s", ok, size, dist, quant)
	}
	// The store is off the request path: wait for the point.
	for deadline := time.Now().Add(10 * time.Second); len(qd.Points("llm-semantic")) == 0 && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	pts := qd.Points("llm-semantic")
	if len(pts) != 1 || pts[0]["text"] != stored || pts[0]["model_group"] != "cached" || !strings.Contains(fmt.Sprint(pts[0]["response"]), content) {
		t.Fatalf("points after the miss: %v", pts)
	}

	t.Run("same prompt hits", func(t *testing.T) {
		got, key, sim := semanticChat(t, c, "cached", stored)
		if !cacheKeyHeader.MatchString(key) || got != content || math.Abs(sim-1) > 1e-6 {
			t.Errorf("key %q, similarity %g, %q (want a hit at 1 with %q)", key, sim, got, content)
		}
	})
	t.Run("a near prompt hits above the threshold", func(t *testing.T) {
		got, key, sim := semanticChat(t, c, "cached", "Tell me: what is the capital of France?")
		if key == "" || got != content || sim < 0.8 || sim >= 0.999 {
			t.Errorf("key %q, similarity %g, %q (want a hit in [0.8, 1) with %q)", key, sim, got, content)
		}
	})
	t.Run("a far prompt misses below the threshold", func(t *testing.T) {
		got, key, sim := semanticChat(t, c, "cached", "How do I bake sourdough bread at home")
		if key != "" || got == content || sim >= 0.8 {
			t.Errorf("key %q, similarity %g, %q (want a miss below 0.8)", key, sim, got)
		}
	})
	if n := fake.Count("/cached/"); n != 2 {
		t.Errorf("the chat provider was called %d times, want 2 (the first prompt and the far one)", n)
	}
	// Every lookup embedded its prompt once through the model_list.
	if n := embedCalls.Load(); n != 4 {
		t.Errorf("the embedding model was called %d times, want 4 (one per lookup)", n)
	}

	t.Run("no-cache skips the lookup and stores", func(t *testing.T) {
		const prompt = "Which river flows through Paris"
		before := fake.Count("/cached/")
		var raw *http.Response
		_, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
			Model: "cached", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompt)},
		}, option.WithJSONSet("cache", map[string]any{"no-cache": true}), option.WithResponseInto(&raw))
		if err != nil || raw.Header.Get("x-litellm-cache-key") != "" || fake.Count("/cached/") != before+1 {
			t.Fatalf("no-cache: %v, key %q, %d provider calls", err, raw.Header.Get("x-litellm-cache-key"), fake.Count("/cached/")-before)
		}
		// Its answer is stored (embedded when written): the next plain
		// request hits it.
		for deadline := time.Now().Add(10 * time.Second); len(qd.Points("llm-semantic")) < 3 && time.Now().Before(deadline); {
			time.Sleep(50 * time.Millisecond)
		}
		if _, key, sim := semanticChat(t, c, "cached", prompt); key == "" || math.Abs(sim-1) > 1e-6 {
			t.Errorf("after a no-cache request: key %q, similarity %g (want its stored answer)", key, sim)
		}
	})
	t.Run("another model group misses", func(t *testing.T) {
		_, key, _ := semanticChat(t, c, "other", stored)
		if key != "" || fake.Count("/other/") != 1 {
			t.Errorf("group other took group cached's entry: key %q, %d calls to its provider", key, fake.Count("/other/"))
		}
	})
	if code, _, body := do(t, "GET", g.URL+"/cache/ping", master, ""); code != 200 || !strings.Contains(string(body), `"collection_name":"llm-semantic"`) ||
		strings.Contains(string(body), "qdrant-secret") {
		t.Errorf("/cache/ping (the collection, never the key): %d %s", code, body)
	}
	for _, r := range qd.Requests() {
		if strings.Contains(r, "/points/search") {
			return
		}
	}
	t.Errorf("no search reached Qdrant: %v", qd.Requests())
}
