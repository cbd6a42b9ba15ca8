package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestModuleCustomers (D73): requests whose body names a customer (`user`)
// are served and refused by the module itself (no request-filter stream),
// for a virtual key and the master key: a customer is served and its spend
// counted; a blocked customer is refused with LiteLLM's message from the
// request after /customer/block; a customer over its budget is refused with
// budget_exceeded; a customer whose budget has an rpm_limit is handed to
// ext_proc once (the module asks for the lease on its counter), then served
// by the module (D83).
func TestModuleCustomers(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGatewayArgs(t, keysConfig(fake.URL(), ""), moduleArgs, "LLMGATE_DATA_DIR="+t.TempDir())
	waitLog(t, g, "llmgate module: config")
	k := keyAPI{t, g}
	key, _ := k.generate(`{}`)
	for _, c := range [][2]string{
		{"/customer/new", `{"user_id":"mc-fine"}`},
		{"/customer/new", `{"user_id":"mc-small","max_budget":0.000001}`},
		{"/customer/new", `{"user_id":"mc-blocked","blocked":true}`},
		{"/customer/new", `{"user_id":"mc-rpm","rpm_limit":100}`},
	} {
		if st, m := k.call("POST", c[0], master, c[1]); st != 200 {
			t.Fatalf("%s: %d %v", c[0], st, m)
		}
	}
	// The module has the key once a request with it is its own.
	deadline := time.Now().Add(5 * time.Second)
	for {
		before := requestFilterStreams(t, g)
		if st, e := k.chatFor(key, "gpt-x", "mc-fine"); st != 200 {
			t.Fatalf("a customer: %d %v", st, e)
		}
		if requestFilterStreams(t, g) == before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the module never served a request with a customer")
		}
		time.Sleep(50 * time.Millisecond)
	}
	before := requestFilterStreams(t, g)
	moduleOnly := func(what string) {
		t.Helper()
		if n := requestFilterStreams(t, g); n != before {
			t.Fatalf("%s: %d request-filter streams (not the module's own)", what, n-before)
		}
	}
	for _, who := range []string{key, master} {
		st, e := k.chatFor(who, "gpt-x", "mc-blocked")
		if st != 400 || e["message"] != "User blocked from making LLM API Calls. User=mc-blocked" {
			t.Fatalf("blocked customer: %d %v", st, e)
		}
	}
	moduleOnly("blocked customer")
	if st, e := k.chatFor(master, "gpt-x", "mc-small"); st != 200 {
		t.Fatalf("first request of the small customer: %d %v", st, e)
	}
	// The answer's spend takes it over its budget: the table is pushed at
	// once and the module refuses.
	deadline = time.Now().Add(5 * time.Second)
	var st int
	var e map[string]any
	for {
		st, e = k.chatFor(key, "gpt-x", "mc-small")
		if st != 200 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if msg, _ := e["message"].(string); st != 400 || e["type"] != "budget_exceeded" || !strings.HasPrefix(msg, "ExceededBudget: End User=mc-small over budget.") {
		t.Fatalf("customer over budget: %d %v", st, e)
	}
	moduleOnly("customers served and refused")
	if st, m := k.call("POST", "/customer/unblock", master, `{"user_ids":["mc-blocked"]}`); st != 200 {
		t.Fatalf("/customer/unblock: %d %v", st, m)
	}
	before = requestFilterStreams(t, g)
	if st, e := k.chatFor(key, "gpt-x", "mc-blocked"); st != 200 {
		t.Fatalf("unblocked customer: %d %v", st, e)
	}
	moduleOnly("unblocked customer")
	if st, e := k.chatFor(key, "gpt-x", "mc-rpm"); st != 200 {
		t.Fatalf("customer with an rpm limit: %d %v", st, e)
	}
	if requestFilterStreams(t, g) == before {
		t.Fatal("a customer with an rpm limit was not handed to ext_proc the first time (no lease yet)")
	}
	served := 0
	for range 5 {
		before = requestFilterStreams(t, g)
		if st, e := k.chatFor(key, "gpt-x", "mc-rpm"); st != 200 {
			t.Fatalf("customer with an rpm limit: %d %v", st, e)
		}
		if requestFilterStreams(t, g) == before {
			served++
		}
	}
	if served == 0 {
		t.Error("the module served none of 5 requests of a customer with an rpm limit (D83: leased)")
	}
	// The module-served answers' spend is the customer's.
	deadline = time.Now().Add(5 * time.Second)
	for {
		_, m := k.call("GET", "/customer/info?end_user_id=mc-fine", master, "")
		if sp, _ := m["spend"].(float64); sp > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the served customer's spend: %v", m)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
