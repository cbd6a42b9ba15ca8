package router

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/llmgate/llmgate/config"
)

// PlanRequest.Affinity (optional_pre_call_checks' session_affinity and
// deployment_affinity, D168): every plan of one key starts on the same
// deployment, whatever the shuffle draws, on every router built for the
// config (another instance, the other request filter); its retries go to
// the others; keys spread over the group by its weights; a cooling
// deployment hands its keys to their next choice until it is back.
func TestPlanAffinity(t *testing.T) {
	ctx := context.Background()
	cfg := baseConfig(dep("a", "g", "openai/m"), dep("b", "g", "openai/m"), dep("c", "g", "openai/m"))
	cfg.Router.AllowedFails = 0
	cfg.Router.SessionAffinity = true
	clk := newClock()
	first := func(r *Router, key string) (string, []Attempt) {
		t.Helper()
		p, err := r.Plan(ctx, PlanRequest{Model: "g", Session: key})
		if err != nil {
			t.Fatal(err)
		}
		return p.Attempts[0].DeploymentID, p.Attempts
	}
	r1, r2 := newTestRouter(cfg, clk, 7), newTestRouter(cfg, clk, 99)
	firsts := map[string]int{}
	pinned := map[string]string{}
	for k := range 300 {
		key := fmt.Sprintf("session-%d", k)
		d, atts := first(r1, key)
		for range 5 {
			if again, _ := first(r1, key); again != d {
				t.Fatalf("key %s: first try on %s, then on %s", key, d, again)
			}
		}
		if other, _ := first(r2, key); other != d {
			t.Fatalf("key %s: %s on one router, %s on another (another instance)", key, d, other)
		}
		if len(atts) != 3 || atts[1].DeploymentID == d || atts[2].DeploymentID == d || atts[1].DeploymentID == atts[2].DeploymentID {
			t.Fatalf("key %s: attempts %v, want the pin first and its retries on the other two", key, atts)
		}
		firsts[d]++
		pinned[key] = d
	}
	for _, id := range []string{"a", "b", "c"} {
		if firsts[id] < 70 {
			t.Errorf("keys per deployment %v: want about 100 each of 300", firsts)
		}
	}
	// Without a key the shuffle decides.
	plain := map[string]int{}
	for range 60 {
		d, _ := first(r1, "")
		plain[d]++
	}
	if len(plain) != 3 {
		t.Errorf("no key: first tries %v, want all three", plain)
	}
	// b cools down: its keys go elsewhere, the others' stay.
	if _, err := r1.Report(ctx, Outcome{DeploymentID: "b", Group: "g", Status: 500}); err != nil {
		t.Fatal(err)
	}
	for key, d := range pinned {
		got, _ := first(r1, key)
		if d != "b" && got != d || got == "b" {
			t.Fatalf("b cooling: key %s (pinned to %s) first on %s", key, d, got)
		}
	}
	clk.Add(6 * time.Second)
	for key, d := range pinned {
		if got, _ := first(r1, key); got != d {
			t.Fatalf("b back: key %s first on %s, want %s again", key, got, d)
		}
	}
}

// Weighted groups: the keys spread as the weights do.
func TestPlanAffinityWeights(t *testing.T) {
	a, b := dep("a", "g", "openai/m"), dep("b", "g", "openai/m")
	a.Params.Weight, b.Params.Weight = 3, 1
	cfg := baseConfig(a, b)
	cfg.Router.DeploymentAffinity = true
	r := newTestRouter(cfg, newClock(), 1)
	n := map[string]int{}
	for k := range 400 {
		p, err := r.Plan(context.Background(), PlanRequest{Model: "g", Caller: fmt.Sprint("k", k)})
		if err != nil {
			t.Fatal(err)
		}
		n[p.Attempts[0].DeploymentID]++
	}
	if n["a"] < 250 || n["a"] > 350 {
		t.Errorf("keys per deployment %v: want about 300 of 400 on a (weight 3 of 4)", n)
	}
}

// affinityKey: what a request sticks by in a group, by the config's checks
// and model_group_affinity_config.
func TestAffinityKey(t *testing.T) {
	cfg := baseConfig(dep("a", "g", "openai/m"), dep("b", "h", "openai/m"))
	key := func(cfg *config.Config, group, session, caller string) string {
		return newTestRouter(cfg, newClock(), 1).affinityKey(group, PlanRequest{Session: session, Caller: caller})
	}
	if k := key(cfg, "g", "s1", "key"); k != "" {
		t.Errorf("no check: %q", k)
	}
	cfg.Router.SessionAffinity = true
	if key(cfg, "g", "s1", "key") == key(cfg, "g", "s1", "other") || key(cfg, "g", "s1", "key") == "" {
		t.Error("session pins are not scoped by the caller")
	}
	if k := key(cfg, "g", "", "key"); k != "" {
		t.Errorf("session_affinity without a session id: %q", k)
	}
	cfg.Router.DeploymentAffinity = true
	if key(cfg, "g", "", "key") == "" || key(cfg, "g", "", "key") == key(cfg, "g", "", "other") || key(cfg, "g", "", "") != "" {
		t.Error("deployment_affinity: the caller's key")
	}
	if key(cfg, "g", "s1", "key") == key(cfg, "g", "", "key") {
		t.Error("a session id does not win over the caller")
	}
	// model_group_affinity_config: a listed group takes its own flags.
	cfg.Router.ModelGroupAffinity = map[string]config.AffinityChecks{"h": {Deployment: true}}
	if key(cfg, "h", "s1", "key") != key(cfg, "h", "", "key") || key(cfg, "h", "", "key") == "" {
		t.Error("group h: deployment_affinity only, the session not read")
	}
	cfg.Router.SessionAffinity, cfg.Router.DeploymentAffinity = false, false
	cfg.Router.ModelGroupAffinity = map[string]config.AffinityChecks{"h": {Session: true}}
	if key(cfg, "g", "s1", "key") != "" || key(cfg, "h", "s1", "key") == "" {
		t.Error("only the listed group h takes session_affinity")
	}
	r := newTestRouter(cfg, newClock(), 1)
	if !r.prefers("g") || r.prefers("h") {
		t.Error("previous_response_id: h's list leaves responses_api_deployment_check out")
	}
}
