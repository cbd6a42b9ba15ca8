package router

import (
	"context"
	"testing"
)

// PlanRequest.Prefer (optional_pre_call_checks'
// responses_api_deployment_check, D162): a deployment of the group that can
// take the request is the only one planned, retries included; a cooling one,
// or an id that is not in the group, leaves the group planned as usual.
func TestPlanPrefer(t *testing.T) {
	ctx := context.Background()
	cfg := baseConfig(dep("a", "g", "openai/m"), dep("b", "g", "openai/m"), dep("c", "g", "openai/m"))
	cfg.Router.AllowedFails = 0
	clk := newClock()
	r := newTestRouter(cfg, clk, 7)
	seen := func(req PlanRequest) map[string]int {
		t.Helper()
		out := map[string]int{}
		for range 30 {
			p, err := r.Plan(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range p.Attempts {
				out[a.DeploymentID]++
			}
		}
		return out
	}
	if got := seen(PlanRequest{Model: "g", Prefer: "b"}); len(got) != 1 || got["b"] != 90 {
		t.Errorf("prefer b: attempts per deployment %v, want every one of 90 (30 plans of 3 tries) on b", got)
	}
	if got := seen(PlanRequest{Model: "g", Prefer: "not-in-group"}); len(got) != 3 {
		t.Errorf("prefer an id outside the group: attempts per deployment %v, want all three", got)
	}
	if _, err := r.Report(ctx, Outcome{DeploymentID: "b", Group: "g", Status: 500}); err != nil {
		t.Fatal(err)
	}
	if got := seen(PlanRequest{Model: "g", Prefer: "b"}); got["b"] != 0 || got["a"] == 0 || got["c"] == 0 {
		t.Errorf("prefer a cooling b: attempts per deployment %v, want a and c only", got)
	}
}
