package metrics

import (
	"math"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/llmgate/llmgate/internal/keys"
	mn "github.com/llmgate/llmgate/internal/metricnames"
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

	keyRemaining, keyMax, keyHours    budgetGauge
	teamRemaining, teamMax, teamHours budgetGauge
	userRemaining, userMax, userHours budgetGauge
}

// budgetGauge is one budget gauge as prometheus_metrics_config leaves it:
// desc nil when not served; keep the indexes of the labels kept.
type budgetGauge struct {
	desc *prometheus.Desc
	keep []int
}

// budgetFilter is prometheus_metrics_config for the budget gauges.
type budgetFilter struct {
	enabled map[string]bool
	include map[string][]string
}

// ServeBudgets adds the budget gauges, read from src at each scrape.
func (m *Metrics) ServeBudgets(src BudgetSource) {
	m.reg.MustRegister(newBudgetCollector(src, m.now, m.budgetFilter))
}

func newBudgetCollector(src BudgetSource, now func() time.Time, f budgetFilter) *budgetCollector {
	d := func(name, help string) budgetGauge {
		if f.enabled != nil && !f.enabled[name] {
			return budgetGauge{}
		}
		var g budgetGauge
		var labels []string
		for i, l := range mn.Served[name] {
			if keep, ok := f.include[name]; !ok || slices.Contains(keep, l) {
				g.keep = append(g.keep, i)
				labels = append(labels, l)
			}
		}
		g.desc = prometheus.NewDesc(name, help, labels, nil)
		return g
	}
	return &budgetCollector{src: src, now: now,
		keyRemaining:  d("litellm_remaining_api_key_budget_metric", "Remaining budget for api key"),
		keyMax:        d("litellm_api_key_max_budget_metric", "Maximum budget set for api key"),
		keyHours:      d("litellm_api_key_budget_remaining_hours_metric", "Remaining hours for api key budget to be reset"),
		teamRemaining: d("litellm_remaining_team_budget_metric", "Remaining budget for team"),
		teamMax:       d("litellm_team_max_budget_metric", "Maximum budget set for team"),
		teamHours:     d("litellm_team_budget_remaining_hours_metric", "Remaining days for team budget to be reset"),
		userRemaining: d("litellm_remaining_user_budget_metric", "Remaining budget for user"),
		userMax:       d("litellm_user_max_budget_metric", "Maximum budget set for user"),
		userHours:     d("litellm_user_budget_remaining_hours_metric", "Remaining hours for user budget to be reset"),
	}
}

func (c *budgetCollector) all() []budgetGauge {
	return []budgetGauge{c.keyRemaining, c.keyMax, c.keyHours, c.teamRemaining, c.teamMax, c.teamHours,
		c.userRemaining, c.userMax, c.userHours}
}

func (c *budgetCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, g := range c.all() {
		if g.desc != nil {
			ch <- g.desc
		}
	}
}

// Collect emits, per key, team and user: the remaining budget (max budget
// minus spend; +Inf without a budget, as LiteLLM's), the max budget when one
// is set, and the hours to the budget's reset when one is scheduled. With
// some labels left out (include_labels) the last of the keys, teams or users
// that share the labels kept is the one shown, as LiteLLM's gauge keeps the
// last value set.
func (c *budgetCollector) Collect(ch chan<- prometheus.Metric) {
	ks, ts, us := c.src()
	now := c.now()
	emit := func(bs []keys.BudgetView, remaining, max, hours budgetGauge, withAlias bool) {
		type series struct {
			g      *budgetGauge
			labels string
		}
		last := map[series]prometheus.Metric{}
		var order []series
		put := func(g *budgetGauge, v float64, all []string) {
			if g.desc == nil {
				return
			}
			labels := make([]string, len(g.keep))
			key := ""
			for i, k := range g.keep {
				labels[i] = all[k]
				key += all[k] + "\x00"
			}
			s := series{g, key}
			if _, ok := last[s]; !ok {
				order = append(order, s)
			}
			last[s] = prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, v, labels...)
		}
		for _, b := range bs {
			all := []string{b.ID}
			if withAlias {
				all = append(all, b.Alias)
			}
			left := math.Inf(1)
			if b.MaxBudget != nil {
				left = *b.MaxBudget - b.Spend
				put(&max, *b.MaxBudget, all)
			}
			put(&remaining, left, all)
			if b.ResetAt != nil {
				put(&hours, b.ResetAt.Sub(now).Hours(), all)
			}
		}
		for _, s := range order {
			ch <- last[s]
		}
	}
	emit(ks, c.keyRemaining, c.keyMax, c.keyHours, true)
	emit(ts, c.teamRemaining, c.teamMax, c.teamHours, true)
	emit(us, c.userRemaining, c.userMax, c.userHours, false)
}
