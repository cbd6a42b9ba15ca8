package keys

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/keystore"
	"github.com/llmgate/llmgate/internal/store"
)

// /key/regenerate's grace_period, as LiteLLM keeps a rotated key: the old
// value works, counted against the key that replaced it, until revoke_at;
// without one (or with one that does not parse) it stops at once.
func TestRegenerateGracePeriod(t *testing.T) {
	ctx := context.Background()
	ks := embedded(t)
	var now atomic.Int64
	now.Store(clock.UnixNano())
	open := func(def string) *Service {
		s, err := New(ctx, Options{Store: ks, Counters: store.NewMemory(func() time.Time { return clock }), BatchWriteAt: time.Hour,
			CacheTTL: time.Hour, GracePeriod: def, Now: func() time.Time { return time.Unix(0, now.Load()) }})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	s := open("")
	regenerate := func(s *Service, key, body string) string {
		t.Helper()
		st, out := s.Handle(ctx, "POST", "/key/"+key+"/regenerate", []byte(body), Caller{Admin: true})
		if st != 200 {
			t.Fatalf("/key/regenerate %s: %d %s", body, st, out)
		}
		var m map[string]any
		_ = json.Unmarshal(out, &m)
		return m["key"].(string)
	}
	works := func(s *Service, key, as string) bool {
		t.Helper()
		g, e := s.Authorize(ctx, keystore.HashKey(key), key, []string{"gpt-x"})
		if e != nil {
			t.Fatalf("%s: %v", key, e)
		}
		if g != nil && g.Token != keystore.HashKey(as) {
			t.Fatalf("%s counted against %s, want the key that replaced it", key, g.Token)
		}
		return g != nil
	}

	old := generate(t, s, `{}`)
	nw := regenerate(s, old, `{"grace_period":"1h"}`)
	if !works(s, old, nw) || !works(s, nw, nw) {
		t.Fatal("within the grace period both values must work")
	}
	// Another instance (or a restart) loads the grace period from the store.
	if s2 := open(""); !works(s2, old, nw) {
		t.Fatal("the grace period is not read back from the store")
	}
	now.Add(int64(time.Hour + time.Second))
	if works(s, old, nw) {
		t.Fatal("the old value still works after its grace period")
	}
	if !works(s, nw, nw) {
		t.Fatal("the new value stopped with the old one")
	}

	for _, body := range []string{`{}`, `{"grace_period":"soon"}`, `{"grace_period":"0s"}`} {
		a := generate(t, s, `{}`)
		b := regenerate(s, a, body)
		if works(s, a, b) {
			t.Fatalf("%s: the old value still works", body)
		}
	}

	// LITELLM_KEY_ROTATION_GRACE_PERIOD is the default when a request names none.
	sd := open("10m")
	a := generate(t, sd, `{}`)
	b := regenerate(sd, a, `{}`)
	if !works(sd, a, b) {
		t.Fatal("the default grace period was not applied")
	}
	now.Add(int64(11 * time.Minute))
	if works(sd, a, b) {
		t.Fatal("the old value outlived the default grace period")
	}
}
