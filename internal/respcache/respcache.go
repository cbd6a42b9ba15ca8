package respcache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidwall/gjson"

	"github.com/llmgate/llmgate/config"
)

// Params are the cache's settings: cache_params as the config resolved them
// (REDIS_* variables included), with the router's Redis as the last resort
// for type redis. Comparable: equal params share one Cache (Shared).
type Params struct {
	Type      string // "local" or "redis"
	Addr      string // host:port (redis)
	URL       string // redis:// URL, when that is how the Redis was named
	Password  string // secret; never logged
	Namespace string
	TTL       time.Duration // 0: the backend's default (local 600 s, redis none)
	DefaultOn bool          // mode default_on (else a request opts in with use-cache)
	CallTypes string        // supported_call_types, joined by ","
	// Cluster are a Redis Cluster's startup nodes (host:port, joined by
	// ","); Sentinels the sentinels' (with Service the master's name and
	// SentinelPassword theirs). Either replaces Addr and URL.
	Cluster, Sentinels, Service, SentinelPassword string
	// S3 is type s3's bucket and credentials; DiskDir type disk's
	// directory; Qdrant type qdrant-semantic's settings.
	S3      config.S3Cache
	DiskDir string
	Qdrant  config.QdrantCache
	// GCS is type gcs's bucket, folder and service account.
	GCS config.GCSCache
}

// ParamsOf reads a config's cache settings; ok is false when the config has
// no cache (litellm_settings.cache unset or false) or a type this package
// does not serve. router are the router's Redis settings (host, port,
// password, url), used when cache_params names no Redis.
func ParamsOf(cfg *config.Config, router [4]string) (Params, bool) {
	ls := &cfg.LiteLLM
	if !ls.Cache {
		return Params{}, false
	}
	cp := &ls.CacheParams
	p := Params{Type: cp.Type, Password: cp.Password, Namespace: cp.Namespace, TTL: cp.TTL,
		DefaultOn: cp.Mode != "default_off", CallTypes: strings.Join(cp.SupportedCallTypes, ",")}
	switch cp.Type {
	case "", "local":
		p.Type = "local"
		p.Password = ""
	case "redis":
		if len(cp.StartupNodes) > 0 {
			// LiteLLM: redis_startup_nodes make a RedisClusterCache.
			p.Cluster = strings.Join(cp.StartupNodes, ",")
			return p, true
		}
		if len(cp.SentinelNodes) > 0 && cp.ServiceName != "" {
			p.Sentinels, p.Service, p.SentinelPassword = strings.Join(cp.SentinelNodes, ","), cp.ServiceName, cp.SentinelPassword
			if p.Password == "" {
				p.Password = cp.SentinelPassword // LiteLLM's master auth falls back to it
			}
			return p, true
		}
		host, port := cp.Host, cp.Port
		if host == "" {
			host, port, p.Password, p.URL = router[0], router[1], router[2], router[3]
		}
		if port == "" {
			port = "6379"
		}
		if host != "" {
			p.Addr = net.JoinHostPort(host, port)
		}
		if p.Addr == "" && p.URL == "" {
			p.Addr = "127.0.0.1:6379" // LiteLLM's redis client's default
		}
	case "s3":
		p.Password, p.S3 = "", cp.S3
	case "disk":
		p.Password, p.DiskDir = "", cp.DiskDir
	case "gcs":
		p.Password, p.GCS = "", cp.GCS
	case "qdrant-semantic":
		p.Password, p.Qdrant = "", cp.Qdrant
	default:
		return Params{}, false // accepted with a warning, not served (config.cacheParams)
	}
	return p, true
}

// Entry is a stored answer: the client's body as it was sent (a stream's
// whole SSE body for a streamed answer), and when it was stored.
type Entry struct {
	Stream bool
	Body   []byte
	Stored time.Time
	// Similarity is a semantic lookup's nearest stored prompt's cosine
	// similarity (a miss's too: Semantic tells it was looked up).
	Similarity float64
	Semantic   bool
}

// backend keeps the entries.
type backend interface {
	get(ctx context.Context, key string) (Entry, bool, error)
	// getMany: an entry per key (a zero Entry where none).
	getMany(ctx context.Context, keys []string) ([]Entry, error)
	set(ctx context.Context, key string, e Entry, ttl time.Duration) error
	del(ctx context.Context, keys []string) (int, error)
	flush(ctx context.Context) (int, error)
	ping(ctx context.Context) error
	close() error
}

// Cache is one response cache. Safe for concurrent use.
type Cache struct {
	p     Params
	b     backend
	now   func() time.Time
	chat  bool // chat completions cached (completion / acompletion)
	text  bool // text completions cached (text_completion / atext_completion)
	embed bool // embeddings cached (embedding / aembedding), a list input by item
	log   *slog.Logger
	queue chan write // redis writes, off the request path
	done  chan struct{}
	// sem is the qdrant-semantic store (nil: an exact-key cache); embed
	// makes its vectors (SetEmbedder).
	sem      *qdrantBackend
	embedder atomic.Pointer[Embedder]

	mu      sync.Mutex
	failLog time.Time // the last logged backend failure
}

type write struct {
	key string
	e   Entry
	ttl time.Duration
}

// writeQueue bounds the writes waiting for Redis; a write that finds it
// full is dropped (the next miss stores the answer again).
const writeQueue = 1024

// writeTimeout bounds one queued write; semanticWriteTimeout one of a
// semantic cache (an embedding, then Qdrant's upsert).
const (
	writeTimeout         = 2 * time.Second
	semanticWriteTimeout = 10 * time.Second
)

// Open builds a cache for p. A Redis cache connects lazily.
func Open(p Params, log *slog.Logger) (*Cache, error) {
	return open(p, log, time.Now)
}

func open(p Params, log *slog.Logger, now func() time.Time) (*Cache, error) {
	if log == nil {
		log = slog.Default()
	}
	c := &Cache{p: p, now: now, log: log}
	for t := range strings.SplitSeq(p.CallTypes, ",") {
		switch t {
		case "completion", "acompletion":
			c.chat = true
		case "text_completion", "atext_completion":
			c.text = true
		case "embedding", "aembedding":
			c.embed = true
		}
	}
	switch p.Type {
	case "local":
		c.b = newLocal(now)
	case "redis":
		r, err := newRedis(p)
		if err != nil {
			return nil, err
		}
		c.b = r
	case "s3":
		c.b = newS3(p.S3)
	case "gcs":
		g, err := newGCS(p.GCS)
		if err != nil {
			return nil, err
		}
		c.b = g
	case "disk":
		d, err := newDisk(p.DiskDir, now)
		if err != nil {
			return nil, err
		}
		c.b = d
	case "qdrant-semantic":
		c.sem = newQdrant(p.Qdrant)
		c.sem.embed = &c.embedder
		c.b = c.sem
		// LiteLLM's semantic caches read a chat request's messages: other
		// call types fail their lookup (not cached).
		c.text, c.embed = false, false
	default:
		return nil, errors.New("cache type " + p.Type + " is not served")
	}
	if p.Type != "local" {
		// A store over the network or on disk: writes off the request path.
		c.queue = make(chan write, writeQueue)
		c.done = make(chan struct{})
		go c.writer()
	}
	return c, nil
}

var shared = struct {
	sync.Mutex
	m map[Params]*Cache
}{m: map[Params]*Cache{}}

// Shared is Open, once per Params in the process: a config reload that
// keeps the cache's settings keeps its entries (and its Redis client).
func Shared(p Params, log *slog.Logger) (*Cache, error) {
	shared.Lock()
	defer shared.Unlock()
	if c := shared.m[p]; c != nil {
		return c, nil
	}
	c, err := Open(p, log)
	if err != nil {
		return nil, err
	}
	shared.m[p] = c
	return c, nil
}

// SetEmbedder gives a semantic cache its embeddings (the model_list's
// embedding model through the gateway); without one it misses.
func (c *Cache) SetEmbedder(e Embedder) { c.embedder.Store(&e) }

// Semantic reports a qdrant-semantic cache.
func (c *Cache) Semantic() bool { return c.sem != nil }

// Type is cache_params.type ("local", "redis", "s3", "disk", "gcs" or
// "qdrant-semantic").
func (c *Cache) Type() string { return c.p.Type }

// Params are the cache's settings.
func (c *Cache) Params() Params { return c.p }

// Close stops the writer and closes the backend.
func (c *Cache) Close() error {
	if c.done != nil {
		close(c.done)
	}
	return c.b.close()
}

// Endpoint kinds Decide knows (the client's route).
const (
	Chat        = "chat"
	Completions = "completions"
	Embeddings  = "embeddings"
)

// maxEmbedInputs bounds the inputs of an embeddings request cached item by
// item (a longer list is not cached).
const maxEmbedInputs = 256

// Decision is what the cache does with one request.
type Decision struct {
	// Key is the cache key (the x-litellm-cache-key header of a hit).
	Key string
	// Keys are an embeddings request's keys, one per input of its list
	// (LiteLLM caches each input's embedding on its own; Key is then "").
	Keys []string
	// Read: look the key up (not "no-cache"); Store: store the answer (not
	// "no-store").
	Read, Store bool
	// TTL is the entry's time to live (0: the cache's, then the backend's
	// default); MaxAge rejects older entries ("s-maxage"; 0: none).
	TTL, MaxAge time.Duration
	// Prompt and Group are a semantic cache's: the text embedded and the
	// model group (caching group) the entry belongs to.
	Prompt, Group string
}

// Bounds of the body's cache controls (client-controlled numbers).
const (
	maxTTL       = 30 * 24 * time.Hour
	maxNamespace = 256
)

// Decide says what the cache does with a request to endpoint of model group
// group with this body; ok is false when the request is not cached at all
// (its call type is not in supported_call_types, the mode is default_off
// and the request did not opt in, or its cache controls are out of bounds).
func (c *Cache) Decide(endpoint, group string, body []byte) (Decision, bool) {
	switch endpoint {
	case Chat:
		if !c.chat {
			return Decision{}, false
		}
	case Completions:
		if !c.text {
			return Decision{}, false
		}
	case Embeddings:
		if !c.embed {
			return Decision{}, false
		}
	default:
		return Decision{}, false
	}
	ctl, ok := readControls(body)
	if !ok {
		return Decision{}, false
	}
	if !c.p.DefaultOn && !ctl.useCache {
		return Decision{}, false
	}
	ns := ctl.namespace
	if ns == "" {
		ns = c.p.Namespace
	}
	d := Decision{Read: !ctl.noCache, Store: !ctl.noStore, TTL: ctl.ttl, MaxAge: ctl.maxAge}
	if c.sem != nil {
		if d.Prompt, ok = Prompt(body); !ok {
			return Decision{}, false
		}
		d.Group = group
	}
	if in := gjson.GetBytes(body, "input"); endpoint == Embeddings && (in.IsArray() || in.Type == gjson.String) {
		// Each input on its own (one string: a list of one, under the
		// key LiteLLM gives the whole request).
		items := []gjson.Result{in}
		if in.IsArray() {
			items = in.Array()
		}
		if len(items) == 0 || len(items) > maxEmbedInputs {
			return Decision{}, false
		}
		d.Keys = make([]string, len(items))
		for i, it := range items {
			d.Keys[i] = key(group, body, ns, &it)
		}
	} else {
		d.Key = Key(group, body, ns)
	}
	if d.TTL == 0 {
		d.TTL = c.p.TTL
	}
	return d, true
}

// Get looks a decision's key up: a hit is an entry not older than its
// s-maxage. A backend that fails answers a miss (logged at most once a
// minute): the request goes on to the provider, as LiteLLM's does.
func (c *Cache) Get(ctx context.Context, d Decision) (Entry, bool) {
	if !d.Read {
		if c.sem != nil && d.Store {
			// no-cache: no lookup, the answer still stored (its prompt
			// embedded when it is written, as LiteLLM's set does).
			c.sem.remember(d.Key, pendingPoint{prompt: d.Prompt, group: d.Group, at: c.now()})
		}
		return Entry{}, false
	}
	if c.sem != nil {
		return c.getSemantic(ctx, d)
	}
	e, ok, err := c.b.get(ctx, d.Key)
	if err != nil {
		c.failed("read", err)
		return Entry{}, false
	}
	if !ok {
		return Entry{}, false
	}
	if d.MaxAge > 0 && c.now().Sub(e.Stored) > d.MaxAge {
		return Entry{}, false
	}
	return e, true
}

// getSemantic embeds the decision's prompt and looks its nearest stored
// prompt up; the entry carries the similarity, hit or miss.
func (c *Cache) getSemantic(ctx context.Context, d Decision) (Entry, bool) {
	embed := c.embedder.Load()
	if embed == nil {
		return Entry{}, false
	}
	vec, err := (*embed)(ctx, c.p.Qdrant.EmbeddingModel, d.Prompt)
	if err != nil {
		c.failed("embedding", err)
		return Entry{}, false
	}
	now := c.now()
	e, sim, ok, err := c.sem.search(ctx, d.Key, d.Prompt, d.Group, vec, now)
	if err != nil {
		c.failed("read", err)
		return Entry{}, false
	}
	e.Similarity, e.Semantic = sim, true
	if ok && d.MaxAge > 0 && now.Sub(e.Stored) > d.MaxAge {
		ok = false
	}
	return e, ok
}

// GetEach looks up each input's key of an embeddings decision (Keys): the
// entries found (nil where none), and how many. A backend that fails
// answers no hit.
func (c *Cache) GetEach(ctx context.Context, d Decision) ([]Entry, int) {
	if !d.Read || len(d.Keys) == 0 {
		return nil, 0
	}
	es, err := c.b.getMany(ctx, d.Keys)
	if err != nil {
		c.failed("read", err)
		return nil, 0
	}
	n := 0
	for i, e := range es {
		if e.Body == nil {
			continue
		}
		if d.MaxAge > 0 && c.now().Sub(e.Stored) > d.MaxAge {
			es[i] = Entry{}
			continue
		}
		n++
	}
	return es, n
}

// Put stores an answer for a decision (when it stores), off the caller's
// path for Redis; the body is not copied (the caller hands it over).
func (c *Cache) Put(d Decision, stream bool, body []byte) {
	if !d.Store || len(body) == 0 {
		return
	}
	w := write{key: d.Key, e: Entry{Stream: stream, Body: body, Stored: c.now()}, ttl: d.TTL}
	if c.queue == nil {
		_ = c.b.set(context.Background(), w.key, w.e, w.ttl)
		return
	}
	select {
	case c.queue <- w:
	default:
		c.failed("write", errors.New("write queue full; answer not stored"))
	}
}

func (c *Cache) writer() {
	for {
		select {
		case <-c.done:
			return
		case w := <-c.queue:
			t := writeTimeout
			if c.sem != nil {
				t = semanticWriteTimeout // may embed the prompt first
			}
			ctx, cancel := context.WithTimeout(context.Background(), t)
			if err := c.b.set(ctx, w.key, w.e, w.ttl); err != nil {
				c.failed("write", err)
			}
			cancel()
		}
	}
}

// Delete removes keys (/cache/delete); it returns how many existed.
func (c *Cache) Delete(ctx context.Context, keys []string) (int, error) {
	return c.b.del(ctx, keys)
}

// Flush removes every entry of this cache (/cache/flushall); it returns
// how many there were.
func (c *Cache) Flush(ctx context.Context) (int, error) { return c.b.flush(ctx) }

// Ping checks the backend (/cache/ping).
func (c *Cache) Ping(ctx context.Context) error { return c.b.ping(ctx) }

func (c *Cache) failed(op string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := time.Now(); now.Sub(c.failLog) >= time.Minute {
		c.failLog = now
		c.log.Warn("response cache "+op+" failed; requests go to the provider meanwhile", "type", c.p.Type, "error", err.Error())
	}
}

// keyParams are the request fields LiteLLM's cache key reads
// (ModelParamHelper.get_all_llm_api_params: the OpenAI parameters of chat
// completions, text completions and embeddings, with LiteLLM's "thinking";
// never metadata): a field not listed (LiteLLM's own, such as "cache",
// "fallbacks" or "mock_response", and provider-specific ones) does not make
// two requests differ.
var keyParams = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range []string{
		// chat completions
		"messages", "model", "audio", "frequency_penalty", "function_call", "functions", "logit_bias", "logprobs",
		"max_completion_tokens", "max_tokens", "modalities", "n", "parallel_tool_calls", "prediction",
		"presence_penalty", "prompt_cache_key", "reasoning_effort", "response_format", "safety_identifier", "seed",
		"service_tier", "stop", "store", "stream", "stream_options", "temperature", "tool_choice", "tools",
		"top_logprobs", "top_p", "user", "verbosity", "web_search_options", "thinking",
		// text completions
		"prompt", "best_of", "echo", "suffix",
		// embeddings
		"input", "dimensions", "encoding_format",
	} {
		m[k] = true
	}
	return m
}()

// CachingGroup is the name a model group takes in the cache key: with
// router_settings.caching_groups, the first group listing it, written as
// Python's str() of the list (LiteLLM's _get_caching_group); else the group.
func CachingGroup(groups [][]string, group string) string {
	for _, g := range groups {
		if slices.Contains(g, group) {
			var b strings.Builder
			b.WriteByte('[')
			for i, m := range g {
				if i > 0 {
					b.WriteString(", ")
				}
				b.WriteString(pyRepr(m))
			}
			b.WriteByte(']')
			return b.String()
		}
	}
	return group
}

// pyRepr is Python's repr of a str (single quotes unless the text has one
// and no double quote).
func pyRepr(s string) string {
	q := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' || c == q:
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\t':
			b.WriteString(`\t`)
		case c == '\r':
			b.WriteString(`\r`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// Key is the cache key of a request to model group group: the sha256 (hex)
// of "name: value" for each LLM parameter the body sets (keyParams; null
// values left out), in name order, with model the group's name; prefixed by
// "namespace:" when ns is set. A string value is written as is, any other
// as its compact JSON.
func Key(group string, body []byte, ns string) string { return key(group, body, ns, nil) }

// key is Key with the body's input replaced by one item of its list
// (input != nil): LiteLLM's key of one embedding input.
func key(group string, body []byte, ns string, input *gjson.Result) string {
	type kv struct{ k, v string }
	var fields []kv
	fields = append(fields, kv{"model", group})
	eachTopLevel(body, func(k string, v []byte, str bool) {
		if k == "model" || !keyParams[k] {
			return
		}
		if k == "input" && input != nil {
			v = topLevelValue(*input)
		}
		fields = append(fields, kv{k, string(v)})
	})
	slices.SortFunc(fields, func(a, b kv) int { return strings.Compare(a.k, b.k) })
	h := sha256.New()
	for _, f := range fields {
		h.Write([]byte(f.k))
		h.Write([]byte(": "))
		h.Write([]byte(f.v))
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if ns != "" {
		return ns + ":" + sum
	}
	return sum
}
