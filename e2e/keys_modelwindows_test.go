package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestModelBudgetWindowsSharedRedis (D73): per-model budget windows are
// shared across two llmgate instances (module mode) on one Redis and one
// database, as LiteLLM's limiter shares its counters in Redis: a key's and
// a team's model budgets spent through instance a are refused by instance
// b's module on b's first request for them within the period (no
// request-filter stream), with LiteLLM's budget_exceeded; b's /key/info reports
// a's spend.
func TestModelBudgetWindowsSharedRedis(t *testing.T) {
	ga, gb := keysOnSharedRedis(t, moduleArgs)
	waitLog(t, ga, "llmgate module: config")
	waitLog(t, gb, "llmgate module: config")
	ka, kb := keyAPI{t, ga}, keyAPI{t, gb}
	if st, m := ka.call("POST", "/team/new", master, `{"team_id":"sw-team","model_max_budget":{"other":{"budget_limit":0.000001,"time_period":"1h"}}}`); st != 200 {
		t.Fatalf("/team/new: %d %v", st, m)
	}
	key, token := ka.generate(`{"team_id":"sw-team","model_max_budget":{"gpt-x":{"budget_limit":0.000001,"time_period":"1h"}}}`)
	// b knows the key and the team after its cache reload
	// (user_api_key_cache_ttl: 1).
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, _ := kb.call("GET", "/key/info?key="+key, master, "")
		tst, _ := kb.call("GET", "/team/info?team_id=sw-team", master, "")
		if st == 200 && tst == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("instance b never saw the key")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// a spends both budgets (one answer each goes over) and refuses them.
	for _, model := range []string{"gpt-x", "other"} {
		if st, e, _ := ka.chat(key, model); st != 200 {
			t.Fatalf("a, first %s: %d %v", model, st, e)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			st, e, _ := ka.chat(key, model)
			if st == 400 && e["type"] == "budget_exceeded" {
				break
			}
			if st != 200 || time.Now().After(deadline) {
				t.Fatalf("a, %s spent: %d %v", model, st, e)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	// b's /key/info reports a's spend in the key's window.
	deadline = time.Now().Add(5 * time.Second)
	for {
		_, info := kb.call("GET", "/key/info?key="+key, master, "")
		ki, _ := info["info"].(map[string]any)
		usage, _ := ki["model_max_budget_usage"].(map[string]any)
		if u, _ := usage["gpt-x"].(map[string]any); u != nil && u["current_spend"] != 0.0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance b's /key/info never showed a's spend: %v", info)
		}
		time.Sleep(20 * time.Millisecond)
	}
	// b's module applies the key table b pushed (no signal reaches the test:
	// a wait with room for a loaded host).
	time.Sleep(1500 * time.Millisecond)
	before := requestFilterStreams(t, gb)
	for _, c := range []struct{ model, who string }{
		{"gpt-x", "LiteLLM Virtual Key: " + token + ", key_alias: None"},
		{"other", "LiteLLM Team: sw-team"},
	} {
		st, e, _ := kb.chat(key, c.model)
		msg, _ := e["message"].(string)
		if st != 400 || e["type"] != "budget_exceeded" || !strings.Contains(msg, c.who+", exceeded budget for model="+c.model) {
			t.Fatalf("b's first %s request after a spent its budget: %d %v", c.model, st, e)
		}
	}
	if n := requestFilterStreams(t, gb); n != before {
		t.Errorf("b's refusals were not its module's own (%d request-filter streams)", n-before)
	}
}
