package store

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/llmgate/llmgate/internal/store/redistest"
)

// scriptGate counts the scripts a client runs (EVALSHA) and holds the first
// until released.
type scriptGate struct {
	calls   atomic.Int64
	release chan struct{}
}

func (g *scriptGate) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return next(ctx, network, addr) }
}

func (g *scriptGate) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if cmd.Name() == "evalsha" {
			if g.calls.Add(1) == 1 {
				<-g.release
			}
		}
		return next(ctx, cmd)
	}
}

func (g *scriptGate) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// TestRedisTPMBatched (D95): a success's Record (tokens only) returns
// without a round trip, the tokens recorded while a write is in flight go
// to Redis in one script call, the instance reads its own tokens at once,
// another instance reads them from Redis, and Close writes what is queued.
// A Record with a failure or a latency sample still runs its own script.
func TestRedisTPMBatched(t *testing.T) {
	addr, _ := redistest.Start(t)
	ctx := context.Background()
	a := newRedisStore(t, addr, nil, nil)
	b := newRedisStore(t, addr, nil, nil)
	g := &scriptGate{release: make(chan struct{})}
	a.Client().AddHook(g)

	// The first Record's write is held in Redis' client; the 99 after it
	// return at once and queue.
	record := func(i int) {
		done := make(chan struct{})
		go func() {
			defer close(done)
			if _, err := a.Record(ctx, Record{DeploymentID: "d", Tokens: int64(i + 1), CooldownAfter: -1}); err != nil {
				t.Error(err)
			}
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("Record %d waited for Redis", i)
		}
	}
	record(0)
	for g.calls.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	for i := 1; i < 100; i++ {
		record(i)
	}
	close(g.release)
	const want = 100 * 101 / 2
	st, _ := a.Read(ctx, []string{"d"}, ReadOptions{})
	if st["d"].TPM != want {
		t.Fatalf("the instance reads tpm %d, want %d", st["d"].TPM, want)
	}
	if n := g.calls.Load(); n != 2 {
		t.Fatalf("%d scripts for 100 answers' tokens, want 2 (the first answer's, then the 99 queued meanwhile)", n)
	}
	if st, _ := b.Read(ctx, []string{"d"}, ReadOptions{}); st["d"].TPM != want {
		t.Fatalf("another instance reads tpm %d, want %d", st["d"].TPM, want)
	}

	// A failure is its own script, at once.
	until := time.Now().Add(time.Minute)
	res, err := a.Record(ctx, Record{DeploymentID: "d", FailureClass: "any", CooldownAfter: -1, CooldownNow: true, CooldownUntil: until})
	if err != nil || !res.CooledDown || g.calls.Load() != 3 {
		t.Fatalf("failure: %+v %v, %d scripts", res, err, g.calls.Load())
	}
	// Another instance's success reports the cooldown in force once its
	// batch has read it.
	if _, err := b.Record(ctx, Record{DeploymentID: "d", Tokens: 1, CooldownAfter: -1}); err != nil {
		t.Fatal(err)
	}
	b.waitTPM()
	if res, _ := b.Record(ctx, Record{DeploymentID: "d", Tokens: 1, CooldownAfter: -1}); res.CooldownUntil.UnixMilli() != until.UnixMilli() {
		t.Fatalf("b's success reports cooldown %v, want %v", res.CooldownUntil, until)
	}

	// Close writes the queued tokens.
	c := newRedisStore(t, addr, nil, nil)
	for range 10 {
		_, _ = c.Record(ctx, Record{DeploymentID: "e", Tokens: 5, CooldownAfter: -1})
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if st, _ := b.Read(ctx, []string{"e"}, ReadOptions{}); st["e"].TPM != 50 {
		t.Fatalf("after Close another instance reads tpm %d, want 50", st["e"].TPM)
	}
}
