package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/llmgate/llmgate/internal/store/pgtest"
)

func TestKeyTeamsMembersEmbedded(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, keysConfig(fake.URL(), ""), "LLMGATE_DATA_DIR="+t.TempDir())
	runTeamMembers(t, keyAPI{t, g}, fake)
	runCustomers(t, keyAPI{t, g})
}

func TestKeyTeamsMembersPostgres(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	pg := pgtest.Start(t)
	url := pg.NewDatabase(t)
	g := startGateway(t, keysConfig(fake.URL(), url))
	runTeamMembers(t, keyAPI{t, g}, fake)
	runCustomers(t, keyAPI{t, g})
	if n := pg.Exec(t, url, `SELECT blocked::text || ':' || (spend > 0)::text FROM "LiteLLM_EndUserTable" WHERE user_id = 'cust-budget'`); n != "false:true" {
		t.Fatalf("the customer's LiteLLM_EndUserTable row: %q", n)
	}
	// LiteLLM's tables hold the member budget and the users member_add made;
	// member_delete removed the membership row.
	if n := pg.Exec(t, url, `SELECT count(*) FROM "LiteLLM_BudgetTable" WHERE max_budget = 0.001 AND budget_id <> 'e2e-tier'`); n != "1" {
		t.Fatalf("LiteLLM_BudgetTable rows of the member budget: %s", n)
	}
	if n := pg.Exec(t, url, `SELECT count(*) FROM "LiteLLM_TeamMembership" WHERE team_id = 'e2e-team'`); n != "0" {
		t.Fatalf("LiteLLM_TeamMembership rows after member_delete: %s", n)
	}
	if n := pg.Exec(t, url, `SELECT user_role || ':' || cardinality(teams) FROM "LiteLLM_UserTable" WHERE user_id = 'ann'`); n != "internal_user:0" {
		t.Fatalf("ann's LiteLLM_UserTable row: %q", n)
	}
}

// runTeamMembers: members added and removed through LiteLLM's routes, a
// member's budget within the team, and team rpm / parallel limits over two
// keys, through Envoy.
func runTeamMembers(t *testing.T, k keyAPI, fake *fakeprovider.Server) {
	if st, m := k.call("POST", "/team/new", master, `{"team_id":"e2e-team","members_with_roles":[{"role":"admin","user_id":"lead"}]}`); st != 200 {
		t.Fatalf("/team/new: %d %v", st, m)
	}
	t.Run("member_add with max_budget_in_team: the member's team key stops at the member budget", func(t *testing.T) {
		st, m := k.call("POST", "/team/member_add", master, `{"team_id":"e2e-team","member":{"role":"user","user_id":"ann"},"max_budget_in_team":0.001}`)
		if st != 200 || len(m["members_with_roles"].([]any)) != 2 {
			t.Fatalf("/team/member_add: %d %v", st, m)
		}
		ann, _ := k.generate(`{"team_id":"e2e-team","user_id":"ann"}`)
		other, _ := k.generate(`{"team_id":"e2e-team","user_id":"lead"}`)
		if st, e, _ := k.chat(ann, "gpt-x"); st != 200 {
			t.Fatalf("first request: %d %v", st, e)
		}
		var e map[string]any
		deadline := time.Now().Add(5 * time.Second)
		for {
			st, e, _ = k.chat(ann, "gpt-x")
			if st != 200 || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if st != 400 || e["type"] != "budget_exceeded" || !strings.Contains(e["message"].(string), "User=ann in Team=e2e-team") {
			t.Fatalf("member over budget: %d %v", st, e)
		}
		if st, e, _ := k.chat(other, "gpt-x"); st != 200 {
			t.Fatalf("another member of the team: %d %v", st, e)
		}
		if st, m := k.call("POST", "/team/member_add", ann, `{"team_id":"e2e-team","member":{"user_id":"eve"}}`); st != 403 {
			t.Fatalf("a member's key added a member: %d %v", st, m)
		}
		if st, m := k.call("POST", "/team/member_delete", master, `{"team_id":"e2e-team","user_id":"ann"}`); st != 200 {
			t.Fatalf("/team/member_delete: %d %v", st, m)
		}
		if st, e, _ := k.chat(ann, "gpt-x"); st != 200 {
			t.Fatalf("after member_delete the member budget no longer applies: %d %v", st, e)
		}
	})
	t.Run("team rpm_limit over two keys: 429 naming the team", func(t *testing.T) {
		for try := 0; try < 2; try++ {
			id := "rpm-team-" + string(rune('a'+try))
			if st, m := k.call("POST", "/team/new", master, `{"team_id":"`+id+`","rpm_limit":2}`); st != 200 {
				t.Fatalf("/team/new: %d %v", st, m)
			}
			k1, _ := k.generate(`{"team_id":"` + id + `"}`)
			k2, _ := k.generate(`{"team_id":"` + id + `"}`)
			for _, key := range []string{k1, k2} {
				if st, e, _ := k.chat(key, "gpt-x"); st != 200 {
					t.Fatalf("within the team rpm: %d %v", st, e)
				}
			}
			st, e, h := k.chat(k1, "gpt-x")
			if st == 200 && try == 0 {
				continue // the UTC minute turned between the requests
			}
			if st != 429 || e["type"] != "rate_limit_error" || !strings.Contains(e["message"].(string), "rate limit type = team") || h.Get("retry-after") == "" {
				t.Fatalf("third request of the team in a minute: %d %v retry-after %q", st, e, h.Get("retry-after"))
			}
			return
		}
	})
	t.Run("team max_parallel_requests over two keys; the slot comes back", func(t *testing.T) {
		if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{Model: "gpt-4o-mini"}, Fault: fakeprovider.Fault{Delay: 1500 * time.Millisecond}}); err != nil {
			t.Fatal(err)
		}
		defer fake.ClearRules()
		if st, m := k.call("POST", "/team/new", master, `{"team_id":"par-team","max_parallel_requests":1}`); st != 200 {
			t.Fatalf("/team/new: %d %v", st, m)
		}
		k1, _ := k.generate(`{"team_id":"par-team"}`)
		k2, _ := k.generate(`{"team_id":"par-team"}`)
		done := make(chan int, 1)
		go func() {
			st, _, _ := post(t, k.g.URL+"/v1/chat/completions", k1, `{"model":"other","messages":[{"role":"user","content":"slow"}]}`)
			done <- st
		}()
		time.Sleep(500 * time.Millisecond)
		st, e, _ := k.chat(k2, "gpt-x")
		if st != 429 || !strings.Contains(e["message"].(string), "max_parallel_requests") {
			t.Fatalf("second key while the team's slot is taken: %d %v", st, e)
		}
		if st := <-done; st != 200 {
			t.Fatalf("slow request: %d", st)
		}
		if st, e, _ := k.chat(k2, "gpt-x"); st != 200 {
			t.Fatalf("after the slow request: %d %v", st, e)
		}
	})
}

// chatFor sends one chat request for an end user (the body's `user`).
func (k keyAPI) chatFor(key, model, user string) (int, map[string]any) {
	k.t.Helper()
	st, _, b := post(k.t, k.g.URL+"/v1/chat/completions", key, `{"model":"`+model+`","user":"`+user+`","messages":[{"role":"user","content":"hi"}]}`)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		k.t.Fatalf("chat: %d, not JSON: %s", st, b)
	}
	e, _ := m["error"].(map[string]any)
	return st, e
}

// runCustomers: customers (the request's `user`) with a budget from
// /budget/new, blocked and unblocked, through Envoy, for a virtual key and
// the master key.
func runCustomers(t *testing.T, k keyAPI) {
	key, _ := k.generate(`{}`)
	if st, m := k.call("POST", "/budget/new", master, `{"budget_id":"e2e-tier","max_budget":0.001}`); st != 200 {
		t.Fatalf("/budget/new: %d %v", st, m)
	}
	if st, m := k.call("POST", "/customer/new", master, `{"user_id":"cust-budget","budget_id":"e2e-tier"}`); st != 200 {
		t.Fatalf("/customer/new: %d %v", st, m)
	}
	t.Run("a customer's budget holds for every key", func(t *testing.T) {
		if st, e := k.chatFor(key, "gpt-x", "cust-budget"); st != 200 {
			t.Fatalf("first request: %d %v", st, e)
		}
		var st int
		var e map[string]any
		deadline := time.Now().Add(5 * time.Second)
		for {
			st, e = k.chatFor(key, "gpt-x", "cust-budget")
			if st != 200 || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if st != 400 || e["type"] != "budget_exceeded" || !strings.HasPrefix(e["message"].(string), "ExceededBudget: End User=cust-budget over budget.") {
			t.Fatalf("customer over budget: %d %v", st, e)
		}
		if st, e := k.chatFor(master, "gpt-x", "cust-budget"); st != 400 || e["type"] != "budget_exceeded" {
			t.Fatalf("master key, customer over budget: %d %v", st, e)
		}
		if st, e := k.chatFor(key, "gpt-x", "someone-else"); st != 200 {
			t.Fatalf("another customer: %d %v", st, e)
		}
		st, m := k.call("GET", "/customer/info?end_user_id=cust-budget", master, "")
		if sp, _ := m["spend"].(float64); st != 200 || sp <= 0.001 {
			t.Fatalf("/customer/info: %d %v", st, m)
		}
	})
	t.Run("a blocked customer is refused with LiteLLM's message", func(t *testing.T) {
		if st, m := k.call("POST", "/customer/block", master, `{"user_ids":["cust-blocked"]}`); st != 200 {
			t.Fatalf("/customer/block: %d %v", st, m)
		}
		st, e := k.chatFor(key, "gpt-x", "cust-blocked")
		if st != 400 || e["message"] != "User blocked from making LLM API Calls. User=cust-blocked" {
			t.Fatalf("blocked customer: %d %v", st, e)
		}
		if st, m := k.call("POST", "/customer/unblock", master, `{"user_ids":["cust-blocked"]}`); st != 200 {
			t.Fatalf("/customer/unblock: %d %v", st, m)
		}
		if st, e := k.chatFor(key, "gpt-x", "cust-blocked"); st != 200 {
			t.Fatalf("unblocked customer: %d %v", st, e)
		}
	})
	// Customer rows made by spend reach the store with the next batch.
	time.Sleep(1500 * time.Millisecond)
}
