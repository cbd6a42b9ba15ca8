package e2e

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestResponseCacheEmbeddings: embeddings cached as LiteLLM caches them,
// each input of a list under its own key, through the real Envoy with
// openai-go: a repeated list is a hit (no provider call, the same vectors);
// the same inputs in another order hit with each vector at its input's
// index; a single string hits the entry its list stored; a list with an
// input not cached calls the provider, after which that input hits too.
// supported_call_types without embedding caches none.
func TestResponseCacheEmbeddings(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, cacheConfig(fake.URL(), "    type: local"))
	c := newClient(g, master)
	embed := func(inputs ...string) (vecs [][]float64, key string) {
		t.Helper()
		var raw *http.Response
		in := openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: inputs}
		if len(inputs) == 1 {
			in = openai.EmbeddingNewParamsInputUnion{OfString: openai.String(inputs[0])}
		}
		resp, err := c.Embeddings.New(context.Background(), openai.EmbeddingNewParams{Model: "cached", Input: in}, option.WithResponseInto(&raw))
		if err != nil {
			t.Fatalf("embeddings %v: %v", inputs, err)
		}
		if len(resp.Data) != len(inputs) {
			t.Fatalf("embeddings %v: %d vectors", inputs, len(resp.Data))
		}
		vecs = make([][]float64, len(inputs))
		for _, d := range resp.Data {
			if d.Index < 0 || int(d.Index) >= len(inputs) || len(d.Embedding) == 0 {
				t.Fatalf("embeddings %v: item %+v", inputs, d)
			}
			vecs[d.Index] = d.Embedding
		}
		return vecs, raw.Header.Get("x-litellm-cache-key")
	}
	calls := func() int64 { return fake.Count("/cached/") }

	first, key := embed("alpha", "beta")
	if key != "" || calls() != 1 {
		t.Fatalf("first list: key %q, %d provider calls", key, calls())
	}
	again, key := embed("alpha", "beta")
	if key == "" || calls() != 1 || !slices.Equal(again[0], first[0]) || !slices.Equal(again[1], first[1]) {
		t.Errorf("repeated list: key %q, %d provider calls, same vectors %v", key, calls(), slices.Equal(again[0], first[0]))
	}
	swapped, key := embed("beta", "alpha")
	if key == "" || calls() != 1 || !slices.Equal(swapped[0], first[1]) || !slices.Equal(swapped[1], first[0]) {
		t.Errorf("inputs in another order: key %q, %d provider calls; want each input's vector at its index", key, calls())
	}
	one, key := embed("beta")
	if key == "" || calls() != 1 || !slices.Equal(one[0], first[1]) {
		t.Errorf("one string of the list: key %q, %d provider calls", key, calls())
	}
	if _, key = embed("alpha", "gamma"); key != "" || calls() != 2 {
		t.Errorf("a list with an input not cached: key %q, %d provider calls (want a miss, 2)", key, calls())
	}
	if _, key = embed("gamma"); key == "" || calls() != 2 {
		t.Errorf("the partly cached list's new input: key %q, %d provider calls (want a hit)", key, calls())
	}

	g2 := startGateway(t, cacheConfig(fake.URL(), "    type: local\n    supported_call_types: [acompletion, completion]"))
	c = newClient(g2, master)
	fake.Reset()
	embed("alpha")
	if _, key = embed("alpha"); key != "" || calls() != 2 {
		t.Errorf("embeddings not in supported_call_types: key %q, %d provider calls", key, calls())
	}
}

// TestResponseCacheCachingGroups: router_settings.caching_groups, through
// the real Envoy with openai-go: an answer stored for one model group of a
// caching group is a hit for the other (its provider not called); without
// the caching group the other group misses.
func TestResponseCacheCachingGroups(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	for _, grouped := range []bool{true, false} {
		cfg := cacheConfig(fake.URL(), "    type: local")
		if grouped {
			cfg += "router_settings:\n  caching_groups: [[cached, cached-alias-target]]\n"
		}
		g := startGateway(t, cfg)
		c := newClient(g, master)
		fake.Reset()
		content, _, _ := cachedChat(t, c, "cached", "shared by the group")
		content2, _, key := cachedChat(t, c, "cached-alias-target", "shared by the group")
		other := fake.Count("/other/")
		if grouped && (key == "" || content2 != content || other != 0) {
			t.Errorf("caching_groups: the other group's request: key %q, %q vs %q, %d calls to its provider", key, content2, content, other)
		}
		if !grouped && (key != "" || other != 1) {
			t.Errorf("no caching_groups: the other group hit (key %q, %d calls to its provider)", key, other)
		}
	}
}
