package router

import (
	"context"
	"reflect"
	"testing"

	"github.com/llmgate/llmgate/translator"
)

// TestPlanCountsTokensOnDemand (D95): with the prompt counted on demand, a
// tpm limit with room for the bound passes the request without the count,
// a limit closer than the bound counts it (once per plan, fallbacks
// included) and filters exactly as the counted InputTokens did, and the
// pre-call checks always count.
func TestPlanCountsTokensOnDemand(t *testing.T) {
	clk := newClock()
	cfg := baseConfig(withTPM(dep("a", "g", "openai/a"), 10000), withTPM(dep("b", "g", "openai/b"), 100), dep("c", "g", "openai/c"))
	cfg.Router.RoutingStrategy = UsageBasedV2
	r := newTestRouter(cfg, clk, 5)
	ctx := context.Background()
	if _, err := r.Report(ctx, Outcome{DeploymentID: "b", Usage: translator.Usage{TotalTokens: 20}}); err != nil {
		t.Fatal(err)
	}
	plan := func(bound, count int) ([]string, int) {
		calls := 0
		in := &InputCount{Bound: bound, Count: func() int { calls++; return count }}
		p, err := r.Plan(ctx, PlanRequest{Model: "g", NumRetries: intp(2), Input: in})
		if err != nil {
			t.Fatal(err)
		}
		want, err := r.Plan(ctx, PlanRequest{Model: "g", NumRetries: intp(2), InputTokens: count})
		if err != nil {
			t.Fatal(err)
		}
		if got, w := sortedIDs(p), sortedIDs(want); !reflect.DeepEqual(got, w) {
			t.Errorf("bound %d, count %d: %v, the counted plan %v", bound, count, got, w)
		}
		return sortedIDs(p), calls
	}
	// Room for the bound on every limit: no count.
	if got, calls := plan(50, 40); calls != 0 || len(got) != 3 {
		t.Errorf("far from the limits: %v, counted %d times", got, calls)
	}
	// b (20 of 100 used) has no room for a bound of 81: counted once; 40
	// fits, 81 does not.
	if got, calls := plan(81, 40); calls != 1 || len(got) != 3 {
		t.Errorf("a bound over b's room, 40 tokens: %v, counted %d times", got, calls)
	}
	if got, calls := plan(200, 81); calls != 1 || !reflect.DeepEqual(got, []string{"a", "c"}) {
		t.Errorf("81 tokens: %v, counted %d times", got, calls)
	}

	// Pre-call checks need the count whatever the limits.
	cfg2 := baseConfig(dep("a", "g", "openai/a"), dep("b", "g", "openai/b"))
	cfg2.Router.EnablePreCallChecks = true
	r2 := newTestRouter(cfg2, clk, 5)
	calls := 0
	if _, err := r2.Plan(ctx, PlanRequest{Model: "g", Input: &InputCount{Bound: 10, Count: func() int { calls++; return 5 }}}); err != nil || calls != 1 {
		t.Errorf("pre-call checks: counted %d times (%v)", calls, err)
	}
}

// sortedIDs are the deployments a, b, c that p tries, in that order.
func sortedIDs(p *Plan) []string {
	seen := map[string]bool{}
	for _, id := range attemptIDs(p) {
		seen[id] = true
	}
	var out []string
	for _, id := range []string{"a", "b", "c"} {
		if seen[id] {
			out = append(out, id)
		}
	}
	return out
}
