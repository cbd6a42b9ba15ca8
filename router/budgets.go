package router

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/llmgate/llmgate/internal/model"
)

// Deployment and provider budgets (litellm_params.max_budget and
// budget_duration, router_settings.provider_budget_config), as LiteLLM's
// RouterBudgetLimiting applies them: each answer's cost is added to the
// spend of its deployment and of its provider, per window (the window
// starts at the first spend and lasts budget_duration: the key's ttl); a
// plan leaves out a deployment while one of its spends has reached its
// limit; when that leaves no deployment LiteLLM answers "No deployments
// available - crossed budget" (429). The spends live in the router's store:
// shared by the instances with Redis.

// spendUnit is the store's unit of spend: the spends are integer
// counters of nano-USD.
const spendUnit = 1e-9

// readSpends reads the spends of the budgeted deployments of the plan's
// groups, by spend key (one Get per key: only configs with budgets).
func (r *Router) readSpends(ctx context.Context, groups []planGroup) (map[string]float64, error) {
	spends := map[string]float64{}
	for _, g := range groups {
		if mg, ok := r.m.Group(g.res.Group); !ok || !mg.Budgeted {
			continue
		}
		for _, d := range r.m.GroupDeployments(g.res.Group) {
			for _, b := range d.Budgets {
				if _, ok := spends[b.Key]; ok {
					continue
				}
				v, ok, err := r.store.Get(ctx, b.Key)
				if err != nil {
					return nil, fmt.Errorf("read spend %s: %w", b.Key, err)
				}
				spends[b.Key] = 0
				if ok {
					n, _ := strconv.ParseInt(string(v), 10, 64)
					spends[b.Key] = float64(n) * spendUnit
				}
			}
		}
	}
	return spends, nil
}

// overBudget names the first budget of d its spend has reached ("" when
// none has).
func overBudget(d *model.Deployment, spends map[string]float64) string {
	for _, b := range d.Budgets {
		if s := spends[b.Key]; s >= b.Max {
			return fmt.Sprintf("Exceeded budget for %s: %v >= %v", b.What, s, b.Max)
		}
	}
	return ""
}

// addSpend adds one answer's cost to the spends of its deployment's budgets.
func (r *Router) addSpend(ctx context.Context, d *model.Deployment, o Outcome) error {
	cost, ok := r.Cost(d.Config, d.Provider, d.Model, o.Usage, o.Latency)
	if !ok || cost <= 0 {
		return nil
	}
	n := int64(math.Ceil(cost / spendUnit))
	for _, b := range d.Budgets {
		if _, err := r.store.Incr(ctx, b.Key, n, b.Window); err != nil {
			return fmt.Errorf("add spend %s: %w", b.Key, err)
		}
	}
	return nil
}

// BudgetError means every deployment that could take the request has
// reached a budget (LiteLLM's no_deployments_with_provider_budget_routing).
// The caller answers it with a 429, as LiteLLM's proxy answers a "No
// deployments available" message.
type BudgetError struct {
	Group   string
	Reasons []string
}

func (e *BudgetError) Error() string {
	return "No deployments available - crossed budget: " + strings.Join(e.Reasons, "\n")
}

// Status is the HTTP status for the client.
func (e *BudgetError) Status() int { return 429 }
