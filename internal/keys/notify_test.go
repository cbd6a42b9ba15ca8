package keys

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/llmgate/llmgate/internal/keystore"
	"github.com/llmgate/llmgate/internal/store/redistest"
)

// Two instances on one store and one Redis: a key generated, blocked or
// deleted on one is seen by the other at once (pub/sub), not after
// user_api_key_cache_ttl (an hour here).
func TestKeyChangesReachOtherInstancesOverRedis(t *testing.T) {
	addr, _ := redistest.Start(t)
	ks := embedded(t)
	open := func() *Service {
		c := redis.NewClient(&redis.Options{Addr: addr})
		t.Cleanup(func() { c.Close() })
		s, err := New(context.Background(), Options{Store: ks, Notifier: RedisNotifier{C: c}, CacheTTL: time.Hour, BatchWriteAt: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	a, b := open(), open()
	time.Sleep(200 * time.Millisecond) // both subscribed
	key := generate(t, a, `{}`)
	tok := keystore.HashKey(key)
	waitFor(t, "the new key on the other instance", func() bool { _, _, ok := b.Lookup(tok); return ok })
	call(t, a, "POST", "/key/block", `{"key":"`+key+`"}`)
	waitFor(t, "the block on the other instance", func() bool { k, _, ok := b.Lookup(tok); return ok && k.Blocked })
	call(t, a, "POST", "/key/delete", `{"keys":["`+key+`"]}`)
	waitFor(t, "the delete on the other instance", func() bool { _, _, ok := b.Lookup(tok); return !ok })
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5 s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
