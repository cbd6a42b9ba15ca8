package router

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/llmgate/llmgate/config"
)

func withOrder(d config.Deployment, o int) config.Deployment { d.Params.Order = &o; return d }

// attemptHops lists each attempt as deployment@fallback-index.
func attemptHops(p *Plan) []string {
	var out []string
	for _, a := range p.Attempts {
		out = append(out, a.DeploymentID+"@"+string(rune('0'+a.FallbackIndex)))
	}
	return out
}

// TestPlanOrder: litellm_params.order (LiteLLM's _get_order_filtered_deployments
// and its order fallbacks): the lowest order among the deployments that can
// take the request gets the group's tries; each higher order follows as a
// fallback hop of its own (1 + num_retries tries), before the group's
// fallbacks, every hop counting towards max_fallbacks.
func TestPlanOrder(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		deps    []config.Deployment
		fbs     []config.Fallback
		maxFb   int
		same    bool // a and a2 are reported as a*
		retries int
		cool    []string
		want    []string
		wantFbs []string
	}{
		{name: "no order: unchanged", deps: []config.Deployment{dep("a", "g", "openai/a")}, retries: 1,
			want: []string{"a@0", "a@0"}},
		{name: "lowest order first, higher orders as hops", retries: 1,
			deps: []config.Deployment{withOrder(dep("b", "g", "openai/b"), 2), withOrder(dep("a", "g", "openai/a"), 1), withOrder(dep("c", "g", "openai/c"), 3)},
			want: []string{"a@0", "a@0", "b@1", "b@1", "c@2", "c@2"}},
		{name: "unordered deployments are left out while an ordered one can take it", retries: 0,
			deps: []config.Deployment{dep("u", "g", "openai/u"), withOrder(dep("a", "g", "openai/a"), 1), withOrder(dep("b", "g", "openai/b"), 2)},
			want: []string{"a@0", "b@1"}},
		{name: "one order: no hops, unordered left out", retries: 2,
			deps: []config.Deployment{dep("u", "g", "openai/u"), withOrder(dep("a", "g", "openai/a"), 1)},
			want: []string{"a@0", "a@0", "a@0"}},
		{name: "the lowest order cooling: the next is the group's own", retries: 0, cool: []string{"a"},
			deps: []config.Deployment{withOrder(dep("a", "g", "openai/a"), 1), withOrder(dep("b", "g", "openai/b"), 2), withOrder(dep("c", "g", "openai/c"), 3)},
			want: []string{"b@0", "c@1"}},
		{name: "a cooling middle order is a hop without tries", retries: 0, cool: []string{"b"},
			deps: []config.Deployment{withOrder(dep("a", "g", "openai/a"), 1), withOrder(dep("b", "g", "openai/b"), 2), withOrder(dep("c", "g", "openai/c"), 3)},
			want: []string{"a@0", "c@2"}},
		{name: "every ordered one cooling: the unordered ones", retries: 0, cool: []string{"a", "b"},
			deps: []config.Deployment{dep("u", "g", "openai/u"), withOrder(dep("a", "g", "openai/a"), 1), withOrder(dep("b", "g", "openai/b"), 2)},
			want: []string{"u@0"}},
		{name: "same order shares the tries", retries: 3, same: true,
			deps: []config.Deployment{withOrder(dep("a", "g", "openai/a"), 1), withOrder(dep("a2", "g", "openai/a2"), 1), withOrder(dep("b", "g", "openai/b"), 2)},
			want: []string{"a*@0", "a*@0", "a*@0", "a*@0", "b@1", "b@1", "b@1", "b@1"}},
		{name: "then the group's fallbacks, indexed after the hops", retries: 0,
			deps: []config.Deployment{withOrder(dep("a", "g", "openai/a"), 1), withOrder(dep("b", "g", "openai/b"), 2), dep("f", "fb", "openai/f")},
			fbs:  []config.Fallback{{Group: "g", To: []string{"fb"}}},
			want: []string{"a@0", "b@1", "f@2"}, wantFbs: []string{"fb"}},
		{name: "a fallback group's own orders", retries: 0,
			deps: []config.Deployment{dep("a", "g", "openai/a"), withOrder(dep("f2", "fb", "openai/f2"), 2), withOrder(dep("f1", "fb", "openai/f1"), 1)},
			fbs:  []config.Fallback{{Group: "g", To: []string{"fb"}}},
			want: []string{"a@0", "f1@1", "f2@2"}, wantFbs: []string{"fb"}},
		{name: "hops count towards max_fallbacks", retries: 0, maxFb: 2,
			deps: []config.Deployment{withOrder(dep("a", "g", "openai/a"), 1), withOrder(dep("b", "g", "openai/b"), 2), withOrder(dep("c", "g", "openai/c"), 3), dep("f", "fb", "openai/f")},
			fbs:  []config.Fallback{{Group: "g", To: []string{"fb"}}},
			want: []string{"a@0", "b@1", "c@2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := baseConfig(tc.deps...)
			cfg.Router.NumRetries = tc.retries
			cfg.Router.Fallbacks = tc.fbs
			if tc.maxFb > 0 {
				cfg.Router.MaxFallbacks = tc.maxFb
			}
			clk := newClock()
			r := newTestRouter(cfg, clk, 7)
			for _, id := range tc.cool {
				if _, err := r.Store().Cooldown(ctx, id, clk.Now().Add(time.Minute)); err != nil {
					t.Fatal(err)
				}
			}
			p, err := r.Plan(ctx, PlanRequest{Model: "g"})
			if err != nil {
				t.Fatal(err)
			}
			got := attemptHops(p)
			for i, a := range p.Attempts {
				if tc.same && (a.DeploymentID == "a" || a.DeploymentID == "a2") {
					got[i] = "a*" + got[i][len(a.DeploymentID):]
				}
				if a.Fallback != (a.FallbackIndex > 0) {
					t.Errorf("attempt %d: Fallback %v at index %d", i, a.Fallback, a.FallbackIndex)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("attempts %v, want %v", got, tc.want)
			}
			if !reflect.DeepEqual(p.FallbackGroups, tc.wantFbs) {
				t.Errorf("fallback groups %v, want %v", p.FallbackGroups, tc.wantFbs)
			}
		})
	}
}

// TestPlanOrderAllCooling: no deployment of any order can take the
// request: LiteLLM's "no deployments available" (429).
func TestPlanOrderAllCooling(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	r := newTestRouter(baseConfig(withOrder(dep("a", "g", "openai/a"), 1), withOrder(dep("b", "g", "openai/b"), 2)), clk, 1)
	for _, id := range []string{"a", "b"} {
		if _, err := r.Store().Cooldown(ctx, id, clk.Now().Add(30*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	_, err := r.Plan(ctx, PlanRequest{Model: "g"})
	nd, ok := err.(*NoDeploymentsError)
	if !ok || nd.Status() != 429 || nd.Group != "g" {
		t.Fatalf("err %v, want a NoDeploymentsError for g", err)
	}
}
