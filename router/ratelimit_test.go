package router

import (
	"context"
	"errors"
	"testing"

	"github.com/llmgate/llmgate/translator"
)

// enforce_model_rate_limits (D168): a group whose deployments are all at
// their rpm or tpm is refused with LiteLLM's ModelRateLimitingCheck verdict
// on the first one left out; without the check it is the usual "No
// deployments available"; a group with room is planned as before.
func TestPlanEnforceModelRateLimits(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	plan := func(enforce bool) error {
		cfg := baseConfig(withRPM(dep("a", "g", "openai/a"), 2), withTPM(dep("b", "g", "openai/b"), 100))
		cfg.Router.EnforceModelRateLimits = enforce
		r := newTestRouter(cfg, clk, 5)
		if _, err := r.Plan(ctx, PlanRequest{Model: "g"}); err != nil {
			t.Fatalf("room left: %v", err)
		}
		for range 2 {
			_, _ = r.Begin(ctx, "a")
		}
		if _, err := r.Report(ctx, Outcome{DeploymentID: "b", Group: "g", Status: 200, Usage: translator.Usage{TotalTokens: 100}}); err != nil {
			t.Fatal(err)
		}
		_, err := r.Plan(ctx, PlanRequest{Model: "g", InputTokens: 5})
		return err
	}
	err := plan(true)
	var rl *ModelRateLimitError
	if !errors.As(err, &rl) || rl.RetryAfterSeconds() != 50 || rl.DeploymentID != "a" {
		t.Fatalf("enforced: want the model rate limit error on a with retry-after 50 s, got %#v", err)
	}
	if want := "Model rate limit exceeded. RPM limit=2, current usage=3"; err.Error() != want {
		t.Errorf("message %q, want %q", err.Error(), want)
	}
	var nd *NoDeploymentsError
	if err := plan(false); !errors.As(err, &nd) {
		t.Errorf("without the check: %v, want No deployments available", err)
	}
}
