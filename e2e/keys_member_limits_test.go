package e2e

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/llmgate/llmgate/internal/store/pgtest"
)

// runTeamMemberLimits: a team's default member rpm (/team/new
// team_member_rpm_limit) holds over a member's two keys of the team (429
// with LiteLLM's team_member message and retry-after); /team/member_update
// gives one member a limit of its own; another member and a personal key
// are not counted with it. Run on the embedded store and on PostgreSQL.
func runTeamMemberLimits(t *testing.T, k keyAPI) {
	t.Run("team member rpm over two keys; member_update gives one member its own", func(t *testing.T) {
		for try := 0; try < 2; try++ {
			team := fmt.Sprintf("member-rpm-%d", try)
			waitForMinuteLeft(15 * time.Second)
			if st, m := k.call("POST", "/team/new", master, `{"team_id":"`+team+`","team_member_rpm_limit":2,
				"members_with_roles":[{"role":"user","user_id":"mia"},{"role":"user","user_id":"noa"}]}`); st != 200 {
				t.Fatalf("/team/new: %d %v", st, m)
			}
			m1, _ := k.generate(`{"team_id":"` + team + `","user_id":"mia"}`)
			m2, _ := k.generate(`{"team_id":"` + team + `","user_id":"mia"}`)
			noa, _ := k.generate(`{"team_id":"` + team + `","user_id":"noa"}`)
			personal, _ := k.generate(`{"user_id":"mia"}`)
			minute := time.Now().UTC().Truncate(time.Minute)
			for _, key := range []string{m1, m2} {
				if st, e, _ := k.chat(key, "gpt-x"); st != 200 {
					t.Fatalf("within the member's rpm: %d %v", st, e)
				}
			}
			st, e, h := k.chat(m1, "gpt-x")
			if time.Now().UTC().Truncate(time.Minute) != minute {
				continue // the UTC minute turned: count again with a new team
			}
			if st != 429 || e["type"] != "rate_limit_error" || h.Get("retry-after") == "" ||
				!strings.HasPrefix(e["message"].(string), "Rate limit exceeded for team_member: "+team+":mia. Limit type: requests. Current limit: 2") {
				t.Fatalf("the member's third request in a minute: %d %v retry-after %q", st, e, h.Get("retry-after"))
			}
			for _, key := range []string{noa, personal} {
				if st, e, _ := k.chat(key, "gpt-x"); st != 200 {
					t.Fatalf("another member / a personal key: %d %v", st, e)
				}
			}
			st, m := k.call("POST", "/team/member_update", master, `{"team_id":"`+team+`","user_id":"noa","rpm_limit":1}`)
			if st != 200 || m["rpm_limit"] != 1.0 || m["user_id"] != "noa" {
				t.Fatalf("/team/member_update: %d %v", st, m)
			}
			st, e, _ = k.chat(noa, "gpt-x")
			if time.Now().UTC().Truncate(time.Minute) != minute {
				continue
			}
			if st != 429 || !strings.Contains(e["message"].(string), team+":noa") {
				t.Fatalf("noa over its own rpm 1: %d %v", st, e)
			}
			_, info := k.call("GET", "/team/info?team_id="+team, master, "")
			def := info["team_info"].(map[string]any)["metadata"].(map[string]any)["team_member_budget_id"]
			for _, x := range info["team_memberships"].([]any) {
				tm := x.(map[string]any)
				b := tm["litellm_budget_table"].(map[string]any)
				switch tm["user_id"] {
				case "mia":
					if tm["budget_id"] != def || b["rpm_limit"] != 2.0 {
						t.Fatalf("mia's membership, want the team default %v: %v", def, tm)
					}
				case "noa":
					if tm["budget_id"] == def || b["rpm_limit"] != 1.0 {
						t.Fatalf("noa's membership, want its own budget: %v", tm)
					}
				}
			}
			return
		}
		t.Fatal("two UTC minutes turned during the test")
	})
}

func TestTeamMemberLimitsEmbedded(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, keysConfig(fake.URL(), ""), "LLMGATE_DATA_DIR="+t.TempDir())
	runTeamMemberLimits(t, keyAPI{t, g})
}

func TestTeamMemberLimitsPostgres(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	pg := pgtest.Start(t)
	url := pg.NewDatabase(t)
	g := startGateway(t, keysConfig(fake.URL(), url))
	runTeamMemberLimits(t, keyAPI{t, g})
	// In LiteLLM's tables: the team's metadata names the default member
	// budget, mia's membership points at it, noa's at a row of its own.
	if n := pg.Exec(t, url, `SELECT b.rpm_limit::text FROM "LiteLLM_TeamTable" t JOIN "LiteLLM_BudgetTable" b
		ON b.budget_id = t.metadata->>'team_member_budget_id' WHERE t.team_id LIKE 'member-rpm-%' ORDER BY t.team_id DESC LIMIT 1`); n != "2" {
		t.Fatalf("the default member budget's rpm_limit: %q", n)
	}
	if n := pg.Exec(t, url, `SELECT string_agg(m.user_id || ':' || b.rpm_limit::text, ',' ORDER BY m.user_id) FROM "LiteLLM_TeamMembership" m
		JOIN "LiteLLM_BudgetTable" b ON b.budget_id = m.budget_id WHERE m.team_id = (SELECT max(team_id) FROM "LiteLLM_TeamTable" WHERE team_id LIKE 'member-rpm-%')`); n != "mia:2,noa:1" {
		t.Fatalf("memberships and their budgets' rpm_limit: %q", n)
	}
}

// TestTeamMemberLimitSharedRedis: a member's rpm counted in Redis holds
// across two llmgate instances on one database: of 6 requests in one UTC
// minute, 3 through each instance, exactly the limit (4) are answered.
func TestTeamMemberLimitSharedRedis(t *testing.T) {
	ga, gb := keysOnSharedRedis(t, nil)
	ka, kb := keyAPI{t, ga}, keyAPI{t, gb}
	for try := 0; try < 2; try++ {
		team := fmt.Sprintf("shared-member-%d", try)
		if st, m := ka.call("POST", "/team/new", master, `{"team_id":"`+team+`","team_member_rpm_limit":4,"members_with_roles":[{"role":"user","user_id":"ray"}]}`); st != 200 {
			t.Fatalf("/team/new: %d %v", st, m)
		}
		k1, _ := ka.generate(`{"team_id":"` + team + `","user_id":"ray"}`)
		k2, _ := ka.generate(`{"team_id":"` + team + `","user_id":"ray"}`)
		// Instance b sees the team, membership and budget after its cache
		// reload (user_api_key_cache_ttl: 1).
		deadline := time.Now().Add(10 * time.Second)
		for {
			_, info := kb.call("GET", "/team/info?team_id="+team, master, "")
			if ms, _ := info["team_memberships"].([]any); len(ms) == 1 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("instance b never saw the membership: %v", info)
			}
			time.Sleep(200 * time.Millisecond)
		}
		waitForMinuteLeft(15 * time.Second)
		minute := time.Now().UTC().Truncate(time.Minute)
		var mu sync.Mutex
		codes := map[int]int{}
		var wg sync.WaitGroup
		for i := 0; i < 6; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				k, key := ka, k1
				if i%2 == 1 {
					k, key = kb, k2
				}
				st, e, _ := k.chat(key, "gpt-x")
				if st == 429 && !strings.Contains(e["message"].(string), "team_member: "+team+":ray") {
					t.Errorf("429 not naming the member: %v", e)
				}
				mu.Lock()
				codes[st]++
				mu.Unlock()
			}(i)
		}
		wg.Wait()
		if time.Now().UTC().Truncate(time.Minute) != minute {
			continue
		}
		if codes[200] != 4 || codes[429] != 2 {
			t.Fatalf("answers %v, want 4 × 200 and 2 × 429 (the member's rpm 4 over two instances)", codes)
		}
		return
	}
	t.Fatal("two UTC minutes turned during the test")
}
