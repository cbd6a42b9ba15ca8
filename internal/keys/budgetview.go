package keys

import "time"

// BudgetView is one key's, team's or user's budget as the Prometheus budget
// gauges show it (LiteLLM's litellm_remaining_*_budget_metric family).
type BudgetView struct {
	ID        string // the key's hash, the team id, the user id
	Alias     string // key_alias, team_alias ("" for users)
	Spend     float64
	MaxBudget *float64 // nil: no budget
	ResetAt   *time.Time
}

// Budgets copies the cached keys', teams' and users' budgets and current
// spend (the stored spend plus what this process has recorded since). It is
// read at scrape time, never on the request path.
func (s *Service) Budgets() (keys, teams, users []BudgetView) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	keys = make([]BudgetView, 0, len(s.keys))
	for tok, k := range s.keys {
		mb := k.MaxBudget
		if mb == nil && k.BudgetID != "" {
			if b := s.budgets[k.BudgetID]; b != nil {
				mb = b.MaxBudget
			}
		}
		keys = append(keys, BudgetView{ID: tok, Alias: k.KeyAlias, Spend: s.spend[tok], MaxBudget: mb, ResetAt: k.BudgetResetAt})
	}
	teams = make([]BudgetView, 0, len(s.teams))
	for id, t := range s.teams {
		teams = append(teams, BudgetView{ID: id, Alias: t.TeamAlias, Spend: s.tspnd[id], MaxBudget: t.MaxBudget, ResetAt: t.BudgetResetAt})
	}
	users = make([]BudgetView, 0, len(s.users))
	for id, u := range s.users {
		users = append(users, BudgetView{ID: id, Spend: s.uspnd[id], MaxBudget: u.MaxBudget, ResetAt: u.BudgetResetAt})
	}
	return keys, teams, users
}
