package respcache

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidwall/gjson"

	"github.com/llmgate/llmgate/config"
)

// The qdrant-semantic cache (LiteLLM's QdrantSemanticCache): a chat
// request's prompt (its messages' contents joined) is embedded through the
// model_list's qdrant_semantic_cache_embedding_model, and the nearest stored
// prompt (cosine) answers when its similarity is at least
// similarity_threshold. Each stored answer is one point: the prompt's
// vector, and the payload {"text": prompt, "response": the entry's JSON}.
//
// Differences from LiteLLM, each on purpose: the point's payload also has
// the model group (the caching group) and the search matches it, where
// LiteLLM answers any model's request with the nearest prompt of any other;
// the point's id is derived from the cache key (a repeat overwrites its
// point instead of adding one); the entry keeps its ttl (LiteLLM's never
// expire); and the vector computed by a miss's lookup is kept for its store
// (LiteLLM embeds the prompt again when it stores; a no-cache request, which
// is not looked up, embeds when its answer is written).

// Embedder embeds one text through the model group model (the gateway's
// own listener).
type Embedder func(ctx context.Context, model, text string) ([]float64, error)

// qdrantTimeout bounds one call to Qdrant.
const qdrantTimeout = 2 * time.Second

// maxPending bounds the vectors kept from lookups for their stores.
const maxPending = 4096

// pendingTTL is how long a lookup's vector waits for its store.
const pendingTTL = 10 * time.Minute

// maxQdrantBody bounds a Qdrant answer read.
const maxQdrantBody = 64 << 20

// scalarQuantile is LiteLLM's QDRANT_SCALAR_QUANTILE.
const scalarQuantile = 0.99

type qdrantBackend struct {
	q    config.QdrantCache
	base string // api base + /collections/<name>
	hc   *http.Client

	// embed is the cache's embedder (a store whose lookup did not embed:
	// no-cache).
	embed *atomic.Pointer[Embedder]

	mu      sync.Mutex
	ready   bool // the collection exists (made when it did not)
	pending map[string]pendingPoint
}

type pendingPoint struct {
	vec           []float64
	prompt, group string
	at            time.Time
}

func newQdrant(q config.QdrantCache) *qdrantBackend {
	return &qdrantBackend{q: q, base: q.APIBase + "/collections/" + url.PathEscape(q.Collection),
		hc: &http.Client{Timeout: qdrantTimeout}, pending: map[string]pendingPoint{}}
}

// call sends one request to Qdrant and returns its "result".
func (b *qdrantBackend) call(ctx context.Context, method, path string, body any) (gjson.Result, int, error) {
	var rd io.Reader
	if body != nil {
		bs, err := json.Marshal(body)
		if err != nil {
			return gjson.Result{}, 0, err
		}
		rd = bytes.NewReader(bs)
	}
	ctx, cancel := context.WithTimeout(ctx, qdrantTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, b.base+path, rd)
	if err != nil {
		return gjson.Result{}, 0, err
	}
	req.Header.Set("content-type", "application/json")
	if b.q.APIKey != "" {
		req.Header.Set("api-key", b.q.APIKey)
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		return gjson.Result{}, 0, errors.New("qdrant: " + redactURL(err.Error(), b.q.APIBase))
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, maxQdrantBody))
	if err != nil {
		return gjson.Result{}, resp.StatusCode, err
	}
	if resp.StatusCode/100 != 2 {
		msg := gjson.GetBytes(out, "status.error").String()
		if msg == "" {
			msg = resp.Status
		}
		return gjson.Result{}, resp.StatusCode, fmt.Errorf("qdrant %s %s: %d %s", method, path, resp.StatusCode, msg)
	}
	return gjson.GetBytes(out, "result"), resp.StatusCode, nil
}

// redactURL keeps an error from quoting Qdrant's URL (it may carry
// credentials in its user info).
func redactURL(msg, base string) string {
	if u, err := url.Parse(base); err == nil && u.User != nil {
		return strings.ReplaceAll(msg, base, u.Scheme+"://"+u.Host)
	}
	return msg
}

// ensure makes the collection when it does not exist, as LiteLLM's
// constructor does (cosine, the configured size and quantization).
func (b *qdrantBackend) ensure(ctx context.Context) error {
	b.mu.Lock()
	ready := b.ready
	b.mu.Unlock()
	if ready {
		return nil
	}
	r, _, err := b.call(ctx, http.MethodGet, "/exists", nil)
	if err != nil {
		return err
	}
	if !r.Get("exists").Bool() {
		var quant map[string]any
		switch b.q.Quantization {
		case "scalar":
			quant = map[string]any{"scalar": map[string]any{"type": "int8", "quantile": scalarQuantile, "always_ram": false}}
		case "product":
			quant = map[string]any{"product": map[string]any{"compression": "x16", "always_ram": false}}
		default:
			quant = map[string]any{"binary": map[string]any{"always_ram": false}}
		}
		_, code, err := b.call(ctx, http.MethodPut, "", map[string]any{
			"vectors":             map[string]any{"size": b.q.VectorSize, "distance": "Cosine"},
			"quantization_config": quant,
		})
		if err != nil && code != http.StatusConflict { // another instance made it meanwhile
			return err
		}
	}
	b.mu.Lock()
	b.ready = true
	b.mu.Unlock()
	return nil
}

// search returns the nearest stored entry of group to vec, its similarity
// (0 when none), and remembers vec for key's store.
func (b *qdrantBackend) search(ctx context.Context, key, prompt, group string, vec []float64, now time.Time) (Entry, float64, bool, error) {
	b.remember(key, pendingPoint{vec: vec, prompt: prompt, group: group, at: now})
	if err := b.ensure(ctx); err != nil {
		return Entry{}, 0, false, err
	}
	r, _, err := b.call(ctx, http.MethodPost, "/points/search", map[string]any{
		"vector": vec,
		"filter": map[string]any{"must": []any{map[string]any{"key": "model_group", "match": map[string]any{"value": group}}}},
		"params": map[string]any{"quantization": map[string]any{"ignore": false, "rescore": true, "oversampling": 3.0}},
		"limit":  1, "with_payload": true,
	})
	if err != nil {
		if strings.Contains(err.Error(), ": 404 ") {
			b.mu.Lock()
			b.ready = false // removed behind us: made again next time
			b.mu.Unlock()
		}
		return Entry{}, 0, false, err
	}
	first := r.Get("0")
	if !first.Exists() {
		return Entry{}, 0, false, nil
	}
	score := first.Get("score").Float()
	if score < b.q.Threshold {
		return Entry{}, score, false, nil
	}
	e, ok := decodeFileStored([]byte(first.Get("payload.response").String()), now)
	return e, score, ok, nil
}

func (b *qdrantBackend) remember(key string, p pendingPoint) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.pending) >= maxPending {
		for k, q := range b.pending {
			if p.at.Sub(q.at) > pendingTTL {
				delete(b.pending, k)
			}
		}
		if len(b.pending) >= maxPending {
			return // full of recent lookups: this one's answer is not stored
		}
	}
	b.pending[key] = p
}

// pointID is the point id of a cache key: its sha256 as a UUID.
func pointID(key string) string {
	h := sha256.Sum256([]byte(key))
	s := hex.EncodeToString(h[:16])
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

func (b *qdrantBackend) get(context.Context, string) (Entry, bool, error) {
	return Entry{}, false, errors.New("qdrant-semantic: looked up by prompt")
}

func (b *qdrantBackend) getMany(context.Context, []string) ([]Entry, error) {
	return nil, errors.New("qdrant-semantic: looked up by prompt")
}

// set stores the answer of a lookup that missed, under its vector (a key
// without a lookup's vector is not stored).
func (b *qdrantBackend) set(ctx context.Context, key string, e Entry, ttl time.Duration) error {
	b.mu.Lock()
	p, ok := b.pending[key]
	delete(b.pending, key)
	b.mu.Unlock()
	if !ok {
		return nil
	}
	if p.vec == nil {
		var embed *Embedder
		if b.embed != nil {
			embed = b.embed.Load()
		}
		if embed == nil {
			return nil
		}
		vec, err := (*embed)(ctx, b.q.EmbeddingModel, p.prompt)
		if err != nil {
			return err
		}
		p.vec = vec
	}
	if err := b.ensure(ctx); err != nil {
		return err
	}
	body, err := encodeFileStored(key, e, ttl)
	if err != nil {
		return err
	}
	_, _, err = b.call(ctx, http.MethodPut, "/points?wait=true", map[string]any{"points": []any{map[string]any{
		"id": pointID(key), "vector": p.vec,
		"payload": map[string]any{"text": p.prompt, "response": string(body), "model_group": p.group, "cache_key": key},
	}}})
	return err
}

func (b *qdrantBackend) del(ctx context.Context, keys []string) (int, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = pointID(k)
	}
	if _, _, err := b.call(ctx, http.MethodPost, "/points/delete?wait=true", map[string]any{"points": ids}); err != nil {
		return 0, err
	}
	return len(keys), nil
}

// flush drops the collection (made again on the next use): it is the
// cache's own.
func (b *qdrantBackend) flush(ctx context.Context) (int, error) {
	if _, _, err := b.call(ctx, http.MethodDelete, "", nil); err != nil {
		return 0, err
	}
	b.mu.Lock()
	b.ready = false
	b.mu.Unlock()
	return 0, nil
}

func (b *qdrantBackend) ping(ctx context.Context) error { return b.ensure(ctx) }

func (b *qdrantBackend) close() error { return nil }

// Prompt is the text LiteLLM's semantic caches embed for a chat request:
// its messages' contents joined without a separator; false when a content
// is not a string (LiteLLM's join fails and the request is not cached).
func Prompt(body []byte) (string, bool) {
	var b strings.Builder
	ok := true
	msgs := gjson.GetBytes(body, "messages")
	if !msgs.IsArray() {
		return "", false
	}
	msgs.ForEach(func(_, m gjson.Result) bool {
		c := m.Get("content")
		if c.Type != gjson.String {
			ok = false
			return false
		}
		b.WriteString(c.Str)
		return true
	})
	return b.String(), ok && b.Len() > 0
}
