package store

import (
	"context"
	"sync"
	"testing"
	"time"
)

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2025, 3, 1, 12, 0, 10, 0, time.UTC)}
}

// storeContract runs the behaviour every Store must have. clk drives the
// store's clock; advancing it must be reflected in the store.
func storeContract(t *testing.T, s Store, clk *testClock) {
	ctx := context.Background()
	t.Helper()

	t.Run("begin counts and limits", func(t *testing.T) {
		for i := 1; i <= 3; i++ {
			res, err := s.Begin(ctx, "d1", Limits{RPM: 3})
			if err != nil || !res.Allowed || res.RPM != int64(i) || res.InFlight != int64(i) {
				t.Fatalf("begin %d: %+v %v", i, res, err)
			}
		}
		res, err := s.Begin(ctx, "d1", Limits{RPM: 3})
		if err != nil || res.Allowed || res.Reason != "rpm" || res.RPM != 3 {
			t.Fatalf("4th begin: %+v %v", res, err)
		}
		st, err := s.Read(ctx, []string{"d1", "unknown"}, ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if st["d1"].RPM != 3 || st["d1"].InFlight != 3 {
			t.Fatalf("state %+v", st["d1"])
		}
		if _, ok := st["unknown"]; !ok {
			t.Fatal("unknown id missing from Read")
		}
		for range 5 { // more Ends than Begins never go negative
			if err := s.End(ctx, "d1"); err != nil {
				t.Fatal(err)
			}
		}
		st, _ = s.Read(ctx, []string{"d1"}, ReadOptions{})
		if st["d1"].InFlight != 0 {
			t.Fatalf("inflight %d after ends", st["d1"].InFlight)
		}
		// max parallel
		if r, _ := s.Begin(ctx, "p1", Limits{MaxParallel: 1}); !r.Allowed {
			t.Fatal("first parallel refused")
		}
		if r, _ := s.Begin(ctx, "p1", Limits{MaxParallel: 1}); r.Allowed || r.Reason != "max_parallel_requests" {
			t.Fatalf("second parallel: %+v", r)
		}
		// next minute: rpm starts again
		clk.Add(time.Minute)
		if r, _ := s.Begin(ctx, "d1", Limits{RPM: 3}); !r.Allowed || r.RPM != 1 {
			t.Fatalf("next minute: %+v", r)
		}
		_ = s.End(ctx, "d1")
		_ = s.End(ctx, "p1")
	})

	t.Run("record tokens latency failures", func(t *testing.T) {
		r, err := s.Record(ctx, Record{DeploymentID: "d2", Tokens: 100, HasLatency: true, Latency: 1.5, LatencyMax: 3})
		if err != nil || r.TPM != 100 {
			t.Fatalf("%+v %v", r, err)
		}
		for i, l := range []float64{2, 3, 4} {
			r, _ = s.Record(ctx, Record{DeploymentID: "d2", Tokens: 10, HasLatency: true, Latency: l, LatencyMax: 3})
			if r.TPM != int64(110+10*i) {
				t.Fatalf("tpm %d", r.TPM)
			}
		}
		st, _ := s.Read(ctx, []string{"d2"}, ReadOptions{Latencies: true})
		if got := st["d2"].Latencies; len(got) != 3 || got[0] != 4 || got[2] != 2 {
			t.Fatalf("latencies %v", got)
		}
		if st["d2"].TPM != 130 {
			t.Fatalf("tpm read %d", st["d2"].TPM)
		}
		// failures: cooldown after more than 2
		until := clk.Now().Add(5 * time.Second)
		for i := 1; i <= 3; i++ {
			r, _ = s.Record(ctx, Record{DeploymentID: "d2", FailureClass: "RateLimit", CooldownAfter: 2, CooldownUntil: until})
			if r.Failures != int64(i) || r.CooledDown != (i == 3) {
				t.Fatalf("failure %d: %+v", i, r)
			}
		}
		st, _ = s.Read(ctx, []string{"d2"}, ReadOptions{})
		if !st["d2"].CoolingDown(clk.Now()) || !st["d2"].CooldownUntil.Equal(until) {
			t.Fatalf("cooldown %v", st["d2"].CooldownUntil)
		}
		// CooldownNow with no count rule
		r, _ = s.Record(ctx, Record{DeploymentID: "d3", FailureClass: "RateLimit", CooldownAfter: -1, CooldownNow: true, CooldownUntil: until})
		if !r.CooledDown || r.Failures != 1 {
			t.Fatalf("cooldown now: %+v", r)
		}
		// Other classes count separately.
		r, _ = s.Record(ctx, Record{DeploymentID: "d2", FailureClass: "Timeout", CooldownAfter: -1})
		if r.Failures != 1 || r.CooledDown {
			t.Fatalf("timeout class: %+v", r)
		}
	})

	t.Run("cooldown extends never shortens", func(t *testing.T) {
		now := clk.Now()
		first := now.Add(10 * time.Second)
		got, err := s.Cooldown(ctx, "c1", first)
		if err != nil || !got.Equal(first) {
			t.Fatalf("first %v %v", got, err)
		}
		later := now.Add(30 * time.Second)
		if got, _ = s.Cooldown(ctx, "c1", later); !got.Equal(later) {
			t.Fatalf("second cooldown kept %v, want extension to %v", got, later)
		}
		if got, _ = s.Cooldown(ctx, "c1", now.Add(5*time.Second)); !got.Equal(later) {
			t.Fatalf("shorter cooldown shortened it to %v", got)
		}
		clk.Add(31 * time.Second)
		st, _ := s.Read(ctx, []string{"c1"}, ReadOptions{})
		if st["c1"].CoolingDown(clk.Now()) {
			t.Fatalf("still cooling down at %v: %v", clk.Now(), st["c1"].CooldownUntil)
		}
	})

	t.Run("kv", func(t *testing.T) {
		if _, ok, _ := s.Get(ctx, "k"); ok {
			t.Fatal("k exists")
		}
		if err := s.Set(ctx, "k", []byte("v"), 10*time.Second); err != nil {
			t.Fatal(err)
		}
		if v, ok, _ := s.Get(ctx, "k"); !ok || string(v) != "v" {
			t.Fatalf("get %q %v", v, ok)
		}
		if n, _ := s.Incr(ctx, "n", 5, time.Minute); n != 5 {
			t.Fatalf("incr %d", n)
		}
		if n, _ := s.Incr(ctx, "n", 2, time.Minute); n != 7 {
			t.Fatalf("incr %d", n)
		}
		if err := s.Delete(ctx, "k"); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := s.Get(ctx, "k"); ok {
			t.Fatal("k survived Delete")
		}
	})
}

func TestMemoryContract(t *testing.T) {
	clk := newTestClock()
	storeContract(t, NewMemory(clk.Now), clk)
}

func TestMemoryExpiry(t *testing.T) {
	clk := newTestClock()
	m := NewMemory(clk.Now)
	ctx := context.Background()
	_ = m.Set(ctx, "k", []byte("v"), time.Second)
	_, _ = m.Begin(ctx, "d", Limits{})
	clk.Add(2 * time.Second)
	if _, ok, _ := m.Get(ctx, "k"); ok {
		t.Fatal("k did not expire")
	}
	clk.Add(defaultInFlightTTL)
	st, _ := m.Read(ctx, []string{"d"}, ReadOptions{})
	if st["d"].InFlight != 0 {
		t.Fatalf("leaked in-flight count %d survived its safety TTL", st["d"].InFlight)
	}
}

func TestMemoryConcurrentBeginHardLimit(t *testing.T) {
	m := NewMemory(newTestClock().Now)
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				r, _ := m.Begin(context.Background(), "d", Limits{RPM: 100})
				if r.Allowed {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if allowed != 100 {
		t.Fatalf("allowed %d, want exactly 100", allowed)
	}
}
