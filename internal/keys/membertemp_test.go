package keys

import (
	"context"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/keystore"
)

// A team member's temporary budget increase (/team/member_update
// temp_budget_increase with temp_budget_expiry, on the member's own
// LiteLLM_BudgetTable row): a member refused at max_budget_in_team is served
// again while the increase lasts, shown by /team/info, in the module's view
// too, and refused again once it expired; only the member's row changes.
func TestTeamMemberTempBudgetIncrease(t *testing.T) {
	ctx := context.Background()
	s := newService(t, embedded(t), "")
	defer s.Close()
	admin := Caller{Admin: true}
	call(t, s, "POST", "/team/new", `{"team_id":"t1","team_member_budget":1}`)
	call(t, s, "POST", "/team/member_add", `{"team_id":"t1","member":[{"role":"user","user_id":"alice"},{"role":"user","user_id":"bob"}]}`)
	ka := generate(t, s, `{"team_id":"t1","user_id":"alice"}`)
	kb := generate(t, s, `{"team_id":"t1","user_id":"bob"}`)
	s.Record(SpendEvent{KeyToken: keystore.HashKey(ka), TeamID: "t1", UserID: "alice", Cost: 1.5})
	s.Record(SpendEvent{KeyToken: keystore.HashKey(kb), TeamID: "t1", UserID: "bob", Cost: 1.5})
	check := func(key string) *Error {
		_, e := s.Authorize(ctx, keystore.HashKey(key), key, []string{"m"})
		return e
	}
	if e := check(ka); e == nil || e.Type != "budget_exceeded" {
		t.Fatalf("alice over her member budget: %+v", e)
	}
	if st, m := callAs(t, s, admin, "POST", "/team/member_update", `{"team_id":"t1","user_id":"alice","temp_budget_increase":1}`); st != 400 ||
		errMsg(m) != "temp_budget_increase and temp_budget_expiry must be set together" {
		t.Fatalf("increase without expiry: %d %v", st, m)
	}
	if st, _ := callAs(t, s, admin, "POST", "/team/member_update", `{"team_id":"t1","user_id":"alice","temp_budget_increase":1,"temp_budget_expiry":"soon"}`); st != 400 {
		t.Fatalf("an expiry that is no date: %d", st)
	}
	tomorrow := clock.Add(24 * time.Hour).Format("2006-01-02T15:04:05")
	out := call(t, s, "POST", "/team/member_update", `{"team_id":"t1","user_id":"alice","temp_budget_increase":1,"temp_budget_expiry":"`+tomorrow+`"}`)
	if out["temp_budget_increase"] != 1.0 || out["temp_budget_expiry"] != clock.Add(24*time.Hour).Format(time.RFC3339Nano) {
		t.Fatalf("/team/member_update answer: %v", out)
	}
	if e := check(ka); e != nil {
		t.Fatalf("alice with the increase (1.5 of 1+1): %+v", e)
	}
	if e := check(kb); e == nil || e.Type != "budget_exceeded" {
		t.Fatalf("bob (the team's default member budget) got alice's increase: %+v", e)
	}
	info := call(t, s, "GET", "/team/info?team_id=t1", "")
	found := false
	for _, m := range info["team_memberships"].([]any) {
		m := m.(map[string]any)
		if m["user_id"] == "alice" {
			bt := m["litellm_budget_table"].(map[string]any)
			found = bt["max_budget"] == 1.0 && bt["temp_budget_increase"] == 1.0 && bt["temp_budget_expiry"] != nil
		}
	}
	if !found {
		t.Fatalf("/team/info membership without the increase: %v", info["team_memberships"])
	}
	// The module's view checks the same.
	view := NewView()
	for _, p := range s.Snapshot().Split() {
		view.ApplySnapshot(p)
	}
	view.now = s.now
	if _, e := view.Authorize(ctx, keystore.HashKey(ka), ka, []string{"m"}); e != nil {
		t.Fatalf("the module's view refuses alice: %+v", e)
	}
	if _, e := view.Authorize(ctx, keystore.HashKey(kb), kb, []string{"m"}); e == nil {
		t.Fatal("the module's view serves bob")
	}
	// Expired: refused again.
	yesterday := clock.Add(-24 * time.Hour).Format("2006-01-02")
	call(t, s, "POST", "/team/member_update", `{"team_id":"t1","user_id":"alice","temp_budget_increase":1,"temp_budget_expiry":"`+yesterday+`"}`)
	if e := check(ka); e == nil || e.Type != "budget_exceeded" || e.Message != "Budget has been exceeded! User=alice in Team=t1 Current cost: 1.5, Max budget: 1.0" {
		t.Fatalf("alice after the increase expired: %+v", e)
	}
	// Cleared with null for both.
	call(t, s, "POST", "/team/member_update", `{"team_id":"t1","user_id":"alice","temp_budget_increase":null,"temp_budget_expiry":null}`)
	if b := s.budget(s.members[keystore.MemberKey("t1", "alice")].BudgetID); b == nil || b.TempBudgetIncrease != nil || b.MaxBudget == nil {
		t.Fatalf("cleared: %+v", b)
	}
}
