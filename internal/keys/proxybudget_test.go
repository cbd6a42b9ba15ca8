package keys

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/keystore"
)

// litellm_settings.max_budget and budget_duration (D90), on the embedded
// store and on PostgreSQL: the litellm-proxy-budget row is written, every
// request's cost is added to it (in the store after a batch), a virtual
// key is refused past it with LiteLLM's message, a module view of the
// table refuses too, and the period restarts after budget_duration.
func TestProxyBudget(t *testing.T) {
	for name, open := range keyStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			now := clock
			ks := open(t)
			s := clockService(t, ks, &now)
			must(t, s.SetProxyBudget(ctx, ptr(1.0), "1h"))
			u, err := ks.GetUser(ctx, ProxyBudgetUser)
			if err != nil || u.MaxBudget == nil || *u.MaxBudget != 1 || u.BudgetDuration != "1h" || u.BudgetResetAt == nil {
				t.Fatalf("the litellm-proxy-budget row: %+v %v", u, err)
			}
			a, b := generate(t, s, `{}`), generate(t, s, `{}`)
			s.Record(SpendEvent{RequestID: "r1", KeyToken: keystore.HashKey(a), Cost: 0.75})
			if _, e := s.Authorize(ctx, keystore.HashKey(b), b, []string{"m"}); e != nil {
				t.Fatalf("under the proxy budget: %+v", e)
			}
			s.Record(SpendEvent{RequestID: "r1", KeyToken: keystore.HashKey(a), Cost: 0.75}) // an outcome sent again
			s.Record(SpendEvent{RequestID: "r2", EndUser: "cust", Cost: 0.5})
			_, e := s.Authorize(ctx, keystore.HashKey(b), b, []string{"m"})
			if e == nil || e.Status != 400 || e.Type != "budget_exceeded" || e.Message != "Budget has been exceeded! Current cost: 1.25, Max budget: 1.0" {
				t.Fatalf("past the proxy budget: %+v", e)
			}
			view := viewOf(t, s)
			if _, e := view.Authorize(ctx, keystore.HashKey(b), b, []string{"m"}); e == nil || e.Type != "budget_exceeded" {
				t.Fatalf("a module view past the proxy budget: %+v", e)
			}
			must(t, s.flush(ctx))
			if u, err := ks.GetUser(ctx, ProxyBudgetUser); err != nil || u.Spend != 1.25 {
				t.Fatalf("stored proxy spend: %+v %v", u, err)
			}
			now = now.Add(time.Hour + time.Second)
			s.resetDue(ctx)
			if _, e := s.Authorize(ctx, keystore.HashKey(b), b, []string{"m"}); e != nil {
				t.Fatalf("after budget_duration: %+v", e)
			}
			must(t, s.SetProxyBudget(ctx, nil, ""))
			s.Record(SpendEvent{RequestID: "r3", KeyToken: keystore.HashKey(a), Cost: 5})
			if _, e := s.Authorize(ctx, keystore.HashKey(b), b, []string{"m"}); e != nil {
				t.Fatalf("max_budget unset: %+v", e)
			}
		})
	}
}

// viewOf is a module view of s's whole table, through its JSON.
func viewOf(t *testing.T, s *Service) *Service {
	t.Helper()
	js, err := json.Marshal(s.Snapshot())
	must(t, err)
	var sn Snapshot
	must(t, json.Unmarshal(js, &sn))
	v := NewView()
	v.ApplySnapshot(&sn)
	return v
}
