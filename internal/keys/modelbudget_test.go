package keys

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/keystore"
	"github.com/llmgate/llmgate/internal/store"
)

// Per-model budgets of teams, internal users, end users and keys over their
// periods (LiteLLM's model_max_budget with time_period): a spent model is
// refused with budget_exceeded while the entity's other models still work;
// a team's entry yields to the key's own; the period restarts; the module's
// view (the key table) refuses the same.
func TestModelBudgetsPerEntity(t *testing.T) {
	ctx := context.Background()
	now := clock
	s, err := New(ctx, Options{Store: embedded(t), Counters: store.NewMemory(func() time.Time { return now }),
		BatchWriteAt: time.Hour, CacheTTL: time.Hour, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	team := call(t, s, "POST", "/team/new", `{"team_id":"t1","model_max_budget":{"gpt-a":{"budget_limit":1,"time_period":"1h"}}}`)
	if mmb, _ := team["model_max_budget"].(map[string]any); mmb["gpt-a"] == nil {
		t.Fatalf("/team/new model_max_budget: %v", team)
	}
	user := call(t, s, "POST", "/user/new", `{"user_id":"u1","model_max_budget":{"gpt-b":{"max_budget":2,"budget_duration":"1d"}}}`)
	if mmb, _ := user["model_max_budget"].(map[string]any); mmb["gpt-b"] == nil {
		t.Fatalf("/user/new model_max_budget: %v", user)
	}
	if info := call(t, s, "GET", "/team/info?team_id=t1", ""); info["team_info"] == nil {
		t.Fatalf("/team/info: %v", info)
	} else if mmb, _ := info["team_info"].(map[string]any)["model_max_budget"].(map[string]any); mmb["gpt-a"] == nil {
		t.Fatalf("/team/info model_max_budget: %v", info)
	}
	k1 := generate(t, s, `{"team_id":"t1","user_id":"u1"}`)
	k2 := generate(t, s, `{"team_id":"t1","model_max_budget":{"gpt-a":{"budget_limit":5,"time_period":"1h"}}}`)
	k3 := generate(t, s, `{"key_alias":"k3","model_max_budget":{"gpt-c":{"budget_limit":0.5,"time_period":"30m"}}}`)
	check := func(key, model string) *Error {
		_, e := s.Authorize(ctx, keystore.HashKey(key), key, []string{model})
		return e
	}
	wantRefused := func(e *Error, who string) {
		t.Helper()
		if e == nil || e.Status != 400 || e.Type != "budget_exceeded" || !strings.Contains(e.Message, who) {
			t.Fatalf("want budget_exceeded naming %q, got %+v", who, e)
		}
	}
	for _, m := range []string{"gpt-a", "gpt-b", "gpt-c"} {
		if e := check(k1, m); e != nil {
			t.Fatalf("fresh key on %s: %+v", m, e)
		}
	}
	// The team's gpt-a budget, spent by k1.
	s.Record(SpendEvent{RequestID: "r1", KeyToken: keystore.HashKey(k1), TeamID: "t1", UserID: "u1", ModelGroup: "gpt-a", Cost: 1})
	wantRefused(check(k1, "gpt-a"), "LiteLLM Team: t1, exceeded budget for model=gpt-a Current cost: 1.0, Max budget: 1.0")
	wantRefused(check(k1, "openai/gpt-a"), "LiteLLM Team: t1") // the model without its provider prefix
	if e := check(k1, "gpt-c"); e != nil {
		t.Fatalf("another model of the team: %+v", e)
	}
	// k2's own gpt-a entry overrides the team's: served, and its spend is
	// the key's alone.
	if e := check(k2, "gpt-a"); e != nil {
		t.Fatalf("a key with its own gpt-a budget: %+v", e)
	}
	s.Record(SpendEvent{RequestID: "r2", KeyToken: keystore.HashKey(k2), TeamID: "t1", ModelGroup: "gpt-a", Cost: 4})
	if e := check(k2, "gpt-a"); e != nil {
		t.Fatalf("key budget 5, spent 4: %+v", e)
	}
	s.Record(SpendEvent{RequestID: "r3", KeyToken: keystore.HashKey(k2), TeamID: "t1", ModelGroup: "gpt-a", Cost: 1})
	wantRefused(check(k2, "gpt-a"), "LiteLLM Virtual Key: "+keystore.HashKey(k2)+", key_alias: None, exceeded budget for model=gpt-a")
	// The user's gpt-b budget.
	s.Record(SpendEvent{RequestID: "r4", KeyToken: keystore.HashKey(k1), TeamID: "t1", UserID: "u1", ModelGroup: "gpt-b", Cost: 2})
	wantRefused(check(k1, "gpt-b"), "LiteLLM User: u1, exceeded budget for model=gpt-b")
	// /user/info and /key/info report each budget's current period (LiteLLM's model_max_budget_usage).
	ui := call(t, s, "GET", "/user/info?user_id=u1", "")["user_info"].(map[string]any)
	if u, _ := ui["model_max_budget_usage"].(map[string]any)["gpt-b"].(map[string]any); u == nil || u["current_spend"] != 2.0 ||
		u["budget_limit"] != 2.0 || u["time_period"] != "1d" {
		t.Fatalf("/user/info model_max_budget_usage: %v", ui["model_max_budget_usage"])
	}
	ki := call(t, s, "GET", "/key/info?key="+k2, "")["info"].(map[string]any)
	if u, _ := ki["model_max_budget_usage"].(map[string]any)["gpt-a"].(map[string]any); u == nil || u["current_spend"] != 5.0 || u["time_period"] != "1h" {
		t.Fatalf("/key/info model_max_budget_usage: %v", ki["model_max_budget_usage"])
	}
	// A key's budget with a period.
	s.Record(SpendEvent{RequestID: "r5", KeyToken: keystore.HashKey(k3), ModelGroup: "gpt-c", Cost: 0.5})
	wantRefused(check(k3, "gpt-c"), "key_alias: k3, exceeded budget for model=gpt-c")
	if e := check(k3, "gpt-a"); e != nil {
		t.Fatalf("k3 on another model: %+v", e)
	}
	// An end user's budget row (/budget/new, /customer/new), for the master
	// key too.
	call(t, s, "POST", "/budget/new", `{"budget_id":"cb","model_max_budget":{"gpt-c":{"budget_limit":0.25,"time_period":"1d"}}}`)
	call(t, s, "POST", "/customer/new", `{"user_id":"acme","budget_id":"cb"}`)
	s.Record(SpendEvent{RequestID: "r6", EndUser: "acme", ModelGroup: "gpt-c", Cost: 0.25})
	_, e := s.AuthorizeRequest(ctx, Check{EndUser: "acme", Models: []string{"gpt-c"}})
	wantRefused(e, "LiteLLM End User: acme, exceeded budget for model=gpt-c")
	if _, e := s.AuthorizeRequest(ctx, Check{EndUser: "acme", Models: []string{"gpt-a"}}); e != nil {
		t.Fatalf("the customer's other model: %+v", e)
	}

	// The module's view refuses the same (its clock is the wall clock: the
	// windows it gets must still be open then).
	view := NewView()
	for _, p := range s.Snapshot().Split() {
		view.ApplySnapshot(p)
	}
	view.now = func() time.Time { return now }
	for _, c := range []struct{ key, model string }{{k1, "gpt-a"}, {k1, "gpt-b"}, {k2, "gpt-a"}, {k3, "gpt-c"}, {k1, "gpt-c"}} {
		_, want := s.Authorize(ctx, keystore.HashKey(c.key), c.key, []string{c.model})
		_, got := view.Authorize(ctx, keystore.HashKey(c.key), c.key, []string{c.model})
		if (want == nil) != (got == nil) || want != nil && want.Message != got.Message {
			t.Errorf("view on %s: %+v, cache: %+v", c.model, got, want)
		}
	}

	// The periods restart: after 1h the team's gpt-a and k2's, not the user's
	// gpt-b (1d).
	now = now.Add(time.Hour)
	if e := check(k1, "gpt-a"); e != nil {
		t.Fatalf("team's gpt-a after its period: %+v", e)
	}
	if e := check(k2, "gpt-a"); e != nil {
		t.Fatalf("k2's gpt-a after its period: %+v", e)
	}
	wantRefused(check(k1, "gpt-b"), "LiteLLM User: u1")
	s.Record(SpendEvent{RequestID: "r7", KeyToken: keystore.HashKey(k1), TeamID: "t1", UserID: "u1", ModelGroup: "gpt-a", Cost: 0.5})
	if e := check(k1, "gpt-a"); e != nil {
		t.Fatalf("a new period starts at its first spend: %+v", e)
	}
	now = now.Add(24 * time.Hour)
	if e := check(k1, "gpt-b"); e != nil {
		t.Fatalf("user's gpt-b after a day: %+v", e)
	}
}

// A spend that crosses a model budget pushes the module's table at once.
func TestModelBudgetCrossingPushes(t *testing.T) {
	s := newService(t, embedded(t), "")
	defer s.Close()
	ch := pushes(s, time.Hour)
	next(ch, 2*time.Second)
	k := generate(t, s, `{"model_max_budget":{"gpt-a":{"budget_limit":1,"time_period":"1d"}}}`)
	tok := keystore.HashKey(k)
	next(ch, 2*time.Second)
	s.Record(SpendEvent{KeyToken: tok, ModelGroup: "gpt-a", Cost: 0.5})
	if sn := next(ch, 300*time.Millisecond); sn != nil {
		t.Fatalf("pushed after a spend that crosses nothing")
	}
	s.Record(SpendEvent{KeyToken: tok, ModelGroup: "gpt-a", Cost: 0.5})
	sn := next(ch, 2*time.Second)
	if sn == nil {
		t.Fatal("not pushed after the model budget was crossed")
	}
	found := false
	for _, w := range sn.Windows {
		if w.Kind == winKey && w.ID == tok && len(w.Windows) == 1 && w.Windows[0].Spend == 1 {
			found = true
		}
	}
	if !found {
		t.Fatalf("the pushed table lacks the key's window: %+v", sn.Windows)
	}
}

// After a restart the model windows are rebuilt from the spend logs of each
// period (LiteLLM's cold-cache fallback): a spent model stays refused, one
// whose period has passed since is served.
func TestModelWindowsSurviveRestart(t *testing.T) {
	ctx := context.Background()
	ks := embedded(t)
	now := clock
	open := func() *Service {
		s, err := New(ctx, Options{Store: ks, Counters: store.NewMemory(func() time.Time { return now }),
			BatchWriteAt: time.Hour, CacheTTL: time.Hour, Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := open()
	call(t, s, "POST", "/team/new", `{"team_id":"t1","model_max_budget":{"gpt-a":{"budget_limit":1,"time_period":"1h"}}}`)
	call(t, s, "POST", "/user/new", `{"user_id":"u1","model_max_budget":{"gpt-b":{"budget_limit":1,"time_period":"1d"}}}`)
	k := generate(t, s, `{"team_id":"t1","user_id":"u1"}`)
	tok := keystore.HashKey(k)
	s.Record(SpendEvent{RequestID: "a", KeyToken: tok, TeamID: "t1", UserID: "u1", ModelGroup: "gpt-a", Cost: 1, Start: now, End: now})
	s.Record(SpendEvent{RequestID: "b", KeyToken: tok, TeamID: "t1", UserID: "u1", ModelGroup: "gpt-b", Cost: 1, Start: now, End: now})
	must(t, s.flush(ctx))
	s.Close()

	now = clock.Add(10 * time.Minute)
	s = open()
	for _, m := range []string{"gpt-a", "gpt-b"} {
		if _, e := s.Authorize(ctx, tok, k, []string{m}); e == nil || e.Type != "budget_exceeded" {
			t.Fatalf("%s after a restart within its period: %+v", m, e)
		}
	}
	s.Close()
	now = clock.Add(2 * time.Hour)
	s = open()
	defer s.Close()
	if _, e := s.Authorize(ctx, tok, k, []string{"gpt-a"}); e != nil {
		t.Fatalf("gpt-a after its 1h period: %+v", e)
	}
	if _, e := s.Authorize(ctx, tok, k, []string{"gpt-b"}); e == nil || e.Type != "budget_exceeded" {
		t.Fatalf("gpt-b within its 1d period: %+v", e)
	}
}
