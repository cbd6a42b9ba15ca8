package keys

import (
	"context"
	"time"

	"github.com/llmgate/llmgate/internal/keystore"
)

// ProxyBudgetUser is the LiteLLM_UserTable row of the proxy-wide budget
// (litellm_settings.max_budget), LiteLLM's litellm_proxy_budget_name.
const ProxyBudgetUser = "litellm-proxy-budget"

// SetProxyBudget sets litellm_settings.max_budget and budget_duration (a
// config reload calls it again; max nil or 0: no proxy-wide budget). As
// LiteLLM at start, it creates or updates the litellm-proxy-budget user
// row with them; every request's cost is then added to that row (Record),
// the users' budget reset restarts its period, and a virtual key is refused
// once the row's spend is past max_budget (AuthorizeRequest).
func (s *Service) SetProxyBudget(ctx context.Context, max *float64, duration string) error {
	if max == nil || *max <= 0 {
		s.proxyBudget.Store(false)
		return nil
	}
	now := s.now().UTC()
	u, _, ok := s.user(ProxyBudgetUser)
	if !ok || u.MaxBudget == nil || *u.MaxBudget != *max || u.BudgetDuration != duration {
		var nu keystore.User
		if ok {
			nu = *u
		} else {
			nu = keystore.User{UserID: ProxyBudgetUser, Teams: []string{}, Models: []string{}, CreatedAt: now}
		}
		m := *max
		nu.MaxBudget, nu.UpdatedAt = &m, now
		if nu.BudgetDuration != duration || nu.BudgetResetAt == nil && duration != "" {
			nu.BudgetDuration, nu.BudgetResetAt = duration, nil
			if duration != "" {
				if at, err := NextReset(now, duration); err == nil {
					nu.BudgetResetAt = &at
				}
			}
		}
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := s.o.Store.PutUser(ctx, &nu); err != nil {
			return err
		}
		stored, err := s.o.Store.GetUser(ctx, ProxyBudgetUser)
		if err != nil {
			return err
		}
		s.setUser(ProxyBudgetUser, stored)
		s.viewChanged(true)
	}
	s.proxyBudget.Store(true)
	return nil
}

// proxyBudgetError is LiteLLM's common_checks step 7 for a virtual key: the
// proxy's spend past max_budget is a BudgetExceededError (s.mu not held).
func (s *Service) proxyBudgetError() *Error {
	if !s.proxyBudget.Load() {
		return nil
	}
	u, spend, ok := s.user(ProxyBudgetUser)
	if !ok || u.MaxBudget == nil || spend <= *u.MaxBudget {
		return nil
	}
	return budgetError("", spend, *u.MaxBudget)
}

// proxyBudgetLocked puts the proxy-wide budget into a table's common part:
// the flag, and its row among the users (s.mu read-held).
func (s *Service) proxyBudgetLocked(sn *Snapshot, users map[string]bool) {
	if s.proxyBudget.Load() {
		sn.ProxyBudget = true
		users[ProxyBudgetUser] = true
	}
}
