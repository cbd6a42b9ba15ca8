package metrics

import (
	"math"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/llmgate/llmgate/internal/keys"
)

// BudgetSource returns the virtual keys', teams' and users' budgets and
// current spend (keys.Service.Budgets).
type BudgetSource func() (keys, teams, users []keys.BudgetView)

// budgetCollector serves LiteLLM's budget gauges, read from the key cache at
// scrape time: nothing is recorded on the request path, and a scrape sees
// every key, team and user as LiteLLM's periodic budget refresh does, with
// the spend of the requests answered so far.
type budgetCollector struct {
	src BudgetSource
	now func() time.Time

	keyRemaining, keyMax, keyHours    *prometheus.Desc
	teamRemaining, teamMax, teamHours *prometheus.Desc
	userRemaining, userMax, userHours *prometheus.Desc
}

// ServeBudgets adds the budget gauges, read from src at each scrape.
func (m *Metrics) ServeBudgets(src BudgetSource) {
	m.reg.MustRegister(newBudgetCollector(src, m.now))
}

func newBudgetCollector(src BudgetSource, now func() time.Time) *budgetCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, nil)
	}
	key, team, user := []string{"hashed_api_key", "api_key_alias"}, []string{"team", "team_alias"}, []string{"user"}
	return &budgetCollector{src: src, now: now,
		keyRemaining:  d("litellm_remaining_api_key_budget_metric", "Remaining budget for api key", key...),
		keyMax:        d("litellm_api_key_max_budget_metric", "Maximum budget set for api key", key...),
		keyHours:      d("litellm_api_key_budget_remaining_hours_metric", "Remaining hours for api key budget to be reset", key...),
		teamRemaining: d("litellm_remaining_team_budget_metric", "Remaining budget for team", team...),
		teamMax:       d("litellm_team_max_budget_metric", "Maximum budget set for team", team...),
		teamHours:     d("litellm_team_budget_remaining_hours_metric", "Remaining days for team budget to be reset", team...),
		userRemaining: d("litellm_remaining_user_budget_metric", "Remaining budget for user", user...),
		userMax:       d("litellm_user_max_budget_metric", "Maximum budget set for user", user...),
		userHours:     d("litellm_user_budget_remaining_hours_metric", "Remaining hours for user budget to be reset", user...),
	}
}

func (c *budgetCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.keyRemaining, c.keyMax, c.keyHours, c.teamRemaining, c.teamMax, c.teamHours,
		c.userRemaining, c.userMax, c.userHours} {
		ch <- d
	}
}

// Collect emits, per key, team and user: the remaining budget (max budget
// minus spend; +Inf without a budget, as LiteLLM's), the max budget when one
// is set, and the hours to the budget's reset when one is scheduled.
func (c *budgetCollector) Collect(ch chan<- prometheus.Metric) {
	ks, ts, us := c.src()
	now := c.now()
	emit := func(bs []keys.BudgetView, remaining, max, hours *prometheus.Desc, withAlias bool) {
		for _, b := range bs {
			labels := []string{b.ID}
			if withAlias {
				labels = append(labels, b.Alias)
			}
			left := math.Inf(1)
			if b.MaxBudget != nil {
				left = *b.MaxBudget - b.Spend
				ch <- prometheus.MustNewConstMetric(max, prometheus.GaugeValue, *b.MaxBudget, labels...)
			}
			ch <- prometheus.MustNewConstMetric(remaining, prometheus.GaugeValue, left, labels...)
			if b.ResetAt != nil {
				ch <- prometheus.MustNewConstMetric(hours, prometheus.GaugeValue, b.ResetAt.Sub(now).Hours(), labels...)
			}
		}
	}
	emit(ks, c.keyRemaining, c.keyMax, c.keyHours, true)
	emit(ts, c.teamRemaining, c.teamMax, c.teamHours, true)
	emit(us, c.userRemaining, c.userMax, c.userHours, false)
}
