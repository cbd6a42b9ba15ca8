package extproc

import (
	"context"
	"os"
	"strconv"
	"strings"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"github.com/tidwall/gjson"

	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/model"
	"github.com/llmgate/llmgate/internal/outcome"
	"github.com/llmgate/llmgate/internal/respcache"
	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
	"github.com/llmgate/llmgate/translator"
)

// LiteLLM's response cache in the request path (docs/architecture.md D111).
// A config with litellm_settings.cache never takes the module (module.go)
// nor the fast path: the request filter decides (internal/respcache), looks
// the key up and answers a hit itself, without a try; on a miss it hands
// the decision to the attempt filter in llmgate.ctx ("cache"), which sees
// the successful answer whole (a stream chunk by chunk) and stores it off
// the request path.

// cacheMetadataKey is llmgate.ctx's field with a miss's decision for the
// attempt filter: "<ttl ms>:<cache key>".
const cacheMetadataKey = "cache"

// cacheHitTimeout bounds the lookup (a Redis that does not answer is a miss).
const cacheHitTimeout = time.Second

// semanticLookupTimeout bounds a semantic lookup: the prompt's embedding
// through the model_list, then Qdrant's search.
const semanticLookupTimeout = 10 * time.Second

// semanticSimilarityHeader is LiteLLM's header with a semantic lookup's
// nearest similarity.
const semanticSimilarityHeader = "x-litellm-semantic-similarity"

// responseCache is the config's response cache (nil: none, or a type not
// served). It is opened on first use: the module's copy of the state never
// opens one (it hands cached configs on).
func (st *State) responseCache() *respcache.Cache {
	st.respCacheOnce.Do(func() {
		r := st.Cfg.Router
		p, ok := respcache.ParamsOf(st.Cfg, [4]string{r.RedisHost, r.RedisPort, r.RedisPassword, r.RedisURL})
		if !ok {
			return
		}
		if p.Type == "redis" && p.URL == "" && st.Cfg.LiteLLM.CacheParams.Host == "" && r.RedisHost == "" {
			p.URL = os.Getenv("REDIS_URL")
			if p.URL != "" {
				p.Addr = ""
			}
		}
		c, err := respcache.Shared(p, st.log)
		if err != nil {
			st.log.Error("response cache not opened; requests are not cached", "error", err.Error())
			return
		}
		st.respCache = c
	})
	return st.respCache
}

// cacheLookup decides for a request the request filter planned and answers
// a hit (reply != nil, the outcome published); on a miss store is the
// decision for the attempt filter ("": nothing to store).
func (s *Server) cacheLookup(st *State, rt route, ctx *llmgatev1.RequestContext, body []byte, first *model.Deployment, start time.Time) (reply *extprocv3.ProcessingResponse, store string) {
	c := st.responseCache()
	if c == nil {
		return nil, ""
	}
	ep := ""
	switch rt.endpoint {
	case translator.Chat:
		ep = respcache.Chat
	case translator.Completions:
		ep = respcache.Completions
	case translator.Embeddings:
		ep = respcache.Embeddings
	}
	d, ok := c.Decide(ep, respcache.CachingGroup(st.Cfg.Router.CachingGroups, ctx.ModelGroup), body)
	if !ok {
		return nil, ""
	}
	if d.Keys != nil {
		return s.embeddingsLookup(c, d, ctx, first, start)
	}
	timeout := cacheHitTimeout
	if c.Semantic() {
		st.respCacheEmbed.Do(func() { c.SetEmbedder(s.selfEmbedder(st)) })
		timeout = semanticLookupTimeout
	}
	cctx, cancel := context.WithTimeout(context.Background(), timeout)
	e, hit := c.Get(cctx, d)
	cancel()
	if e.Semantic {
		// LiteLLM's header of a semantic lookup, hit or miss.
		if ctx.ResponseHeaders == nil {
			ctx.ResponseHeaders = map[string]string{}
		}
		ctx.ResponseHeaders[semanticSimilarityHeader] = strconv.FormatFloat(e.Similarity, 'f', -1, 64)
	}
	if hit && e.Stream == ctx.Stream {
		return s.cacheHit(ctx, d.Key, e, first, start), ""
	}
	if !d.Store {
		return nil, ""
	}
	return nil, strconv.FormatInt(d.TTL.Milliseconds(), 10) + ":" + d.Key
}

// embeddingsLookup looks each input of an embeddings list up, as LiteLLM
// does: every input found is a hit (its answer assembled from the stored
// embeddings); otherwise the provider answers the whole list and each
// input's embedding is stored under its own key (LiteLLM asks the provider
// for the missing inputs only).
func (s *Server) embeddingsLookup(c *respcache.Cache, d respcache.Decision, ctx *llmgatev1.RequestContext, first *model.Deployment, start time.Time) (*extprocv3.ProcessingResponse, string) {
	cctx, cancel := context.WithTimeout(context.Background(), cacheHitTimeout)
	es, n := c.GetEach(cctx, d)
	cancel()
	if n == len(d.Keys) {
		b := make([]byte, 0, 64+len(es)*256)
		b = append(b, `{"object":"list","data":[`...)
		for i, e := range es {
			emb := gjson.GetBytes(e.Body, "embedding")
			if !emb.Exists() {
				emb = gjson.GetBytes(e.Body, "data.0.embedding") // stored whole (one input)
			}
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"object":"embedding","index":`...)
			b = strconv.AppendInt(b, int64(i), 10)
			b = append(b, `,"embedding":`...)
			b = append(b, emb.Raw...)
			b = append(b, '}')
		}
		b = append(b, `],"model":`...)
		b = strconv.AppendQuote(b, ctx.RequestedModel)
		b = append(b, `,"usage":{"prompt_tokens":0,"total_tokens":0}}`...)
		return s.cacheHit(ctx, d.Keys[0], respcache.Entry{Body: b}, first, start), ""
	}
	if !d.Store {
		return nil, ""
	}
	return nil, strconv.FormatInt(d.TTL.Milliseconds(), 10) + ":\n" + strings.Join(d.Keys, "\n")
}

// cacheHit answers a hit as LiteLLM does: the stored answer (a stream's
// events replayed as a stream), the x-litellm-cache-key header, a cost of
// 0; its outcome carries cache_hit.
func (s *Server) cacheHit(ctx *llmgatev1.RequestContext, key string, e respcache.Entry, first *model.Deployment, start time.Time) *extprocv3.ProcessingResponse {
	body := e.Body
	headers := map[string]string{
		"x-litellm-call-id":           ctx.CallId,
		"x-litellm-model-group":       ctx.RequestedModel,
		"x-litellm-cache-key":         key,
		"x-litellm-response-cost":     "0",
		"x-litellm-attempted-retries": "0",
	}
	if first != nil {
		headers["x-litellm-model-id"] = first.ID
	}
	ct := "application/json"
	if e.Stream {
		ct = "text/event-stream"
		headers["cache-control"] = "no-cache"
	} else if ctx.RequestedModel != "" {
		body = translator.SetResponseModel(body, ctx.RequestedModel)
	}
	for k, v := range ctx.ResponseHeaders {
		headers[k] = v
	}
	if s.Outcomes.Active() {
		s.Outcomes.Publish(hitOutcome(ctx, key, body, e.Stream, first, start, s.now()))
	}
	return immediate(200, ct, body, headers, "llmgate_cache_hit")
}

// hitOutcome is the bus event of a cache hit: an answer sent without a try,
// at no cost, with the tokens the cached answer reports.
func hitOutcome(ctx *llmgatev1.RequestContext, key string, body []byte, stream bool, first *model.Deployment, start, now time.Time) outcome.Try {
	ev := outcome.Try{
		CallID:         ctx.CallId,
		ModelGroup:     ctx.ModelGroup,
		RequestedModel: ctx.RequestedModel,
		Endpoint:       endpointFromProto(ctx.Endpoint).String(),
		Route:          routeOf(ctx.OriginalPath),
		KeyHash:        ctx.KeyHash,
		KeyAlias:       ctx.KeyAlias,
		TeamID:         ctx.TeamId,
		UserID:         ctx.UserId,
		EndUser:        ctx.EndUser,
		Status:         200,
		Stream:         stream,
		CostKnown:      true,
		Start:          start,
		End:            now,
		Overhead:       now.Sub(start),
		Answer:         outcome.AnswerSent,
		Traceparent:    ctx.Traceparent,
		Tags:           ctx.Tags,
		UserAgent:      ctx.UserAgent,
		MetadataLabels: ctx.MetadataLabels,
		CacheHit:       true,
		CacheKey:       key,
	}
	if first != nil {
		ev.DeploymentID, ev.Model, ev.Provider = first.ID, first.Model, first.Provider
		ev.LateTags = ctx.LateTags
		if len(first.Tags) > 0 {
			ev.LateTags = append(ctx.LateTags[:len(ctx.LateTags):len(ctx.LateTags)], first.Tags...)
		}
	}
	usage := gjson.GetBytes(body, "usage")
	if stream {
		usage = streamUsage(body)
	}
	ev.PromptTokens = int(usage.Get("prompt_tokens").Int())
	ev.CompletionTokens = int(usage.Get("completion_tokens").Int())
	ev.TotalTokens = int(usage.Get("total_tokens").Int())
	if ev.TotalTokens == 0 {
		ev.TotalTokens = ev.PromptTokens + ev.CompletionTokens
	}
	return ev
}

// streamUsage is the usage of a stored stream (its last event with one).
func streamUsage(sse []byte) gjson.Result {
	var u gjson.Result
	for _, line := range strings.Split(string(sse), "\n") {
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok || data == "[DONE]" {
			continue
		}
		if r := gjson.Get(data, "usage"); r.IsObject() {
			u = r
		}
	}
	return u
}

// cacheStore is a miss's decision as the attempt filter reads it.
type cacheStore struct {
	key string
	// keys are an embeddings list's keys, one per input (key is then "").
	keys []string
	ttl  time.Duration
	// body gathers a stream's events (nil until the first).
	body []byte
	over bool // the stream outgrew maxCachedStream: not stored
}

// maxCachedStream bounds the stream events gathered for the cache.
const maxCachedStream = 4 << 20

// cacheStoreOf reads the decision from the try's metadata (nil: none).
func cacheStoreOf(msg *extprocv3.ProcessingRequest) *cacheStore {
	ns := msg.GetMetadataContext().GetFilterMetadata()[contract.ContextMetadataNamespace]
	v := ns.GetFields()[cacheMetadataKey].GetStringValue()
	ms, key, ok := strings.Cut(v, ":")
	if !ok || key == "" {
		return nil
	}
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil || n < 0 {
		return nil
	}
	cs := &cacheStore{key: key, ttl: time.Duration(n) * time.Millisecond}
	if ks, ok := strings.CutPrefix(key, "\n"); ok {
		cs.key, cs.keys = "", strings.Split(ks, "\n")
	}
	return cs
}

// gather adds a stream's events.
func (c *cacheStore) gather(out []byte) {
	if c.over {
		return
	}
	if len(c.body)+len(out) > maxCachedStream {
		c.over, c.body = true, nil
		return
	}
	c.body = append(c.body, out...)
}

// put stores a successful answer (off the request path: respcache.Put).
func (t *try) cachePut(stream bool, body []byte) {
	c := t.st.responseCache()
	if c == nil || t.cache == nil || len(body) == 0 {
		return
	}
	if t.cache.keys == nil {
		c.Put(respcache.Decision{Key: t.cache.key, TTL: t.cache.ttl, Store: true}, stream, body)
		return
	}
	// An embeddings list: each input's embedding under its own key.
	for i, item := range gjson.GetBytes(body, "data").Array() {
		idx := i
		if x := item.Get("index"); x.Type == gjson.Number {
			idx = int(x.Int())
		}
		if idx >= 0 && idx < len(t.cache.keys) && item.IsObject() {
			c.Put(respcache.Decision{Key: t.cache.keys[idx], TTL: t.cache.ttl, Store: true}, false, []byte(item.Raw))
		}
	}
}
