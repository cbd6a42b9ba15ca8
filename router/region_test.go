package router

import (
	"context"
	"errors"
	"reflect"
	"testing"
)

// TestRegionPreCallCheck (D173): with enable_pre_call_checks, a request
// whose end user has an allowed_model_region is planned on the group's
// deployments of that region only (LiteLLM's is_region_allowed: a
// deployment without region_name takes none); none left is the 429 "No
// deployments available"; without the checks, or without a region, the
// whole group.
func TestRegionPreCallCheck(t *testing.T) {
	eu, us, none := dep("eu", "g", "openai/a"), dep("us", "g", "openai/b"), dep("none", "g", "openai/c")
	eu.Params.RegionName, us.Params.RegionName = "eu", "us"
	only := dep("us-only", "h", "openai/d")
	only.Params.RegionName = "us"
	cfg := baseConfig(eu, us, none, only)
	cfg.Router.EnablePreCallChecks = true
	r := newTestRouter(cfg, newClock(), 1)
	ctx := context.Background()
	for i := 0; i < 10; i++ {
		p, err := r.Plan(ctx, PlanRequest{Model: "g", Region: "eu", NumRetries: intp(2)})
		if err != nil || !reflect.DeepEqual(attemptIDs(p), []string{"eu", "eu", "eu"}) {
			t.Fatalf("region eu: plan %v, %v; want only the eu deployment", attemptIDs(p), err)
		}
	}
	_, err := r.Plan(ctx, PlanRequest{Model: "h", Region: "eu"})
	var nd *NoDeploymentsError
	if !errors.As(err, &nd) || nd.Status() != 429 {
		t.Fatalf("region eu on a us-only group: %v, want NoDeploymentsError", err)
	}
	seen := map[string]bool{}
	for i := 0; i < 50; i++ {
		p, err := r.Plan(ctx, PlanRequest{Model: "g"})
		if err != nil {
			t.Fatal(err)
		}
		seen[attemptIDs(p)[0]] = true
	}
	if len(seen) != 3 {
		t.Errorf("no region: first tries %v, want all three deployments", seen)
	}
	cfg2 := baseConfig(eu, us, none)
	r2 := newTestRouter(cfg2, newClock(), 1)
	seen = map[string]bool{}
	for i := 0; i < 50; i++ {
		p, err := r2.Plan(ctx, PlanRequest{Model: "g", Region: "eu"})
		if err != nil {
			t.Fatal(err)
		}
		seen[attemptIDs(p)[0]] = true
	}
	if len(seen) != 3 {
		t.Errorf("region without enable_pre_call_checks: first tries %v, want all three deployments", seen)
	}
}
