package router

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/llmgate/llmgate/translator"
)

// optional_pre_call_checks' prompt_caching (D179): a prefix answered once is
// pinned to the deployment that answered it; a later request whose lookback
// keys hold that prefix's key starts there (its retries elsewhere), on every
// router that shares the pin table (another config, the gateway's Redis
// learns it for the other instances); the pin lasts 5 minutes, an hour for
// a "1h" breakpoint on a Claude deployment; a cooling pinned deployment
// leaves the group as usual; nothing is pinned without the check, for a
// failure, or for another call.
func TestPlanPromptCaching(t *testing.T) {
	ctx := context.Background()
	cfg := baseConfig(dep("a", "g", "anthropic/claude-sonnet-4"), dep("b", "g", "openai/m"), dep("c", "g", "openai/m"))
	cfg.Router.AllowedFails = 0
	cfg.Router.PromptCaching = true
	clk := newClock()
	pins := NewPins(clk.Now)
	var published []string
	pins.Publish = func(key, dep string, ttl time.Duration) {
		published = append(published, fmt.Sprint(key, "→", dep, " ", ttl))
	}
	r := New(cfg, nil, WithClock(clk.Now), WithPins(pins))
	plan := func(r *Router, call string, p *PromptPrefix) []Attempt {
		t.Helper()
		pl, err := r.Plan(ctx, PlanRequest{Model: "g", CallID: call, Prompt: p})
		if err != nil {
			t.Fatal(err)
		}
		return pl.Attempts
	}
	succeed := func(r *Router, call, d string) {
		t.Helper()
		if _, err := r.Report(ctx, Outcome{DeploymentID: d, Group: "g", Status: 200, CallID: call}); err != nil {
			t.Fatal(err)
		}
	}
	turn1 := &PromptPrefix{Keys: []string{"k1", "k0"}}
	turn2 := &PromptPrefix{Keys: []string{"k2", "k1", "k0"}} // the conversation went on: turn 1's prefix is in its lookback
	// The first request goes where the shuffle sends it; its success pins it.
	first := plan(r, "call-1", turn1)[0].DeploymentID
	succeed(r, "call-1", first)
	if len(published) != 1 || published[0] != "k1→"+first+" 5m0s" {
		t.Fatalf("published %v: want k1 pinned to %s for 5m", published, first)
	}
	for i := range 30 {
		call := fmt.Sprint("call-t2-", i)
		atts := plan(r, call, turn2)
		if atts[0].DeploymentID != first || atts[1].DeploymentID == first || atts[2].DeploymentID == first {
			t.Fatalf("turn 2 attempts %v: want %s first, its retries elsewhere", atts, first)
		}
		succeed(r, call, first)
	}
	// Another router on the same table (a reloaded config) finds the pin too.
	r2 := New(cfg, nil, WithClock(clk.Now), WithPins(pins))
	if d := plan(r2, "other", turn2)[0].DeploymentID; d != first {
		t.Fatalf("another router: first try on %s, want %s", d, first)
	}
	// A pin learnt from another instance (Add) routes as this one's own.
	pins.Add("remote", "c", time.Minute)
	for range 10 {
		if d := plan(r, "", &PromptPrefix{Keys: []string{"new", "remote"}})[0].DeploymentID; d != "c" {
			t.Fatalf("another instance's pin: first try on %s, want c", d)
		}
	}
	// Without the check, or on a prefix no one answered, the shuffle decides.
	off := baseConfig(dep("a", "g", "anthropic/claude-sonnet-4"), dep("b", "g", "openai/m"), dep("c", "g", "openai/m"))
	rOff := New(off, nil, WithClock(clk.Now), WithPins(pins))
	spread := map[string]int{}
	spreadNew := map[string]int{}
	for i := range 60 {
		spread[plan(rOff, "", turn2)[0].DeploymentID]++
		spreadNew[plan(r, "", &PromptPrefix{Keys: []string{fmt.Sprint("fresh-", i)}})[0].DeploymentID]++
	}
	if len(spread) != 3 || len(spreadNew) != 3 {
		t.Fatalf("without the check %v, unpinned prefixes %v: want all three deployments", spread, spreadNew)
	}
	// A failure pins nothing; a success of a call with no prefix neither.
	n := len(published)
	plan(r, "fail", &PromptPrefix{Keys: []string{"kf"}})
	if _, err := r.Report(ctx, Outcome{DeploymentID: "b", Group: "g", Status: 500, Class: translator.ErrInternal, CallID: "fail"}); err != nil {
		t.Fatal(err)
	}
	succeed(r, "no-such-call", "b")
	if len(published) != n {
		t.Fatalf("published %v after a failure and an unknown call", published[n:])
	}
	// The pinned deployment cooling down: the others take the prefix.
	if _, err := r.Report(ctx, Outcome{DeploymentID: first, Group: "g", Status: 500, Class: translator.ErrInternal}); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if d := plan(r, "", turn2)[0].DeploymentID; d == first {
			t.Fatalf("cooling %s still first", first)
		}
	}
	// The pin lasts 5 minutes.
	clk.Add(6 * time.Minute)
	if d := pins.first([]string{"k2", "k1"}); d != "" {
		t.Fatalf("pin still there after 6 minutes: %s", d)
	}
	// A "1h" breakpoint: an hour on the Claude deployment, 5 minutes elsewhere.
	plan(r, "hour-a", &PromptPrefix{Keys: []string{"ha"}, Hour: true})
	succeed(r, "hour-a", "a")
	plan(r, "hour-b", &PromptPrefix{Keys: []string{"hb"}, Hour: true})
	succeed(r, "hour-b", "b")
	if got := published[len(published)-2:]; got[0] != "ha→a 1h0m0s" || got[1] != "hb→b 5m0s" {
		t.Fatalf("published %v: want ha for an hour on a, hb for 5 minutes on b", got)
	}
}

// session_affinity_repin_on_failover (D179): a session whose deployment
// cools down and that another deployment answers stays there when its
// deployment is back; without the setting it goes back (D168). The re-pin
// lasts deployment_affinity_ttl_seconds from its last use.
func TestPlanSessionRepin(t *testing.T) {
	ctx := context.Background()
	for _, repin := range []bool{true, false} {
		t.Run(fmt.Sprint("repin=", repin), func(t *testing.T) {
			// (two deployments: the failover is the only candidate)
			cfg := baseConfig(dep("a", "g", "openai/m"), dep("b", "g", "openai/m"))
			cfg.Router.AllowedFails = 0
			cfg.Router.CooldownTime = 5 * time.Second
			cfg.Router.SessionAffinity = true
			cfg.Router.SessionAffinityRepin = repin
			cfg.Router.DeploymentAffinityTTL = 10 * time.Minute
			clk := newClock()
			r := New(cfg, nil, WithClock(clk.Now))
			first := func(call string) string {
				t.Helper()
				p, err := r.Plan(ctx, PlanRequest{Model: "g", Session: "s-1", CallID: call})
				if err != nil {
					t.Fatal(err)
				}
				return p.Attempts[0].DeploymentID
			}
			report := func(call, d string, status int) {
				t.Helper()
				o := Outcome{DeploymentID: d, Group: "g", Status: status, CallID: call}
				if status >= 400 {
					o.Class = translator.ErrInternal
				}
				if _, err := r.Report(ctx, o); err != nil {
					t.Fatal(err)
				}
			}
			home := first("c0")
			report("c0", home, 200)
			report("c1", home, 500) // home cools down for 5 s
			other := first("c2")
			if other == home {
				t.Fatalf("cooling %s still first", home)
			}
			report("c2", other, 200)
			clk.Add(6 * time.Second) // home is back
			got := first("c3")
			report("c3", got, 200)
			want := home
			if repin {
				want = other
			}
			if got != want {
				t.Fatalf("after the cooldown the session starts on %s, want %s (home %s, failover %s)", got, want, home, other)
			}
			if !repin {
				return
			}
			// Used within the TTL it stays; unused past it, the hash's
			// deployment takes the session again.
			clk.Add(8 * time.Minute)
			if d := first("c4"); d != other {
				t.Fatalf("re-pin gone after 8 minutes: %s", d)
			}
			report("c4", other, 200)
			clk.Add(8 * time.Minute)
			if d := first("c5"); d != other {
				t.Fatalf("re-pin used 8 minutes ago gone: %s", d)
			}
			clk.Add(11 * time.Minute)
			if d := first("c6"); d != home {
				t.Fatalf("re-pin unused for 11 minutes still routes: %s, want %s", d, home)
			}
		})
	}
}
