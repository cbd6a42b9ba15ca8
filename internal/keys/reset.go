package keys

import (
	"context"
	"math/rand/v2"
	"time"
)

// resetDue starts a new budget period for every key, team and user whose
// budget_reset_at has passed (LiteLLM's budget reset job): spend back to 0,
// budget_reset_at = NextReset(now, budget_duration). It runs after a batch was written,
// so the spend it discards is the past period's. The store resets a record
// only if it is still due, so of several instances one resets it.
func (s *Service) resetDue(ctx context.Context) {
	if s.noReset.Load() {
		return // general_settings.disable_reset_budget
	}
	now := s.now().UTC()
	type due struct{ kind, id, dur string }
	var todo []due
	s.mu.RLock()
	for t, k := range s.keys {
		if k.BudgetDuration != "" && k.BudgetResetAt != nil && !k.BudgetResetAt.After(now) {
			todo = append(todo, due{"key", t, k.BudgetDuration})
		}
	}
	for id, t := range s.teams {
		if t.BudgetDuration != "" && t.BudgetResetAt != nil && !t.BudgetResetAt.After(now) {
			todo = append(todo, due{"team", id, t.BudgetDuration})
		}
	}
	for id, u := range s.users {
		if u.BudgetDuration != "" && u.BudgetResetAt != nil && !u.BudgetResetAt.After(now) {
			todo = append(todo, due{"user", id, u.BudgetDuration})
		}
	}
	for id, b := range s.budgets {
		if b.BudgetDuration != "" && b.BudgetResetAt != nil && !b.BudgetResetAt.After(now) {
			todo = append(todo, due{"budget", id, b.BudgetDuration})
		}
	}
	s.mu.RUnlock()
	for _, d := range todo {
		next, err := NextReset(now, d.dur)
		if err != nil || !next.After(now) {
			continue
		}
		if _, err := s.o.Store.ResetBudget(ctx, d.kind, d.id, now, next); err != nil {
			s.log.Warn("budget not reset; will retry", "kind", d.kind, "error", err.Error())
			continue
		}
		// Reset here or by another instance: take the row as stored.
		s.reload(ctx, d.kind, d.id)
		s.viewChanged(true)
	}
}

// SetBudgetRescheduler is proxy_budget_rescheduler_min_time / _max_time:
// budget periods are checked for a reset every min + a random 0 to
// min(30 s, max − min) (LiteLLM's budget_interval, drawn once), the first
// check one interval after this call; min 0: after every spend batch. A
// config reload calls it again (an unchanged setting keeps its schedule).
func (s *Service) SetBudgetRescheduler(lo, hi time.Duration) {
	if lo <= 0 {
		s.resetEvery.Store(0)
		return
	}
	if cur := s.resetEvery.Load(); cur >= int64(lo) && cur <= int64(lo+min(30*time.Second, max(hi-lo, 0))) {
		return
	}
	every := lo
	if spread := min(30*time.Second, hi-lo); spread >= time.Second {
		every += time.Duration(rand.Int64N(int64(spread/time.Second)+1)) * time.Second
	}
	s.nextReset.Store(s.now().Add(every).UnixNano())
	s.resetEvery.Store(int64(every))
}

// resetCheckDue reports whether the budget reset check runs after this
// batch (always without proxy_budget_rescheduler_*).
func (s *Service) resetCheckDue() bool {
	every := s.resetEvery.Load()
	if every == 0 {
		return true
	}
	now := s.now().UnixNano()
	if now < s.nextReset.Load() {
		return false
	}
	s.nextReset.Store(now + every)
	return true
}

// SetDisableResetBudget is general_settings.disable_reset_budget: no
// budget period ever restarts (LiteLLM then never schedules its reset job);
// a config reload calls it again.
func (s *Service) SetDisableResetBudget(off bool) { s.noReset.Store(off) }

// SetDisableMasterKeyReturn sets general_settings.disable_master_key_return
// (D96; at every load).
func (s *Service) SetDisableMasterKeyReturn(on bool) { s.noMasterReturn.Store(on) }

func (s *Service) reload(ctx context.Context, kind, id string) {
	if kind != "budget" { // (refresh takes installMu itself)
		s.installMu.RLock()
		defer s.installMu.RUnlock()
	}
	switch kind {
	case "key":
		if k, err := s.o.Store.GetKey(ctx, id); err == nil {
			s.setKey(id, k)
			s.changed(id)
		}
	case "team":
		if t, err := s.o.Store.GetTeam(ctx, id); err == nil {
			s.setTeam(id, t)
		}
	case "user":
		if u, err := s.o.Store.GetUser(ctx, id); err == nil {
			s.setUser(id, u)
		}
	case "budget":
		// The end users and memberships of the budget start from 0.
		if err := s.refresh(ctx); err != nil {
			s.log.Warn("key cache not refreshed after a budget reset; the next refresh will", "error", err.Error())
		}
	}
}
