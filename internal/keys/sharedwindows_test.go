package keys

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/llmgate/llmgate/internal/keystore"
	"github.com/llmgate/llmgate/internal/store"
	"github.com/llmgate/llmgate/internal/store/redistest"
)

// The Redis keys of a window are LiteLLM's (model_budget_spend_cache_key,
// model_budget_start_time_cache_key) under llmgate's prefix, and a window's
// period starts at its first spend, counts within its period and starts
// again after it; both keys expire with the period.
func TestRedisWindowsKeysAndPeriods(t *testing.T) {
	for _, c := range []struct {
		id           WindowID
		spend, start string
	}{
		{WindowID{winKey, "abc", "gpt-4o", "1d"}, "llmgate:virtual_key_spend:abc:gpt-4o:1d", "llmgate:virtual_key_budget_start_time:abc:gpt-4o:1d"},
		{WindowID{winTeam, "t1", "gpt-4o", "30m"}, "llmgate:team_model_spend:t1:gpt-4o:30m", "llmgate:team_model_budget_start_time:t1:gpt-4o:30m"},
		{WindowID{winUser, "u1", "m", "1h"}, "llmgate:user_model_spend:u1:m:1h", "llmgate:user_model_budget_start_time:u1:m:1h"},
		{WindowID{winEndUser, "c1", "m", "7d"}, "llmgate:end_user_model_spend:c1:m:7d", "llmgate:end_user_budget_start_time:c1:m:7d"},
	} {
		if sk, tk := WindowKeys(c.id); sk != c.spend || tk != c.start {
			t.Errorf("WindowKeys(%v) = %q, %q; want %q, %q", c.id, sk, tk, c.spend, c.start)
		}
	}
	rd := redistest.StartServer(t)
	rc := redis.NewClient(&redis.Options{Addr: rd.Addr()})
	defer rc.Close()
	r := RedisWindows{C: rc}
	ctx := context.Background()
	id := WindowID{winTeam, "t1", "gpt-a", "1h"}
	add := func(at time.Time, cost float64) WindowState {
		t.Helper()
		st, err := r.Add(ctx, []WindowAdd{{WindowID: id, Period: time.Hour, Cost: cost}}, at)
		if err != nil || len(st) != 1 {
			t.Fatalf("Add: %v %v", st, err)
		}
		return st[0]
	}
	t0 := clock
	if st := add(t0, 0.25); st.Start != t0.UnixNano() || st.Spend != 0.25 {
		t.Fatalf("first spend: %+v", st)
	}
	if st := add(t0.Add(59*time.Minute), 0.5); st.Start != t0.UnixNano() || st.Spend != 0.75 {
		t.Fatalf("within the period: %+v", st)
	}
	sk, tk := WindowKeys(id)
	for _, k := range []string{sk, tk} {
		if ttl := rc.PTTL(ctx, k).Val(); ttl <= 0 || ttl > time.Hour {
			t.Fatalf("%s expires in %v, want within the period", k, ttl)
		}
	}
	if got, err := r.Get(ctx, []WindowID{id, {winTeam, "t2", "gpt-a", "1h"}}); err != nil || len(got) != 1 || got[0].Spend != 0.75 || got[0].Start != t0.UnixNano() {
		t.Fatalf("Get: %+v %v", got, err)
	}
	t1 := t0.Add(time.Hour)
	if st := add(t1, 0.125); st.Start != t1.UnixNano() || st.Spend != 0.125 {
		t.Fatalf("after the period: %+v", st)
	}
}

// Two gateway instances on one Redis: a team's per-model budget spent
// through instance a is refused by instance b (its cache and its module's
// key table) within the period, as LiteLLM's limiter reads its Redis
// counters; an instance started afterwards reads the window at start; the
// team's other model is served; without Redis b would serve it.
func TestModelWindowsSharedAcrossInstances(t *testing.T) {
	rd := redistest.StartServer(t)
	ctx := context.Background()
	open := func() *Service {
		t.Helper()
		// Each instance has its own store here, holding the same team and
		// key when the instance starts (as one shared database would).
		ks := embedded(t)
		setup := newService(t, ks, "")
		call(t, setup, "POST", "/team/new", `{"team_id":"t1","model_max_budget":{"gpt-a":{"budget_limit":1,"time_period":"1h"}}}`)
		st, out := setup.Handle(ctx, "POST", "/key/generate", []byte(`{"key":"sk-shared-1","team_id":"t1"}`), Caller{Admin: true})
		if st != 200 {
			t.Fatalf("/key/generate: %d %s", st, out)
		}
		must(t, setup.Close())
		rc := redis.NewClient(&redis.Options{Addr: rd.Addr()})
		t.Cleanup(func() { rc.Close() })
		s, err := New(ctx, Options{Store: ks, Counters: store.NewMemory(func() time.Time { return clock }), BatchWriteAt: time.Hour,
			CacheTTL: time.Hour, Now: func() time.Time { return clock }, Windows: RedisWindows{C: rc}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	a, b := open(), open()
	tok := keystore.HashKey("sk-shared-1")
	check := func(s *Service, model string) *Error {
		_, e := s.Authorize(ctx, tok, "sk-shared-1", []string{model})
		return e
	}
	if e := check(b, "gpt-a"); e != nil {
		t.Fatalf("b before any spend: %+v", e)
	}
	a.Record(SpendEvent{RequestID: "r1", KeyToken: tok, TeamID: "t1", ModelGroup: "gpt-a", Cost: 0.6})
	a.Record(SpendEvent{RequestID: "r2", KeyToken: tok, TeamID: "t1", ModelGroup: "gpt-a", Cost: 0.6})
	if e := check(a, "gpt-a"); e == nil {
		t.Fatal("a serves its own spent budget")
	}
	deadline := time.Now().Add(5 * time.Second)
	var e *Error
	for e = check(b, "gpt-a"); e == nil && time.Now().Before(deadline); e = check(b, "gpt-a") {
		time.Sleep(10 * time.Millisecond)
	}
	if e == nil || e.Type != "budget_exceeded" || !strings.Contains(e.Message, "LiteLLM Team: t1, exceeded budget for model=gpt-a Current cost: 1.2") {
		t.Fatalf("b after a spent the team's gpt-a budget: %+v", e)
	}
	if e := check(b, "gpt-b"); e != nil {
		t.Fatalf("b, the team's other model: %+v", e)
	}
	// b's module view refuses from its key table.
	v := NewView()
	v.now = func() time.Time { return clock }
	v.ApplySnapshot(b.Snapshot())
	if _, e := v.Authorize(ctx, tok, "sk-shared-1", []string{"gpt-a"}); e == nil || e.Type != "budget_exceeded" {
		t.Fatalf("b's module view: %+v", e)
	}
	// b's own spend adds to the shared window: a sees 1.2 + 0.3.
	b.Record(SpendEvent{RequestID: "r3", KeyToken: tok, TeamID: "t1", ModelGroup: "gpt-a", Cost: 0.3})
	deadline = time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if e := check(a, "gpt-a"); e != nil && strings.Contains(e.Message, "Current cost: 1.5") {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if e := check(a, "gpt-a"); e == nil || !strings.Contains(e.Message, "Current cost: 1.5") {
		t.Fatalf("a after b's spend: %+v", e)
	}
	// An instance started now reads the window from Redis at start.
	c := open()
	deadline = time.Now().Add(5 * time.Second)
	for e = check(c, "gpt-a"); e == nil && time.Now().Before(deadline); e = check(c, "gpt-a") {
		time.Sleep(10 * time.Millisecond)
	}
	if e == nil || !strings.Contains(e.Message, "Current cost: 1.5") {
		t.Fatalf("an instance started after the spend: %+v", e)
	}
}

// A window rebuilt from the spend logs at start (D68) is written to Redis
// when Redis has none open (emptied or restarted), so this instance's next
// spend adds to it instead of starting a window without it.
func TestModelWindowsSeededIntoRedis(t *testing.T) {
	rd := redistest.StartServer(t)
	ctx := context.Background()
	ks := embedded(t)
	a := newService(t, ks, "")
	call(t, a, "POST", "/team/new", `{"team_id":"t1","model_max_budget":{"gpt-a":{"budget_limit":1,"time_period":"1h"}}}`)
	a.Record(SpendEvent{RequestID: "r1", TeamID: "t1", ModelGroup: "gpt-a", Cost: 0.7, Start: clock, End: clock})
	must(t, a.Close()) // the batch and its spend log reach the store
	rc := redis.NewClient(&redis.Options{Addr: rd.Addr()})
	defer rc.Close()
	b, err := New(ctx, Options{Store: ks, Counters: store.NewMemory(func() time.Time { return clock }), BatchWriteAt: time.Hour,
		CacheTTL: time.Hour, Now: func() time.Time { return clock }, Windows: RedisWindows{C: rc}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	id := WindowID{winTeam, "t1", "gpt-a", "1h"}
	deadline := time.Now().Add(5 * time.Second)
	var got []WindowState
	for time.Now().Before(deadline) {
		if got, _ = (RedisWindows{C: rc}).Get(ctx, []WindowID{id}); len(got) == 1 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(got) != 1 || got[0].Spend != 0.7 {
		t.Fatalf("the rebuilt window in Redis: %+v", got)
	}
	b.Record(SpendEvent{RequestID: "r2", TeamID: "t1", ModelGroup: "gpt-a", Cost: 0.4, Start: clock, End: clock})
	for deadline = time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if got, _ = (RedisWindows{C: rc}).Get(ctx, []WindowID{id}); len(got) == 1 && got[0].Spend > 1.09 {
			break
		}
	}
	if len(got) != 1 || got[0].Spend < 1.09 || got[0].Spend > 1.11 {
		t.Fatalf("after b's spend: %+v", got)
	}
	if e := b.checkModelWindow(winTeam, "t1", map[string]any{"gpt-a": map[string]any{"budget_limit": 1.0, "time_period": "1h"}}, "gpt-a", clock, func() string { return "LiteLLM Team: t1" }); e == nil {
		t.Fatal("b serves the team's spent gpt-a")
	}
}
