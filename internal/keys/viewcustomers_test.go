package keys

import (
	"context"
	"fmt"
	"testing"
)

// TestViewEndUsers (D73): the module's key table carries the customers the
// end-user checks read, so the module's view refuses a blocked customer, one
// over its budget and one over max_end_user_budget with the gateway's own
// errors, serves the others, and says which it cannot check (a budget with
// rpm limits, a customer left out of a partial table), and carries each
// customer's allowed_model_region; a spend that takes a
// customer over its budget pushes the table at once.
func TestViewEndUsers(t *testing.T) {
	ctx := context.Background()
	s := newService(t, embedded(t), "")
	defer s.Close()
	mb := 1.0
	s.SetEndUserDefaults(&mb, "")
	call(t, s, "POST", "/customer/new", `{"user_id":"c-blocked"}`)
	call(t, s, "POST", "/customer/block", `{"user_ids":["c-blocked"]}`)
	call(t, s, "POST", "/customer/new", `{"user_id":"c-budget","max_budget":0.5}`)
	call(t, s, "POST", "/customer/new", `{"user_id":"c-rpm","rpm_limit":5}`)
	call(t, s, "POST", "/customer/new", `{"user_id":"c-ok"}`)
	call(t, s, "POST", "/customer/new", `{"user_id":"c-eu","allowed_model_region":"eu"}`)
	s.Record(SpendEvent{RequestID: "r1", EndUser: "c-budget", ModelGroup: "m", Cost: 0.75})
	s.Record(SpendEvent{RequestID: "r2", EndUser: "anon-spender", ModelGroup: "m", Cost: 1.5}) // no row: max_end_user_budget
	var enc PartsEncoder
	gen, parts, _, err := s.EncodeParts(&enc)
	if err != nil {
		t.Fatal(err)
	}
	view := NewView()
	applyParts(t, view, parts, nil, gen)
	for _, c := range []struct {
		id       string
		servable bool
	}{{"c-blocked", true}, {"c-budget", true}, {"anon-spender", true}, {"c-ok", true}, {"never-seen", true}, {"c-rpm", false}, {"c-eu", true}} {
		if got := view.EndUserServable(c.id); got != c.servable {
			t.Errorf("EndUserServable(%s) = %v, want %v", c.id, got, c.servable)
		}
		if !c.servable {
			continue
		}
		_, want := s.AuthorizeRequest(ctx, Check{Models: []string{"m"}, EndUser: c.id})
		_, got := view.AuthorizeRequest(ctx, Check{Models: []string{"m"}, EndUser: c.id})
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: the view answers %+v, the gateway %+v", c.id, got, want)
		}
		if refused := want != nil; refused != (c.id == "c-blocked" || c.id == "c-budget" || c.id == "anon-spender") {
			t.Errorf("%s: gateway's answer %+v", c.id, want)
		}
	}
	// A customer's region (D173), which the router's pre-call check
	// reads: in the module's table too.
	for _, k := range []*Service{s, view} {
		if got := k.EndUserRegion("c-eu"); got != "eu" {
			t.Errorf("EndUserRegion(c-eu) = %q, want eu", got)
		}
		if got := k.EndUserRegion("c-ok") + k.EndUserRegion("never-seen"); got != "" {
			t.Errorf("EndUserRegion of customers without one: %q", got)
		}
	}
	// A spend taking c-ok over max_end_user_budget pushes at once.
	before := s.ViewGen()
	s.view.on.Store(true)
	defer s.view.on.Store(false)
	s.Record(SpendEvent{RequestID: "r3", EndUser: "c-ok", ModelGroup: "m", Cost: 0.5})
	if s.ViewGen() != before {
		t.Fatal("a spend under the budget pushed at once")
	}
	s.Record(SpendEvent{RequestID: "r4", EndUser: "c-ok", ModelGroup: "m", Cost: 0.75})
	if s.ViewGen() == before {
		t.Fatal("a spend over the customer's budget did not push at once")
	}
	// A partial table: a customer not in it is handed on.
	sn := s.Snapshot()
	sn.EndUsers, sn.EndUsersPartial = sn.EndUsers[:1], true
	v2 := NewView()
	v2.ApplySnapshot(sn)
	if v2.EndUserServable("c-ok") || !v2.EndUserServable(sn.EndUsers[0].UserID) {
		t.Fatal("partial table: a customer left out must be handed on, one in it served")
	}
}
