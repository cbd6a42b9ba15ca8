package respcache

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/fakegcs"
)

// TestGCS (D182): the gcs store against a fake Cloud Storage that checks
// the service account's token: an entry is one object at
// <gcs_path>/<cache key> holding LiteLLM's {timestamp, response} (its "/"
// escaped in the request), read back whole; a key never written and an
// expired entry miss; del and flush remove the cache's objects only; the
// token is fetched off the lookup (one token for every call).
func TestGCS(t *testing.T) {
	ctx := context.Background()
	fake := fakegcs.Start(t, "cache-bucket")
	b, err := newGCS(config.GCSCache{Bucket: "cache-bucket", ServiceAccount: fake.ServiceAccountJSON(), Path: "llm/cache/", Endpoint: fake.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	if err := b.ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
	key := "ns:" + strings.Repeat("ab", 32)
	now := time.Now()
	e := Entry{Body: []byte(`{"id":"chatcmpl-1","choices":[]}`), Stored: now}
	if err := b.set(ctx, key, e, 0); err != nil {
		t.Fatalf("set: %v", err)
	}
	o, ok := fake.Get("llm/cache/" + key)
	if !ok {
		objs, bad := fake.Objects()
		t.Fatalf("no object llm/cache/%s: %v, refused %v", key, objs, bad)
	}
	var stored map[string]any
	if json.Unmarshal(o.Body, &stored) != nil || stored["response"] != string(e.Body) || stored["timestamp"] == nil || o.ContentType != "application/json" {
		t.Errorf("object %s %q: want LiteLLM's JSON with the response", o.ContentType, o.Body)
	}
	got, ok, err := b.get(ctx, key)
	if err != nil || !ok || string(got.Body) != string(e.Body) || got.Stored.Unix() != now.Unix() {
		t.Fatalf("get = %+v, %v, %v", got, ok, err)
	}
	if _, ok, err := b.get(ctx, "absent"); ok || err != nil {
		t.Errorf("a key never written: hit %v, err %v (want a plain miss)", ok, err)
	}

	// Expiry: an entry stored 11 s ago with ttl 10 s misses.
	old := Entry{Body: []byte(`{"id":"old"}`), Stored: now.Add(-11 * time.Second)}
	_ = b.set(ctx, "k-old", old, 10*time.Second)
	if _, ok, _ := b.get(ctx, "k-old"); ok {
		t.Errorf("an expired entry hit")
	}

	// del and flush: the cache's objects only; a foreign object stays.
	fake.Put("llm/cache/notes.txt", []byte("keep me"))
	fake.Put("elsewhere/"+strings.Repeat("cd", 32), []byte("keep me too"))
	for i := range 3 {
		_ = b.set(ctx, strings.Repeat(string(rune('0'+i)), 64), e, 0)
	}
	if n, err := b.del(ctx, []string{key, "absent"}); n != 1 || err != nil {
		t.Errorf("del removed %d (%v), want 1", n, err)
	}
	if n, err := b.flush(ctx); n != 3 || err != nil {
		t.Errorf("flush removed %d (%v), want 3", n, err)
	}
	objs, bad := fake.Objects()
	names := []string{}
	for _, o := range objs {
		names = append(names, o.Name)
	}
	if len(objs) != 3 || fake.TokensIssued() != 1 || len(bad) != 0 {
		t.Errorf("left %v (want notes.txt, elsewhere/…, k-old), %d tokens (want 1), refused %v", names, fake.TokensIssued(), bad)
	}
}

// TestGCSNoToken (D182): a lookup never waits for the token endpoint — a
// store whose token cannot be had misses at once, and ping says why.
func TestGCSNoToken(t *testing.T) {
	fake := fakegcs.Start(t, "cache-bucket")
	sa := strings.Replace(fake.ServiceAccountJSON(), fake.URL+"/token", "http://127.0.0.1:1/token", 1)
	b, err := newGCS(config.GCSCache{Bucket: "cache-bucket", ServiceAccount: sa, Endpoint: fake.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	if _, ok, err := b.get(context.Background(), "k"); ok || err != nil && !strings.Contains(err.Error(), "token") {
		t.Errorf("get without a token: hit %v, err %v", ok, err)
	}
	if err := b.ping(context.Background()); err == nil || !strings.Contains(err.Error(), "token request") {
		t.Errorf("ping without a token: %v", err)
	}
	if _, err := newGCS(config.GCSCache{Bucket: "b", ServiceAccount: "/nonexistent/sa.json"}); err == nil || !strings.Contains(err.Error(), "gcs cache credentials") {
		t.Errorf("a missing key file: %v", err)
	}
}
