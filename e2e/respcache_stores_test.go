package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3/option"

	"github.com/llmgate/llmgate/internal/fakegcs"
	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/llmgate/llmgate/internal/fakes3"
)

// TestResponseCacheS3 (D138): cache_params type s3 through the real Envoy
// with openai-go, against an S3-compatible fake (gofakes3): a repeated
// request is answered from the bucket (one provider call), the entry is one
// object at s3_path/<cache key> holding the answer, every S3 call is SigV4
// signed with the configured key; a ttl'd entry misses once expired; and
// /cache/flushall removes the cache's objects only.
func TestResponseCacheS3(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	s3 := fakes3.Start(t, "cache-bucket")
	params := fmt.Sprintf(`    type: s3
    s3_bucket_name: cache-bucket
    s3_region_name: eu-west-1
    s3_endpoint_url: %s
    s3_aws_access_key_id: os.environ/CACHE_S3_KEY_ID
    s3_aws_secret_access_key: os.environ/CACHE_S3_SECRET
    s3_path: llm-cache`, s3.URL)
	g := startGateway(t, cacheConfig(fake.URL(), params), "CACHE_S3_KEY_ID=AKIDCACHE", "CACHE_S3_SECRET=cache-secret")
	c := newClient(g, master)
	var misses int64
	calls := func() int64 { return fake.Count("/cached/") - misses }

	content, _, key := cachedChat(t, c, "cached", "s3 hello")
	if key != "" {
		t.Fatalf("first request: a hit (%s)", key)
	}
	content2, _, key := waitHit(t, c, &misses, "cached", "s3 hello")
	if !cacheKeyHeader.MatchString(key) {
		t.Fatalf("no hit from the s3 cache: key %q, %d provider calls", key, fake.Count("/cached/"))
	}
	if content2 != content || calls() != 1 {
		t.Errorf("hit %q after %d provider calls, want %q after 1", content2, calls(), content)
	}
	objs, _ := s3.Objects(t, "cache-bucket")
	obj, ok := objs["llm-cache/"+key]
	if !ok {
		t.Fatalf("no object llm-cache/%s in the bucket: %v", key, keysOf(objs))
	}
	if r, _ := obj["response"].(string); !strings.Contains(r, content) {
		t.Errorf("the object's response %q does not hold the answer %q", r, content)
	}
	for _, a := range s3.Auth() {
		if !strings.Contains(a, "AWS4-HMAC-SHA256 Credential=AKIDCACHE/") || !strings.Contains(a, "/eu-west-1/s3/aws4_request") {
			t.Errorf("an S3 call not signed with the configured key and region: %q", a)
		}
	}

	t.Run("ttl", func(t *testing.T) {
		fake.Reset()
		misses = 0
		short := option.WithJSONSet("cache", map[string]any{"ttl": 1})
		cachedChat(t, c, "cached", "s3 short-lived", short)
		waitHit(t, c, &misses, "cached", "s3 short-lived")
		time.Sleep(1500 * time.Millisecond)
		if _, _, key := cachedChat(t, c, "cached", "s3 short-lived"); key != "" {
			t.Errorf("an entry stored with ttl 1 hit 1.5 s later")
		}
		if calls() != 2 {
			t.Errorf("%d provider calls, want 2", calls())
		}
	})

	t.Run("ping and flushall", func(t *testing.T) {
		if code, _, body := do(t, "GET", g.URL+"/cache/ping", master, ""); code != 200 || !strings.Contains(string(body), `"cache_type":"s3"`) ||
			!strings.Contains(string(body), `"bucket_name":"cache-bucket"`) || strings.Contains(string(body), "cache-secret") {
			t.Errorf("/cache/ping (the bucket, never the secret): %d %s", code, body)
		}
		if code, _, body := do(t, "POST", g.URL+"/cache/flushall", master, ""); code != 200 {
			t.Fatalf("/cache/flushall: %d %s", code, body)
		}
		if objs, _ := s3.Objects(t, "cache-bucket"); len(objs) != 0 {
			t.Errorf("objects left after flushall: %v", keysOf(objs))
		}
		if _, _, key := cachedChat(t, c, "cached", "s3 hello"); key != "" {
			t.Errorf("a hit after flushall (%s)", key)
		}
	})
}

// TestResponseCacheGCS (D182): cache_params type gcs through the real
// Envoy with openai-go, against a fake Cloud Storage that issues tokens
// only for the service account's signed JWT: a repeated request is answered
// from the bucket (one provider call), the entry is one object at
// gcs_path/<cache key> holding the answer, the service account's key never
// reaches /cache/ping, and /cache/flushall removes the cache's objects only.
func TestResponseCacheGCS(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	gcs := fakegcs.Start(t, "llm-cache-bucket")
	sa := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(sa, []byte(gcs.ServiceAccountJSON()), 0o600); err != nil {
		t.Fatal(err)
	}
	params := `    type: gcs
    gcs_bucket_name: llm-cache-bucket
    gcs_path: team-a/cache/`
	g := startGateway(t, cacheConfig(fake.URL(), params), "GCS_PATH_SERVICE_ACCOUNT="+sa,
		"CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE="+gcs.URL+"/storage/v1/")
	c := newClient(g, master)
	var misses int64
	calls := func() int64 { return fake.Count("/cached/") - misses }

	content, _, _ := cachedChat(t, c, "cached", "gcs hello")
	content2, _, key := waitHit(t, c, &misses, "cached", "gcs hello")
	if !cacheKeyHeader.MatchString(key) {
		_, bad := gcs.Objects()
		t.Fatalf("no hit from the gcs cache: key %q, %d provider calls, refused %v", key, fake.Count("/cached/"), bad)
	}
	if content2 != content || calls() != 1 {
		t.Errorf("hit %q after %d provider calls, want %q after 1", content2, calls(), content)
	}
	obj, ok := gcs.Get("team-a/cache/" + key)
	if !ok || !strings.Contains(string(obj.Body), content) {
		objs, _ := gcs.Objects()
		t.Fatalf("no object team-a/cache/%s holding the answer: %v", key, objs)
	}
	if code, _, body := do(t, "GET", g.URL+"/cache/ping", master, ""); code != 200 || !strings.Contains(string(body), `"cache_type":"gcs"`) ||
		!strings.Contains(string(body), `"bucket_name":"llm-cache-bucket"`) || strings.Contains(string(body), "PRIVATE KEY") || strings.Contains(string(body), sa) {
		t.Errorf("/cache/ping (the bucket, never the service account): %d %s", code, body)
	}
	gcs.Put("team-a/cache/README", []byte("not an entry"))
	if code, _, body := do(t, "POST", g.URL+"/cache/flushall", master, ""); code != 200 {
		t.Fatalf("/cache/flushall: %d %s", code, body)
	}
	if objs, _ := gcs.Objects(); len(objs) != 1 || objs[0].Name != "team-a/cache/README" {
		t.Errorf("after flushall: %v, want only team-a/cache/README", objs)
	}
	if _, _, key := cachedChat(t, c, "cached", "gcs hello"); key != "" {
		t.Errorf("a hit after flushall (%s)", key)
	}
	if _, bad := gcs.Objects(); len(bad) != 0 || gcs.TokensIssued() != 1 {
		t.Errorf("refused calls %v; %d tokens issued (want 1: cached)", bad, gcs.TokensIssued())
	}
}

// TestResponseCacheDisk (D138): cache_params type disk with disk_cache_dir:
// a repeated request is a hit (one provider call), the entry is a file in
// the directory, a second gateway on the same directory (a restart) hits
// it, and a ttl'd entry misses once expired.
func TestResponseCacheDisk(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	dir := filepath.Join(t.TempDir(), "llm-cache")
	cfg := cacheConfig(fake.URL(), "    type: disk\n    disk_cache_dir: "+dir)
	g := startGateway(t, cfg)
	c := newClient(g, master)
	var misses int64
	calls := func() int64 { return fake.Count("/cached/") - misses }

	content, _, _ := cachedChat(t, c, "cached", "disk hello")
	content2, _, key := waitHit(t, c, &misses, "cached", "disk hello")
	if !cacheKeyHeader.MatchString(key) || content2 != content || calls() != 1 {
		t.Fatalf("disk cache: key %q, %q vs %q, %d provider calls (want a hit, one call)", key, content2, content, calls())
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.llmcache"))
	if len(files) != 1 {
		t.Fatalf("%d entry files in %s, want 1", len(files), dir)
	}
	if b, _ := os.ReadFile(files[0]); !strings.Contains(string(b), key) {
		t.Errorf("the entry file does not name its key %s: %.200s", key, b)
	}

	// Kept across a restart: a new gateway on the same directory hits.
	g.Stop()
	c = newClient(startGateway(t, cfg), master)
	if _, _, key := cachedChat(t, c, "cached", "disk hello"); key == "" || calls() != 1 {
		t.Errorf("the restarted gateway missed the disk entry: key %q, %d provider calls", key, calls())
	}

	t.Run("ttl", func(t *testing.T) {
		fake.Reset()
		misses = 0
		cachedChat(t, c, "cached", "disk short-lived", option.WithJSONSet("cache", map[string]any{"ttl": 1}))
		waitHit(t, c, &misses, "cached", "disk short-lived")
		time.Sleep(1500 * time.Millisecond)
		if _, _, key := cachedChat(t, c, "cached", "disk short-lived"); key != "" {
			t.Errorf("an entry stored with ttl 1 hit 1.5 s later")
		}
	})
}

// TestRouterCacheResponses (D138): router_settings.cache_responses without
// litellm_settings.cache turns LiteLLM's response cache on (local: no
// router Redis): the repeated request is a hit, the provider called once.
func TestRouterCacheResponses(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	cfg := fmt.Sprintf(`
model_list:
  - model_name: cached
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/cached/v1, api_key: k}
router_settings:
  cache_responses: true
general_settings:
  master_key: %[2]s
`, fake.URL(), master)
	g := startGateway(t, cfg)
	c := newClient(g, master)
	content, _, _ := cachedChat(t, c, "cached", "router cache")
	content2, _, key := cachedChat(t, c, "cached", "router cache")
	if !cacheKeyHeader.MatchString(key) || content2 != content || fake.Count("/cached/") != 1 {
		t.Errorf("cache_responses: key %q, %q vs %q, %d provider calls (want a hit, one call)", key, content2, content, fake.Count("/cached/"))
	}
	if code, _, body := do(t, "GET", g.URL+"/cache/ping", master, ""); code != 200 || !strings.Contains(string(body), `"cache_type":"local"`) {
		t.Errorf("/cache/ping: %d %s", code, body)
	}
}
