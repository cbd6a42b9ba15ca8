package metrics

import (
	"math"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/keys"
)

// The budget gauges carry LiteLLM's names and labels: remaining = max
// budget - spend (+Inf without a budget), the max budget when set, hours to
// the reset when scheduled; read at scrape time, so a later spend shows.
func TestBudgetGauges(t *testing.T) {
	m := New(Options{})
	now := time.Unix(1_000_000, 0)
	m.now = func() time.Time { return now }
	five, reset := 5.0, now.Add(90*time.Minute)
	spend := 1.25
	m.ServeBudgets(func() (ks, ts, us []keys.BudgetView) {
		return []keys.BudgetView{{ID: "h1", Alias: "ci", Spend: spend, MaxBudget: &five, ResetAt: &reset}, {ID: "h2", Spend: 3}},
			[]keys.BudgetView{{ID: "team-a", Alias: "A", Spend: 2, MaxBudget: &five}},
			[]keys.BudgetView{{ID: "u1", Spend: 7, MaxBudget: &five}}
	})
	check := func(name, label, value string, want float64) {
		t.Helper()
		if got := gaugeSum(t, m, name, label, value); got != want {
			t.Errorf("%s{%s=%q} = %v, want %v", name, label, value, got, want)
		}
	}
	check("litellm_remaining_api_key_budget_metric", "hashed_api_key", "h1", 3.75)
	check("litellm_remaining_api_key_budget_metric", "api_key_alias", "ci", 3.75)
	check("litellm_api_key_max_budget_metric", "hashed_api_key", "h1", 5)
	check("litellm_api_key_max_budget_metric", "hashed_api_key", "h2", 0) // no budget: no series
	check("litellm_api_key_budget_remaining_hours_metric", "hashed_api_key", "h1", 1.5)
	check("litellm_remaining_team_budget_metric", "team_alias", "A", 3)
	check("litellm_team_max_budget_metric", "team", "team-a", 5)
	check("litellm_remaining_user_budget_metric", "user", "u1", -2)
	if got := gaugeSum(t, m, "litellm_remaining_api_key_budget_metric", "hashed_api_key", "h2"); !math.IsInf(got, 1) {
		t.Errorf("a key without a budget: remaining %v, want +Inf", got)
	}
	spend = 4.5
	check("litellm_remaining_api_key_budget_metric", "hashed_api_key", "h1", 0.5)
}

func gaugeSum(t *testing.T, m *Metrics, name, label, value string) float64 {
	var sum float64
	for _, mt := range gather(t, m, name) {
		if hasLabel(mt, label, value) {
			sum += mt.GetGauge().GetValue()
		}
	}
	return sum
}
