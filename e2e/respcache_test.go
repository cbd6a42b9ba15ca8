package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/llmgate/llmgate/internal/store/redistest"
)

// cacheConfig is a config with LiteLLM's response cache; params are
// cache_params' lines (indented under it).
func cacheConfig(fake, params string) string {
	return fmt.Sprintf(`
model_list:
  - model_name: cached
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/cached/v1, api_key: k}
  - model_name: cached-alias-target
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/other/v1, api_key: k}
litellm_settings:
  cache: true
  cache_params:
%[3]s
general_settings:
  master_key: %[2]s
  proxy_batch_write_at: 1
`, fake, master, params)
}

var cacheKeyHeader = regexp.MustCompile(`^([^:]+:)?[0-9a-f]{64}$`)

// cachedChat sends one chat request through openai-go and returns its
// content, id and the x-litellm-cache-key header.
func cachedChat(t *testing.T, c openai.Client, model, prompt string, opts ...option.RequestOption) (content, id, key string) {
	t.Helper()
	var raw *http.Response
	resp, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompt)},
	}, append(opts, option.WithResponseInto(&raw))...)
	if err != nil {
		t.Fatalf("chat %q: %v", prompt, err)
	}
	if len(resp.Choices) == 0 {
		t.Fatalf("chat %q: no choices", prompt)
	}
	return resp.Choices[0].Message.Content, resp.ID, raw.Header.Get("x-litellm-cache-key")
}

// waitHit repeats a request until it is a cache hit (a Redis write is off
// the request path), adding the misses before it (each a provider call) to
// *misses; it gives up after 5 s.
func waitHit(t *testing.T, c openai.Client, misses *int64, model, prompt string, opts ...option.RequestOption) (content, id, key string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		content, id, key = cachedChat(t, c, model, prompt, opts...)
		if key != "" || time.Now().After(deadline) {
			return
		}
		*misses++
		time.Sleep(50 * time.Millisecond)
	}
}

// TestResponseCache: litellm_settings.cache with type local and type redis,
// through the real Envoy with openai-go. A repeated request is answered
// from the cache (the provider is not called; same answer, x-litellm-cache-key
// set); other params miss; the body's cache controls (no-cache, no-store,
// ttl, s-maxage, namespace) act as LiteLLM's; a stream is stored whole and
// replayed as a stream; with Redis two instances share entries.
func TestResponseCache(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	rd := redistest.StartServer(t)
	host, port, _ := net.SplitHostPort(rd.Addr())
	for _, tc := range []struct {
		name, params string
		instances    int
	}{
		{"local", "    type: local", 1},
		{"redis", fmt.Sprintf("    type: redis\n    host: %s\n    port: %s\n    namespace: team1", host, port), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := cacheConfig(fake.URL(), tc.params)
			g := startGateway(t, cfg)
			c := newClient(g, master)
			// The provider's calls but those of waitHit's misses (Redis
			// writes are asynchronous: a repeat may come before one lands).
			var misses int64
			calls := func() int64 { return fake.Count("/cached/") - misses }
			// stored starts a subtest's count and stores a request's answer
			// (a miss, then repeats until its hit).
			stored := func(prompt string, opts ...option.RequestOption) (content, id, key string) {
				fake.Reset()
				misses = 0
				cachedChat(t, c, "cached", prompt, opts...)
				return waitHit(t, c, &misses, "cached", prompt, opts...)
			}
			p := func(s string) string { return tc.name + " " + s }

			t.Run("miss then hit", func(t *testing.T) {
				fake.Reset()
				misses = 0
				content, id, key := cachedChat(t, c, "cached", p("hello cache"))
				if key != "" {
					t.Errorf("a miss carries x-litellm-cache-key %q", key)
				}
				content2, id2, key2 := waitHit(t, c, &misses, "cached", p("hello cache"))
				if !cacheKeyHeader.MatchString(key2) {
					t.Fatalf("x-litellm-cache-key = %q, want a sha256 (with the namespace)", key2)
				}
				if tc.name == "redis" && !strings.HasPrefix(key2, "team1:") {
					t.Errorf("cache_params.namespace: key %q has no team1: prefix", key2)
				}
				if content2 != content || misses == 0 && id2 != id {
					t.Errorf("hit answered %q (%s), want the stored %q (%s)", content2, id2, content, id)
				}
				if got := calls(); got != 1 {
					t.Errorf("the provider was called %d times, want once", got)
				}
			})

			t.Run("other params miss", func(t *testing.T) {
				stored(p("params"))
				_, _, key := cachedChat(t, c, "cached", p("params"), option.WithJSONSet("temperature", 0.5))
				if key != "" {
					t.Errorf("another temperature hit the cache (%s)", key)
				}
				_, _, key = cachedChat(t, c, "cached", p("params"), option.WithJSONSet("user", "someone"))
				if key != "" {
					t.Errorf("another user hit the cache (%s)", key)
				}
				// LiteLLM's own fields are not LLM params: same key.
				_, _, key = cachedChat(t, c, "cached", p("params"), option.WithJSONSet("metadata", map[string]any{"tags": []string{"x"}}))
				if key == "" {
					t.Errorf("a request differing only in metadata missed")
				}
				if got := calls(); got != 3 {
					t.Errorf("the provider was called %d times, want 3", got)
				}
			})

			t.Run("no-cache and no-store", func(t *testing.T) {
				stored(p("controls"))
				_, _, key := cachedChat(t, c, "cached", p("controls"), option.WithJSONSet("cache", map[string]any{"no-cache": true}))
				if key != "" || calls() != 2 {
					t.Errorf("no-cache: key %q, %d provider calls (want none, 2)", key, calls())
				}
				cachedChat(t, c, "cached", p("not stored"), option.WithJSONSet("cache", map[string]any{"no-store": true}))
				time.Sleep(300 * time.Millisecond) // (a write would be done by now)
				_, _, key = cachedChat(t, c, "cached", p("not stored"), option.WithJSONSet("cache", map[string]any{"no-store": true}))
				if key != "" || calls() != 4 {
					t.Errorf("no-store: key %q, %d provider calls (want none, 4)", key, calls())
				}
			})

			t.Run("namespace", func(t *testing.T) {
				fake.Reset()
				misses = 0
				ns := option.WithJSONSet("cache", map[string]any{"namespace": "ns-" + tc.name})
				cachedChat(t, c, "cached", p("spaced"), ns)
				_, _, key := waitHit(t, c, &misses, "cached", p("spaced"), ns)
				if !strings.HasPrefix(key, "ns-"+tc.name+":") {
					t.Errorf("key %q has not the request's namespace", key)
				}
				// The same request in the default namespace is another entry.
				_, _, key = cachedChat(t, c, "cached", p("spaced"))
				if key != "" || calls() != 2 {
					t.Errorf("the default namespace hit the request's namespace: %q, %d calls", key, calls())
				}
			})

			t.Run("ttl and s-maxage", func(t *testing.T) {
				fake.Reset()
				misses = 0
				short := option.WithJSONSet("cache", map[string]any{"ttl": 1})
				cachedChat(t, c, "cached", p("short-lived"), short)
				waitHit(t, c, &misses, "cached", p("short-lived"))
				time.Sleep(1500 * time.Millisecond)
				_, _, key := cachedChat(t, c, "cached", p("short-lived"))
				if key != "" {
					t.Errorf("an entry stored with ttl 1 hit 1.5 s later")
				}
				// Stored again just now (by the miss): s-maxage 1 refuses it
				// once it is older than a second; a plain request still hits.
				waitHit(t, c, &misses, "cached", p("short-lived"))
				time.Sleep(1200 * time.Millisecond)
				_, _, key = cachedChat(t, c, "cached", p("short-lived"), option.WithJSONSet("cache", map[string]any{"s-maxage": 1}))
				if key != "" {
					t.Errorf("s-maxage 1 took an entry older than a second")
				}
				if got := calls(); got != 3 {
					t.Errorf("%d provider calls, want 3", got)
				}
			})

			t.Run("stream stored whole, replayed as a stream", func(t *testing.T) {
				fake.Reset()
				misses = 0
				stream := func() (string, int, string) {
					var raw *http.Response
					s := c.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
						Model:         "cached",
						Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage(p("stream me"))},
						StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
					}, option.WithResponseInto(&raw))
					var acc openai.ChatCompletionAccumulator
					n := 0
					for s.Next() {
						acc.AddChunk(s.Current())
						n++
					}
					if err := s.Err(); err != nil {
						t.Fatal(err)
					}
					if len(acc.Choices) == 0 {
						t.Fatal("no choices")
					}
					return acc.Choices[0].Message.Content, n, raw.Header.Get("x-litellm-cache-key")
				}
				content, chunks, _ := stream()
				var content2, key string
				var chunks2 int
				for range 50 {
					if content2, chunks2, key = stream(); key != "" {
						break
					}
					misses++
					time.Sleep(50 * time.Millisecond)
				}
				if key == "" {
					t.Fatalf("a repeated stream never hit the cache")
				}
				if content2 != content || chunks2 != chunks || content != fakeprovider.ReplyPrefix+p("stream me") {
					t.Errorf("replayed stream %q in %d chunks, want %q in %d", content2, chunks2, content, chunks)
				}
				if got := calls(); got != 1 {
					t.Errorf("%d provider calls, want 1", got)
				}
				// A non-stream request is another entry (stream is a key param).
				if _, _, k := cachedChat(t, c, "cached", p("stream me")); k != "" {
					t.Errorf("a non-stream request hit the stream's entry")
				}
			})

			t.Run("a hit's spend log: cache_hit True, spend 0, its cache key", func(t *testing.T) {
				key, _ := keyAPI{t, g}.generate(`{"key_alias":"cache-` + tc.name + `"}`)
				kc := newClient(g, key)
				fake.Reset()
				misses = 0
				cachedChat(t, kc, "cached", p("spent"))
				_, _, ck := waitHit(t, kc, &misses, "cached", p("spent"))
				var rows []map[string]any
				deadline := time.Now().Add(10 * time.Second)
				for {
					rows = nil
					st, _, b := do(t, "GET", g.URL+"/spend/logs?api_key="+key, master, "")
					if st == 200 && json.Unmarshal(b, &rows) == nil && len(rows) >= 2+int(misses) || time.Now().After(deadline) {
						break
					}
					time.Sleep(200 * time.Millisecond)
				}
				hits := 0
				for _, r := range rows {
					if r["cache_hit"] != "True" {
						if r["cache_hit"] != "" || r["spend"].(float64) <= 0 {
							t.Errorf("a provider's answer logged %v", r)
						}
						continue
					}
					hits++
					if r["spend"].(float64) != 0 || r["cache_key"] != ck || !strings.Contains(r["request_id"].(string), "_cache_hit") || r["model_group"] != "cached" {
						t.Errorf("the hit's spend log: %v (cache key %s)", r, ck)
					}
				}
				if hits != 1 || len(rows) != 2+int(misses) {
					t.Errorf("%d spend logs, %d hits; want %d and 1: %v", len(rows), hits, 2+misses, rows)
				}
			})

			t.Run("cache routes: ping, delete, flushall", func(t *testing.T) {
				code, _, body := do(t, "GET", g.URL+"/cache/ping", master, "")
				if code != 200 || !strings.Contains(string(body), `"status":"healthy"`) || !strings.Contains(string(body), `"cache_type":"`+tc.name+`"`) {
					t.Errorf("/cache/ping: %d %s", code, body)
				}
				if strings.Contains(string(body), "password") {
					t.Errorf("/cache/ping shows a password: %s", body)
				}
				_, _, key := stored(p("to delete"))
				code, _, body = do(t, "POST", g.URL+"/cache/delete", master, `{"keys":["`+key+`"]}`)
				if code != 200 || !strings.Contains(string(body), "success") {
					t.Errorf("/cache/delete: %d %s", code, body)
				}
				if _, _, k := cachedChat(t, c, "cached", p("to delete")); k != "" || calls() != 2 {
					t.Errorf("a deleted key still hit (%q, %d calls)", k, calls())
				}
				waitHit(t, c, &misses, "cached", p("to delete"))
				code, _, body = do(t, "POST", g.URL+"/cache/flushall", master, "")
				if code != 200 || !strings.Contains(string(body), "success") {
					t.Errorf("/cache/flushall: %d %s", code, body)
				}
				if _, _, k := cachedChat(t, c, "cached", p("to delete")); k != "" || calls() != 3 {
					t.Errorf("an entry outlived /cache/flushall (%q, %d calls)", k, calls())
				}
				code, _, body = do(t, "POST", g.URL+"/cache/flushall", "sk-wrong", "")
				if code != 401 {
					t.Errorf("/cache/flushall with a wrong key: %d %s", code, body)
				}
			})

			if tc.instances > 1 {
				t.Run("two instances share the Redis entries", func(t *testing.T) {
					gb := startGateway(t, cfg)
					cb := newClient(gb, master)
					fake.Reset()
					misses = 0
					content, _, _ := cachedChat(t, c, "cached", p("shared across instances"))
					content2, _, key := waitHit(t, cb, &misses, "cached", p("shared across instances"))
					if key == "" || content2 != content || calls() != 1 {
						t.Errorf("instance B: key %q, %q, %d provider calls; want A's entry", key, content2, calls())
					}
				})
			}
		})
	}
}

// TestResponseCacheDefaultOff: mode default_off caches only the requests
// that opt in with "cache": {"use-cache": true}.
func TestResponseCacheDefaultOff(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, cacheConfig(fake.URL(), "    type: local\n    mode: default_off"))
	c := newClient(g, master)
	cachedChat(t, c, "cached", "off by default")
	if _, _, key := cachedChat(t, c, "cached", "off by default"); key != "" {
		t.Errorf("default_off: a request without use-cache hit")
	}
	use := option.WithJSONSet("cache", map[string]any{"use-cache": true})
	cachedChat(t, c, "cached", "opted in", use)
	if _, _, key := cachedChat(t, c, "cached", "opted in", use); key == "" {
		t.Errorf("default_off: a request with use-cache missed its stored answer")
	}
	if got := fake.Count("/cached/"); got != 3 {
		t.Errorf("%d provider calls, want 3", got)
	}
}
