package keys

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/llmgate/llmgate/internal/keystore"
)

// LiteLLM's temporary budget increase: while temp_budget_expiry is ahead the
// key's max budget is raised by temp_budget_increase (its header too), on the
// gateway and in the module's table; after it, the budget is the key's own;
// the two fields go together (D63).
func TestTempBudgetIncrease(t *testing.T) {
	ctx := context.Background()
	s := newService(t, embedded(t), "")
	defer s.Close()
	key := generate(t, s, `{"max_budget": 1}`)
	tok := keystore.HashKey(key)
	s.Record(SpendEvent{RequestID: "r1", KeyToken: tok, ModelGroup: "m", Cost: 1.5})
	if _, e := s.Authorize(ctx, tok, key, []string{"m"}); e == nil || e.Type != "budget_exceeded" {
		t.Fatalf("over budget: %+v", e)
	}
	// The service runs on the test clock, the module's view on the wall
	// clock: the times are far enough from both (a time from one clock near
	// the other made this test depend on the hour it ran).
	future := clock.AddDate(10, 0, 0).Format("2006-01-02T15:04:05")
	call(t, s, "POST", "/key/update", `{"key":"`+key+`","temp_budget_increase":2,"temp_budget_expiry":"`+future+`"}`)
	g, e := s.Authorize(ctx, tok, key, []string{"m"})
	if e != nil || g.Header("x-litellm-key-max-budget") != "3" {
		t.Fatalf("with a temporary increase of 2: %+v %v", e, g)
	}
	// The module's table holds it.
	js, _ := json.Marshal(s.Snapshot())
	var sn Snapshot
	if err := json.Unmarshal(js, &sn); err != nil {
		t.Fatal(err)
	}
	v := NewView()
	v.ApplySnapshot(&sn)
	if _, e := v.Authorize(ctx, tok, key, []string{"m"}); e != nil {
		t.Fatalf("the module's view with the increase: %+v", e)
	}
	past := clock.AddDate(0, 0, -2).Format("2006-01-02")
	call(t, s, "POST", "/key/update", `{"key":"`+key+`","temp_budget_increase":2,"temp_budget_expiry":"`+past+`"}`)
	if _, e := s.Authorize(ctx, tok, key, []string{"m"}); e == nil || e.Type != "budget_exceeded" {
		t.Fatalf("after the increase expired: %+v", e)
	}
	if st, _ := s.Handle(ctx, "POST", "/key/update", []byte(`{"key":"`+key+`","temp_budget_increase":2}`), Caller{Admin: true}); st != 400 {
		t.Fatalf("an increase without expiry: %d", st)
	}
}
