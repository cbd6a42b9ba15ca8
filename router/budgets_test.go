package router

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/translator"
)

// priced gives a deployment a price of 1e-3 USD per token, in and out.
func priced(d config.Deployment) config.Deployment {
	p := 1e-3
	d.Info.InputCostPerToken, d.Info.OutputCostPerToken = &p, &p
	return d
}

func withBudget(d config.Deployment, usd float64, window time.Duration) config.Deployment {
	d.Params.MaxBudget, d.Params.BudgetDuration = usd, window
	return d
}

// TestPlanBudgets: deployment (max_budget, budget_duration) and provider
// (provider_budget_config) budgets, as LiteLLM's RouterBudgetLimiting: an
// answer's cost is added to both spends; a deployment whose spend reached a
// limit is left out until its window (from the first spend) ends; none left
// is LiteLLM's "No deployments available - crossed budget" (429).
func TestPlanBudgets(t *testing.T) {
	ctx := context.Background()
	cfg := baseConfig(
		priced(withBudget(dep("a", "g", "openai/a"), 0.015, time.Hour)),
		priced(dep("b", "g", "openai/b")),
		priced(dep("c", "g", "anthropic/c")),
	)
	cfg.Router.NumRetries = 10
	cfg.Router.ProviderBudgets = map[string]config.Budget{"openai": {Max: 0.05, Window: 24 * time.Hour}}
	clk := newClock()
	r := newTestRouter(cfg, clk, 5)
	uses := func() []string {
		t.Helper()
		p, err := r.Plan(ctx, PlanRequest{Model: "g"})
		if err != nil {
			t.Fatal(err)
		}
		ids := attemptIDs(p)
		slices.Sort(ids)
		return slices.Compact(ids)
	}
	answer := func(id string, tokens int) {
		t.Helper()
		if _, err := r.Report(ctx, Outcome{DeploymentID: id, Group: "g", Status: 200, Usage: translator.Usage{PromptTokens: tokens}}); err != nil {
			t.Fatal(err)
		}
	}
	if got := uses(); !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
		t.Fatalf("before any spend: %v", got)
	}
	answer("a", 10) // 0.010: under a's 0.015
	if got := uses(); !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
		t.Fatalf("a under its budget: %v", got)
	}
	answer("a", 5) // 0.015: a's budget reached
	if got := uses(); !reflect.DeepEqual(got, []string{"b", "c"}) {
		t.Fatalf("a at its budget: %v", got)
	}
	if _, err := r.Report(ctx, Outcome{DeploymentID: "b", Group: "g", Status: 500, Usage: translator.Usage{PromptTokens: 100}}); err != nil {
		t.Fatal(err)
	}
	if got := uses(); !reflect.DeepEqual(got, []string{"b", "c"}) {
		t.Fatalf("a failure costs nothing: %v", got)
	}
	answer("b", 35) // openai's 0.015 + 0.035 = 0.05: the provider's budget reached
	if got := uses(); !reflect.DeepEqual(got, []string{"c"}) {
		t.Fatalf("openai at its budget: %v", got)
	}
	clk.Add(time.Hour + time.Second) // a's window over; openai's (a day) not
	if got := uses(); !reflect.DeepEqual(got, []string{"c"}) {
		t.Fatalf("a's window over, openai's not: %v", got)
	}
	clk.Add(24 * time.Hour)
	if got := uses(); !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
		t.Fatalf("every window over: %v", got)
	}

	// Every deployment over a budget: LiteLLM's error.
	cfg2 := baseConfig(priced(withBudget(dep("x", "solo", "openai/x"), 0.001, time.Hour)))
	r2 := newTestRouter(cfg2, newClock(), 1)
	if _, err := r2.Report(ctx, Outcome{DeploymentID: "x", Group: "solo", Status: 200, Usage: translator.Usage{CompletionTokens: 1}}); err != nil {
		t.Fatal(err)
	}
	_, err := r2.Plan(ctx, PlanRequest{Model: "solo"})
	var be *BudgetError
	if !errors.As(err, &be) || be.Status() != 429 || !strings.HasPrefix(be.Error(), "No deployments available - crossed budget: Exceeded budget for deployment x: ") {
		t.Fatalf("err %v, want LiteLLM's crossed-budget error", err)
	}
}
