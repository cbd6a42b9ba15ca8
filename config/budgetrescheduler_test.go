package config

import (
	"testing"
	"time"
)

// proxy_budget_rescheduler_min_time / _max_time (D109): read in seconds, one
// alone takes LiteLLM's default for the other, min above max and values
// out of bounds are errors.
func TestBudgetReschedulerSettings(t *testing.T) {
	for _, c := range []struct {
		yaml   string
		lo, hi time.Duration
	}{
		{"proxy_budget_rescheduler_min_time: 60\n  proxy_budget_rescheduler_max_time: 90", time.Minute, 90 * time.Second},
		{"proxy_budget_rescheduler_min_time: 60", time.Minute, DefaultBudgetReschedulerMax},
		{"proxy_budget_rescheduler_max_time: 700", DefaultBudgetReschedulerMin, 700 * time.Second},
		{"master_key: sk-x", 0, 0},
	} {
		g := mustParse(t, "model_list: []\ngeneral_settings:\n  "+c.yaml+"\n", nil).General
		if g.BudgetReschedulerMin != c.lo || g.BudgetReschedulerMax != c.hi {
			t.Errorf("%s: read as %v, %v; want %v, %v", c.yaml, g.BudgetReschedulerMin, g.BudgetReschedulerMax, c.lo, c.hi)
		}
	}
	for _, bad := range []string{"proxy_budget_rescheduler_min_time: 0", "proxy_budget_rescheduler_max_time: 100000",
		"proxy_budget_rescheduler_min_time: 90\n  proxy_budget_rescheduler_max_time: 60", "proxy_budget_rescheduler_max_time: 100"} {
		if e := parseErr(t, "model_list: []\ngeneral_settings:\n  "+bad+"\n", nil); e == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
