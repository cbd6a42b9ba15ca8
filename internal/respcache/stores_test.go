package respcache

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDisk: the disk store keeps an entry per file, expires a ttl'd entry
// by the (fake) clock, deletes and flushes, and evicts the oldest files
// past its size limit.
func TestDisk(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_000_000, 0)
	dir := filepath.Join(t.TempDir(), "c")
	d, err := newDisk(dir, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	e := Entry{Body: []byte(`{"id":"a"}`), Stored: now}
	if err := d.set(ctx, "ns:k1", e, 0); err != nil {
		t.Fatal(err)
	}
	if err := d.set(ctx, "k2", e, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if got, ok, _ := d.get(ctx, "ns:k1"); !ok || string(got.Body) != `{"id":"a"}` || !got.Stored.Equal(now) {
		t.Fatalf("get ns:k1 = %+v, %v", got, ok)
	}
	now = now.Add(11 * time.Second)
	if _, ok, _ := d.get(ctx, "k2"); ok {
		t.Errorf("an entry with ttl 10 s hit 11 s later")
	}
	if _, ok, _ := d.get(ctx, "ns:k1"); !ok {
		t.Errorf("an entry without ttl expired")
	}
	if n, _ := d.del(ctx, []string{"ns:k1", "absent"}); n != 1 {
		t.Errorf("del removed %d, want 1", n)
	}
	for i := range 3 {
		_ = d.set(ctx, "f"+string(rune('a'+i)), e, 0)
	}
	if n, _ := d.flush(ctx); n != 3 {
		t.Errorf("flush removed %d, want 3", n)
	}

	// Eviction: a limit of three entries' bytes keeps the newest.
	b, _ := encodeFileStored("e0", e, 0)
	d.limit = int64(3*len(b) + 2)
	for i := range 5 {
		key := "e" + string(rune('0'+i))
		if err := d.set(ctx, key, e, 0); err != nil {
			t.Fatal(err)
		}
		// Distinct modification times, oldest first.
		_ = os.Chtimes(d.path(key), now, now.Add(time.Duration(i)*time.Second))
	}
	var kept []string
	for i := range 5 {
		key := "e" + string(rune('0'+i))
		if _, ok, _ := d.get(ctx, key); ok {
			kept = append(kept, key)
		}
	}
	if len(kept) == 0 || len(kept) > 3 || kept[len(kept)-1] != "e4" {
		t.Errorf("kept %v past the size limit, want at most 3 ending with the newest", kept)
	}
}

// TestFileStored: the s3 and disk stores' JSON holds the key, the answer
// and the expiry; an expired or foreign object is no entry.
func TestFileStored(t *testing.T) {
	at := time.Unix(2_000_000, 500_000_000)
	b, err := encodeFileStored("k", Entry{Stream: true, Body: []byte("data: x\n\n"), Stored: at}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"key":"k"`, `"stream":true`, `"expires":2000005.5`, `"timestamp":2000000.5`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
	if e, ok := decodeFileStored(b, at.Add(4*time.Second)); !ok || !e.Stream || string(e.Body) != "data: x\n\n" {
		t.Errorf("decode before expiry = %+v, %v", e, ok)
	}
	if _, ok := decodeFileStored(b, at.Add(5*time.Second)); ok {
		t.Errorf("an expired entry decoded")
	}
	if _, ok := decodeFileStored([]byte(`{"other":1}`), at); ok {
		t.Errorf("a foreign object decoded")
	}
}

// TestPrompt: LiteLLM's semantic prompt is the messages' contents joined;
// a non-string content is not cached.
func TestPrompt(t *testing.T) {
	if p, ok := Prompt([]byte(`{"messages":[{"role":"system","content":"Be brief. "},{"role":"user","content":"Hi"}]}`)); !ok || p != "Be brief. Hi" {
		t.Errorf("Prompt = %q, %v", p, ok)
	}
	for _, b := range []string{`{"messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]}`, `{"prompt":"x"}`, `{"messages":[{"role":"user","content":""}]}`} {
		if p, ok := Prompt([]byte(b)); ok {
			t.Errorf("Prompt(%s) = %q, want not cached", b, p)
		}
	}
	if a, b := pointID("k"), pointID("k2"); a == b || len(a) != 36 || a[8] != '-' {
		t.Errorf("pointID: %q, %q", a, b)
	}
}
