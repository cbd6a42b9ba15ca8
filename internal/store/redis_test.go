package store

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/store/redistest"
)

func newRedisStore(t *testing.T, addr string, clk Clock, log *slog.Logger) *Redis {
	t.Helper()
	return newRedisStoreTimeout(t, addr, clk, log, 200*time.Millisecond)
}

// newRedisStoreTimeout is newRedisStore with another per-operation timeout.
func newRedisStoreTimeout(t *testing.T, addr string, clk Clock, log *slog.Logger, timeout time.Duration) *Redis {
	t.Helper()
	s, err := NewRedis(RedisOptions{Addr: addr, Clock: clk, Logger: log, RetryInterval: 50 * time.Millisecond, Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestRedisContract(t *testing.T) {
	addr, _ := redistest.Start(t)
	clk := newTestClock()
	clk.t = time.Now().UTC().Truncate(time.Millisecond) // Redis TTLs run on real time; keep the clock near it
	s := newRedisStore(t, addr, clk.Now, nil)
	storeContract(t, s, clk)
	if !s.Healthy() {
		t.Fatal("store fell back to local during the contract run")
	}
}

func TestRedisSharedBetweenInstances(t *testing.T) {
	addr, _ := redistest.Start(t)
	ctx := context.Background()
	a := newRedisStore(t, addr, nil, nil)
	b := newRedisStore(t, addr, nil, nil)
	if r, _ := a.Begin(ctx, "d", Limits{RPM: 2}); !r.Allowed || r.RPM != 1 {
		t.Fatalf("a: %+v", r)
	}
	if r, _ := b.Begin(ctx, "d", Limits{RPM: 2}); !r.Allowed || r.RPM != 2 {
		t.Fatalf("b sees a's request? %+v", r)
	}
	if r, _ := a.Begin(ctx, "d", Limits{RPM: 2}); r.Allowed {
		t.Fatalf("third request across instances allowed: %+v", r)
	}
	until := time.Now().Add(10 * time.Second)
	if _, err := a.Cooldown(ctx, "d", until); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Record(ctx, Record{DeploymentID: "d", Tokens: 42}); err != nil {
		t.Fatal(err)
	}
	st, _ := b.Read(ctx, []string{"d"}, ReadOptions{})
	if st["d"].CooldownUntil.UnixMilli() != until.UnixMilli() || st["d"].TPM != 42 || st["d"].InFlight != 2 {
		t.Fatalf("b state %+v", st["d"])
	}
	_ = a.Set(ctx, "k", []byte("v"), time.Minute)
	if v, ok, _ := b.Get(ctx, "k"); !ok || string(v) != "v" {
		t.Fatalf("b get %q %v", v, ok)
	}
}

func TestRedisConcurrentHardLimit(t *testing.T) {
	addr, _ := redistest.Start(t)
	const limit = 60
	fixed := time.Now() // one minute window for the whole run
	clk := func() time.Time { return fixed }
	// This test is about atomicity across instances, not about outages: a
	// loaded CI machine must not push an operation past its timeout, which
	// would (by design) fall back to local counts and overshoot the limit.
	var fellBack atomic.Int64
	log := slog.New(countingHandler{&fellBack})
	stores := []*Redis{
		newRedisStoreTimeout(t, addr, clk, log, 10*time.Second),
		newRedisStoreTimeout(t, addr, clk, log, 10*time.Second),
		newRedisStoreTimeout(t, addr, clk, log, 10*time.Second),
	}
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := stores[i%len(stores)]
			for range 5 {
				r, err := s.Begin(context.Background(), "hard", Limits{RPM: limit})
				if err != nil {
					t.Error(err)
					return
				}
				if r.Allowed {
					allowed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if n := fellBack.Load(); n > 0 {
		t.Fatalf("a store fell back to local state %d times during the run; the count is not a shared one", n)
	}
	if got := allowed.Load(); got != limit {
		t.Fatalf("allowed %d of 150 requests across 3 instances, want exactly the limit %d", got, limit)
	}
}

func TestRedisDownAndBack(t *testing.T) {
	srv := redistest.StartServer(t)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	ctx := context.Background()
	// a's clock stands still: its counts are all in one minute (on the
	// wall clock the test failed when it crossed a minute: RPM 20, want 21).
	clk := newTestClock()
	clk.t = time.Now().UTC()
	a := newRedisStore(t, srv.Addr(), clk.Now, log)
	b := newRedisStore(t, srv.Addr(), nil, nil)
	if r, _ := a.Begin(ctx, "d", Limits{}); !r.Allowed {
		t.Fatal("begin")
	}

	srv.Stop()
	start := time.Now()
	for i := range 20 {
		r, err := a.Begin(ctx, "d", Limits{RPM: 1000})
		if err != nil || !r.Allowed {
			t.Fatalf("begin %d while down: %+v %v", i, r, err)
		}
		if _, err := a.Record(ctx, Record{DeploymentID: "d", Tokens: 1}); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Read(ctx, []string{"d"}, ReadOptions{Latencies: true}); err != nil {
			t.Fatal(err)
		}
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("60 operations with Redis down took %v", el)
	}
	st, _ := a.Read(ctx, []string{"d"}, ReadOptions{})
	if st["d"].RPM != 21 || st["d"].TPM != 20 {
		t.Fatalf("local state while down: %+v", st["d"])
	}
	if a.Healthy() {
		t.Fatal("Healthy() true with Redis down")
	}
	if n := strings.Count(logs.String(), "redis unreachable"); n != 1 {
		t.Fatalf("warned %d times, want once:\n%s", n, logs.String())
	}

	srv.Restart()
	time.Sleep(60 * time.Millisecond) // past RetryInterval
	if _, err := a.Cooldown(ctx, "d", time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if !a.Healthy() {
		t.Fatal("a did not resume using Redis")
	}
	if n := strings.Count(logs.String(), "redis reachable again"); n != 1 {
		t.Fatalf("logged recovery %d times:\n%s", n, logs.String())
	}
	st, _ = b.Read(ctx, []string{"d"}, ReadOptions{})
	if !st["d"].CoolingDown(time.Now()) {
		t.Fatal("cooldown set after recovery is not shared")
	}
}

func TestRedisOptionsFromSettings(t *testing.T) {
	env := map[string]string{"REDIS_HOST": "envhost", "REDIS_PASSWORD": "envpw"}
	getenv := func(k string) string { return env[k] }
	tests := []struct {
		name string
		in   RedisSettings
		env  func(string) string
		ok   bool
		addr string
		pw   string
		url  string
	}{
		{name: "none", in: RedisSettings{}, env: func(string) string { return "" }},
		{name: "host default port", in: RedisSettings{Host: "h"}, ok: true, addr: "h:6379"},
		{name: "host port pw", in: RedisSettings{Host: "h", Port: "7000", Password: "p"}, ok: true, addr: "h:7000", pw: "p"},
		{name: "env", in: RedisSettings{}, env: getenv, ok: true, addr: "envhost:6379", pw: "envpw"},
		{name: "url", in: RedisSettings{URL: "redis://x:1"}, env: func(string) string { return "" }, ok: true, url: "redis://x:1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, ok := RedisOptionsFromSettings(tc.in, tc.env)
			if ok != tc.ok || o.Addr != tc.addr || o.Password != tc.pw || o.URL != tc.url {
				t.Fatalf("got %+v %v", o, ok)
			}
		})
	}
}

// countingHandler counts warnings (the store logs one each time it falls
// back to local state).
type countingHandler struct{ n *atomic.Int64 }

func (h countingHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (h countingHandler) Handle(context.Context, slog.Record) error    { h.n.Add(1); return nil }
func (h countingHandler) WithAttrs([]slog.Attr) slog.Handler           { return h }
func (h countingHandler) WithGroup(string) slog.Handler                { return h }

// TestRedisCrashedHolder (D146): two instances share a parallel limit of 2;
// the slots of an instance that stops without ending them (its liveness key
// no longer renewed) come back to the other once its HolderTTL passes, and
// the survivor's own slots are never taken back; the stopped instance's late
// End ends nothing of the survivor's.
func TestRedisCrashedHolder(t *testing.T) {
	addr, _ := redistest.Start(t)
	ctx := context.Background()
	open := func() *Redis {
		s, err := NewRedis(RedisOptions{Addr: addr, RetryInterval: 50 * time.Millisecond, Timeout: 200 * time.Millisecond, HolderTTL: 600 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	a, b := open(), open()
	lim := Limits{MaxParallel: 2}
	if r, _ := a.Begin(ctx, "key:k", lim); !r.Allowed {
		t.Fatalf("a's first: %+v", r)
	}
	if r, _ := b.Begin(ctx, "key:k", lim); !r.Allowed || r.InFlight != 2 {
		t.Fatalf("b's first: %+v, want allowed with 2 in flight", r)
	}
	if r, _ := b.Begin(ctx, "key:k", lim); r.Allowed {
		t.Fatalf("a third slot across instances: %+v", r)
	}
	// b stays alive (its loop renews) for several of its TTLs: never taken back.
	time.Sleep(2 * time.Second)
	if r, _ := a.Begin(ctx, "key:k", lim); r.Allowed {
		t.Fatalf("b's live slot was taken back: %+v", r)
	}
	// a crashes: its loop stops, its slot stays counted until its TTL passes.
	a.closeOnce.Do(func() { close(a.closed) })
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err := b.Begin(ctx, "key:k", lim)
		if err != nil {
			t.Fatal(err)
		}
		if r.Allowed {
			if r.InFlight != 2 {
				t.Fatalf("after a's slot came back: %+v, want 2 in flight (b's two)", r)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the crashed instance's slot never came back")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// a's late End must not end one of b's slots.
	_ = a.End(ctx, "key:k")
	if r, _ := b.Begin(ctx, "key:k", lim); r.Allowed {
		t.Fatalf("a's late End freed one of b's slots: %+v", r)
	}
	_ = b.End(ctx, "key:k")
	if r, _ := b.Begin(ctx, "key:k", lim); !r.Allowed {
		t.Fatalf("b's End freed nothing: %+v", r)
	}
}
