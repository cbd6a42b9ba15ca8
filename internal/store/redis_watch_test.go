package store

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/store/redistest"
)

// TestWatchCooldowns: a cooldown another instance starts (Record's rule, an
// explicit Cooldown) reaches a watcher at once through the channel; one
// set before the watcher subscribed is found by the poll.
func TestWatchCooldowns(t *testing.T) {
	addr, _ := redistest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := newRedisStore(t, addr, nil, nil)
	b := newRedisStore(t, addr, nil, nil)
	// Set before the watch starts: only the poll finds it.
	early := time.Now().Add(30 * time.Second).Truncate(time.Millisecond)
	if _, err := a.Cooldown(ctx, "early", early); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]time.Time{}
	go b.WatchCooldowns(ctx, func() []string { return []string{"early", "x", "y"} }, 300*time.Millisecond, func(id string, until time.Time) {
		mu.Lock()
		seen[id] = until
		mu.Unlock()
	})
	get := func(id string, within time.Duration) time.Time {
		deadline := time.Now().Add(within)
		for time.Now().Before(deadline) {
			mu.Lock()
			u := seen[id]
			mu.Unlock()
			if !u.IsZero() {
				return u
			}
			time.Sleep(5 * time.Millisecond)
		}
		return time.Time{}
	}
	if u := get("early", 2*time.Second); !u.Equal(early) {
		t.Fatalf("the poll found %v for the cooldown set before the watch, want %v", u, early)
	}
	time.Sleep(100 * time.Millisecond) // subscribed by now
	// A 429 rule through Record on instance A: announced, not polled
	// ("z" is not among the polled ids).
	until := time.Now().Add(20 * time.Second).Truncate(time.Millisecond)
	if _, err := a.Record(ctx, Record{DeploymentID: "z", FailureClass: "any", CooldownAfter: -1, CooldownNow: true, CooldownUntil: until}); err != nil {
		t.Fatal(err)
	}
	if u := get("z", time.Second); !u.Equal(until) {
		t.Fatalf("instance B heard %v for the cooldown instance A's Record started, want %v", u, until)
	}
	until2 := time.Now().Add(40 * time.Second).Truncate(time.Millisecond)
	if _, err := a.Cooldown(ctx, "w", until2); err != nil {
		t.Fatal(err)
	}
	if u := get("w", time.Second); !u.Equal(until2) {
		t.Fatalf("instance B heard %v for instance A's Cooldown, want %v", u, until2)
	}
}
