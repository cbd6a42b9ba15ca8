package keys

import (
	"context"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/internal/keystore"
)

// /customer/*: end users (the request's `user`), their budgets, blocking and
// max_end_user_budget, with LiteLLM's messages.
func TestCustomers(t *testing.T) {
	ctx := context.Background()
	ks := embedded(t)
	s := newService(t, ks, "")
	defer s.Close()
	admin := Caller{Admin: true}
	key := generate(t, s, `{}`)
	tok := keystore.HashKey(key)
	check := func(endUser string) *Error {
		_, e := s.AuthorizeRequest(ctx, Check{Token: tok, Presented: key, Models: []string{"m"}, EndUser: endUser})
		return e
	}
	c := call(t, s, "POST", "/customer/new", `{"user_id":"acme","alias":"Acme","max_budget":1,"rpm_limit":100}`)
	bt, _ := c["litellm_budget_table"].(map[string]any)
	if c["user_id"] != "acme" || c["alias"] != "Acme" || c["blocked"] != false || bt == nil || bt["max_budget"] != 1.0 || c["budget_id"] != bt["budget_id"] {
		t.Fatalf("/customer/new: %v", c)
	}
	if st, m := callAs(t, s, admin, "POST", "/customer/new", `{"user_id":"acme"}`); st != 400 ||
		errMsg(m) != "Customer already exists, passed user_id=acme. Please pass a new user_id." {
		t.Fatalf("duplicate: %d %v", st, m)
	}
	if e := check("acme"); e != nil {
		t.Fatalf("within budget: %+v", e)
	}
	s.Record(SpendEvent{KeyToken: tok, EndUser: "acme", Cost: 1.5})
	e := check("acme")
	if e == nil || e.Status != 400 || e.Type != "budget_exceeded" || e.Message != "ExceededBudget: End User=acme over budget. Spend=1.5, Budget=1" {
		t.Fatalf("over budget: %+v", e)
	}
	// The master key's requests count for the customer too.
	if _, e := s.AuthorizeRequest(ctx, Check{EndUser: "acme", Models: []string{"m"}}); e == nil || e.Type != "budget_exceeded" {
		t.Fatalf("master key, customer over budget: %+v", e)
	}
	info := call(t, s, "GET", "/customer/info?end_user_id=acme", "")
	if info["spend"] != 1.5 {
		t.Fatalf("/customer/info: %v", info)
	}
	call(t, s, "POST", "/customer/update", `{"user_id":"acme","max_budget":10}`)
	if e := check("acme"); e != nil {
		t.Fatalf("after raising the budget: %+v", e)
	}
	// Blocked.
	if out := call(t, s, "POST", "/customer/block", `{"user_ids":["acme","newco"]}`); len(out["blocked_users"].([]any)) != 2 {
		t.Fatalf("/customer/block: %v", out)
	}
	e = check("newco")
	if e == nil || e.Status != 400 || e.Message != "User blocked from making LLM API Calls. User=newco" {
		t.Fatalf("blocked customer: %+v", e)
	}
	call(t, s, "POST", "/customer/unblock", `{"user_ids":["newco","acme"]}`)
	if e := check("newco"); e != nil {
		t.Fatalf("unblocked: %+v", e)
	}
	// max_end_user_budget: a customer without a budget of its own, once it exists.
	s.SetEndUserDefaults(ptr(0.5), "")
	if e := check("walk-in"); e != nil {
		t.Fatalf("a new customer: %+v", e)
	}
	s.Record(SpendEvent{KeyToken: tok, EndUser: "walk-in", Cost: 0.75})
	if e := check("walk-in"); e == nil || !strings.Contains(e.Message, "End User=walk-in over budget") || !strings.Contains(e.Message, "Budget=0.5") {
		t.Fatalf("max_end_user_budget: %+v", e)
	}
	if e := check("acme"); e != nil {
		t.Fatalf("a customer with its own budget is not held to the default: %+v", e)
	}
	// The customer's rpm comes from its budget.
	call(t, s, "POST", "/customer/new", `{"user_id":"slow","rpm_limit":1}`)
	if e := check("slow"); e != nil {
		t.Fatal(e)
	}
	if e := check("slow"); e == nil || e.Status != 429 || !strings.Contains(e.Message, "rate limit type = customer") {
		t.Fatalf("customer rpm: %+v", e)
	}
	if st, m := callAs(t, s, admin, "GET", "/customer/info?end_user_id=nobody", ""); st != 404 || errMsg(m) != "End User Id=nobody does not exist in db" {
		t.Fatalf("unknown customer: %d %v", st, m)
	}
	if st, m := callAs(t, s, admin, "GET", "/customer/list", ""); st != 200 || len(m["list"].([]any)) != 3 { // walk-in has no row until its spend is written
		t.Fatalf("/customer/list: %d %v", st, m)
	}
	if st, m := callAs(t, s, admin, "POST", "/customer/delete", `{"user_ids":["acme","ghost"]}`); st != 404 || errMsg(m) != "End User Id(s)=ghost do not exist in db" {
		t.Fatalf("delete with a missing id: %d %v", st, m)
	}
	if out := call(t, s, "POST", "/end_user/delete", `{"user_ids":["acme"]}`); out["deleted_customers"] != 1.0 {
		t.Fatalf("/end_user/delete: %v", out)
	}
	if st, _ := callAs(t, s, Caller{Token: tok}, "GET", "/customer/list", ""); st != 401 {
		t.Fatalf("a virtual key listed customers: %d", st)
	}
	// The customer's spend reaches the store with the batch (a row is made
	// for a customer first seen in a request).
	must(t, s.flush(ctx))
	if eu, err := ks.GetEndUser(ctx, "walk-in"); err != nil || eu.Spend != 0.75 {
		t.Fatalf("stored customer: %+v %v", eu, err)
	}
}

// /budget/*: LiteLLM_BudgetTable rows that keys and customers refer to.
func TestBudgets(t *testing.T) {
	ctx := context.Background()
	s := newService(t, embedded(t), "")
	defer s.Close()
	admin := Caller{Admin: true}
	b := call(t, s, "POST", "/budget/new", `{"budget_id":"tier-1","max_budget":1,"rpm_limit":5,"budget_duration":"30d"}`)
	if b["budget_id"] != "tier-1" || b["max_budget"] != 1.0 || b["budget_reset_at"] == nil {
		t.Fatalf("/budget/new: %v", b)
	}
	if st, m := callAs(t, s, admin, "POST", "/budget/new", `{"budget_id":"tier-1"}`); st != 400 || errMsg(m) != "Budget with id 'tier-1' already exists." {
		t.Fatalf("duplicate: %d %v", st, m)
	}
	if st, m := callAs(t, s, admin, "POST", "/budget/new", `{"max_budget":-1}`); st != 400 {
		t.Fatalf("negative budget: %d %v", st, m)
	}
	key := generate(t, s, `{"budget_id":"tier-1"}`)
	tok := keystore.HashKey(key)
	s.Record(SpendEvent{KeyToken: tok, Cost: 1})
	if _, e := s.Authorize(ctx, tok, key, []string{"m"}); e == nil || e.Type != "budget_exceeded" {
		t.Fatalf("a key over its budget_id's max_budget: %+v", e)
	}
	call(t, s, "POST", "/budget/update", `{"budget_id":"tier-1","max_budget":2}`)
	if _, e := s.Authorize(ctx, tok, key, []string{"m"}); e != nil {
		t.Fatalf("after /budget/update: %+v", e)
	}
	if st, m := callAs(t, s, admin, "POST", "/budget/info", `{"budgets":["tier-1","nope"]}`); st != 200 || len(m["list"].([]any)) != 1 {
		t.Fatalf("/budget/info: %d %v", st, m)
	}
	if st, m := callAs(t, s, admin, "POST", "/budget/info", `{"budgets":[]}`); st != 400 {
		t.Fatalf("/budget/info without ids: %d %v", st, m)
	}
	if st, m := callAs(t, s, admin, "GET", "/budget/list", ""); st != 200 || len(m["list"].([]any)) != 1 {
		t.Fatalf("/budget/list: %d %v", st, m)
	}
	if st, m := callAs(t, s, admin, "POST", "/budget/update", `{"max_budget":2}`); st != 400 || errMsg(m) != "budget_id is required" {
		t.Fatalf("update without id: %d %v", st, m)
	}
	if st, m := callAs(t, s, admin, "POST", "/customer/new", `{"user_id":"c","budget_id":"missing"}`); st != 400 {
		t.Fatalf("customer with an unknown budget_id: %d %v", st, m)
	}
	call(t, s, "POST", "/budget/delete", `{"id":"tier-1"}`)
	if st, m := callAs(t, s, admin, "POST", "/budget/delete", `{"id":"tier-1"}`); st != 404 {
		t.Fatalf("second delete: %d %v", st, m)
	}
}
