package store

import (
	"context"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/store/redistest"
)

// TestPinsShared (D179): a pin one instance announces reaches a watcher on
// another, key (any bytes), deployment and TTL intact.
func TestPinsShared(t *testing.T) {
	addr, _ := redistest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := newRedisStore(t, addr, nil, nil)
	b := newRedisStore(t, addr, nil, nil)
	type pin struct {
		key, dep string
		ttl      time.Duration
	}
	got := make(chan pin, 4)
	go b.WatchPins(ctx, func(key, dep string, ttl time.Duration) { got <- pin{key, dep, ttl} })
	want := pin{"aff\x00gpt\x00session\x00k 1\x00s", "dep a", 5 * time.Minute}
	// The subscription is made asynchronously: announce until heard.
	for deadline := time.Now().Add(10 * time.Second); ; {
		if err := a.PublishPin(ctx, want.key, want.dep, want.ttl); err != nil {
			t.Fatal(err)
		}
		select {
		case p := <-got:
			if p != want {
				t.Fatalf("heard %+v, want %+v", p, want)
			}
			return
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no pin heard in 10 s")
		}
	}
}
