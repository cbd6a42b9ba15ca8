package keys

import (
	"context"
	"math"
	"strings"
	"time"

	"github.com/llmgate/llmgate/internal/keystore"
)

// Per-model budgets of keys, teams, internal users and end users (LiteLLM's
// model_max_budget on LiteLLM_VerificationToken, LiteLLM_TeamTable,
// LiteLLM_UserTable and, for a customer, its LiteLLM_BudgetTable row; D68).
//
// As LiteLLM's _PROXY_VirtualKeyModelMaxBudgetLimiter: an entry
// {"gpt-4o": {"budget_limit": 1.0, "time_period": "1d"}} (or max_budget /
// budget_duration) governs a request for "gpt-4o", or for "openai/gpt-4o"
// (the model without its provider prefix). Its spend is counted in a window
// per (entity, budget model, period) that starts at the window's first
// spend and restarts at the first spend after the period has passed; a
// window whose period has passed counts as 0. A request is refused with
// budget_exceeded (400) once that spend is at or over the limit, while the
// entity's other models still work. A team's entry does not apply to a key
// whose own model_max_budget gates the model (LiteLLM's
// team_model_budget_applies). The windows are memory only, on the request
// path a map read, as LiteLLM keeps them in its cache; the module gets them
// in the key table (Snapshot.Windows). A key's entry without a period keeps
// this project's earlier reading: the key's lifetime model_spend.

// ModelWindow is the spend of one model budget in its current period.
type ModelWindow struct {
	Model    string  `json:"model"`    // the model_max_budget entry's name
	Duration string  `json:"duration"` // its budget_duration / time_period
	Start    int64   `json:"start"`    // the period's first spend (unix ns)
	Spend    float64 `json:"spend"`
	// shared is the window's total read from Redis (sharedwindows.go).
	shared float64
}

// EntityWindows are one entity's model windows in the key table.
type EntityWindows struct {
	Kind    string        `json:"kind"` // "key", "team", "user", "end_user"
	ID      string        `json:"id"`   // the key's token, team, user or customer id
	Windows []ModelWindow `json:"windows"`
}

// entity kinds of model windows.
const (
	winKey     = "key"
	winTeam    = "team"
	winUser    = "user"
	winEndUser = "end_user"
)

type winRef struct{ kind, id string }

// modelLimit is the model_max_budget entry that governs a request.
type modelLimit struct {
	model string // the entry's name
	max   float64
	dur   string
	d     time.Duration // 0: no period
}

// resolveModelBudget finds the entry of mmb that governs model: the model as
// asked for, else without its provider prefix.
func resolveModelBudget(mmb map[string]any, model string) (modelLimit, bool) {
	if len(mmb) == 0 || model == "" {
		return modelLimit{}, false
	}
	name := model
	v, ok := mmb[name]
	if !ok {
		if i := strings.LastIndexByte(model, '/'); i >= 0 {
			name = model[i+1:]
			v, ok = mmb[name]
		}
	}
	if !ok {
		return modelLimit{}, false
	}
	l := modelLimit{model: name}
	switch x := v.(type) {
	case float64:
		l.max = x
		return l, true
	case map[string]any:
		f, ok := x["max_budget"].(float64)
		if !ok {
			if f, ok = x["budget_limit"].(float64); !ok {
				return modelLimit{}, false
			}
		}
		l.max = f
		d, ok := x["budget_duration"].(string)
		if !ok {
			d, _ = x["time_period"].(string)
		}
		if d != "" {
			pd, err := ParseDuration(d)
			if err != nil || pd <= 0 {
				return modelLimit{}, false // LiteLLM skips an entry it cannot key
			}
			l.dur, l.d = d, pd
		}
		return l, true
	}
	return modelLimit{}, false
}

// windowSpendLocked is the spend of l's window of an entity now (s.mu held).
func (s *Service) windowSpendLocked(kind, id string, l modelLimit, now time.Time) float64 {
	for _, w := range s.mwin[winRef{kind, id}] {
		if w.Model == l.model && w.Duration == l.dur {
			if now.UnixNano()-w.Start >= int64(l.d) {
				return 0
			}
			return w.Spend
		}
	}
	return 0
}

// checkModelWindow refuses a request whose model budget (with a period) of
// an entity is spent. who is LiteLLM's message for the entity.
func (s *Service) checkModelWindow(kind, id string, mmb map[string]any, model string, now time.Time, who func() string) *Error {
	l, ok := resolveModelBudget(mmb, model)
	if !ok || l.d == 0 || l.max < 0 {
		return nil
	}
	s.mu.RLock()
	spend := s.windowSpendLocked(kind, id, l, now)
	s.mu.RUnlock()
	if spend >= l.max {
		return budgetError(who()+", exceeded budget for model="+model+" ", spend, l.max)
	}
	return nil
}

// teamModelBudgetApplies: a key entry with a period that governs the model
// overrides the team's (LiteLLM's team_model_budget_applies).
func teamModelBudgetApplies(k *keystore.Key, model string) bool {
	if k == nil {
		return true
	}
	l, ok := resolveModelBudget(k.ModelMaxBudget, model)
	return !ok || l.d == 0 || l.max < 0
}

// checkModelBudgets is the key's, its user's and its team's per-model
// budgets over their periods, in LiteLLM's order.
func (s *Service) checkModelBudgets(k *keystore.Key, team *keystore.Team, user *keystore.User, model string, now time.Time) *Error {
	if e := s.checkModelWindow(winKey, k.Token, k.ModelMaxBudget, model, now, func() string {
		return "LiteLLM Virtual Key: " + k.Token + ", key_alias: " + pyOpt(k.KeyAlias)
	}); e != nil {
		return e
	}
	if user != nil && len(user.ModelMaxBudget) > 0 {
		if e := s.checkModelWindow(winUser, user.UserID, user.ModelMaxBudget, model, now, func() string {
			return "LiteLLM User: " + user.UserID
		}); e != nil {
			return e
		}
	}
	if team != nil && len(team.ModelMaxBudget) > 0 && teamModelBudgetApplies(k, model) {
		if e := s.checkModelWindow(winTeam, team.TeamID, team.ModelMaxBudget, model, now, func() string {
			return "LiteLLM Team: " + team.TeamID
		}); e != nil {
			return e
		}
	}
	return nil
}

// pyOpt prints an optional string as a Python f-string does (None when empty).
func pyOpt(s string) string {
	if s == "" {
		return "None"
	}
	return s
}

// addWindowLocked adds cost to an entity's window of l (s.mu held) and
// reports whether it crossed the limit.
func (s *Service) addWindowLocked(kind, id string, l modelLimit, now time.Time, cost float64) bool {
	if s.mwin == nil {
		s.mwin = map[winRef][]ModelWindow{}
	}
	r := winRef{kind, id}
	ws := s.mwin[r]
	for i := range ws {
		w := &ws[i]
		if w.Model != l.model || w.Duration != l.dur {
			continue
		}
		if now.UnixNano()-w.Start >= int64(l.d) {
			w.Start, w.Spend, w.shared = now.UnixNano(), 0, 0
		}
		before := w.Spend
		w.Spend += cost
		return before < l.max && w.Spend >= l.max
	}
	s.mwin[r] = append(ws, ModelWindow{Model: l.model, Duration: l.dur, Start: now.UnixNano(), Spend: cost})
	return cost >= l.max
}

// recordModelWindowsLocked adds an answered request's cost to the model
// windows of its key, team, user and end user (s.mu held); it reports
// whether one of them crossed its limit (the module's table is pushed).
func (s *Service) recordModelWindowsLocked(e *SpendEvent, r *spendRecs, now time.Time) bool {
	model := e.ModelGroup
	if model == "" {
		model = e.Model
	}
	if model == "" || e.Cost <= 0 {
		return false
	}
	crossed := false
	add := func(kind, id string, mmb map[string]any) {
		if l, ok := resolveModelBudget(mmb, model); ok && l.d > 0 && l.max >= 0 {
			crossed = s.addWindowLocked(kind, id, l, now, e.Cost) || crossed
			s.queueWindowLocked(kind, id, l, e.Cost)
		}
	}
	k := r.key
	if k != nil {
		add(winKey, k.Token, k.ModelMaxBudget)
	}
	if t := r.team; t != nil && teamModelBudgetApplies(k, model) {
		add(winTeam, t.TeamID, t.ModelMaxBudget)
	}
	if u := r.user; u != nil {
		add(winUser, u.UserID, u.ModelMaxBudget)
	}
	if trackEndUser(e.EndUser) {
		if b := s.endUserBudgetLocked(e.EndUser); b != nil {
			add(winEndUser, e.EndUser, b.ModelMaxBudget)
		}
	}
	return crossed
}

// endUserBudgetLocked is a customer's budget row: its own, else
// max_end_user_budget_id's (s.mu held).
func (s *Service) endUserBudgetLocked(id string) *keystore.Budget {
	if eu := s.endUsrs[id]; eu != nil && eu.BudgetID != "" {
		if b := s.budgets[eu.BudgetID]; b != nil {
			return b
		}
	}
	if s.endUserBudgetID != "" {
		return s.budgets[s.endUserBudgetID]
	}
	return nil
}

// windowsLocked copies an entity's windows for the key table (s.mu held).
func (s *Service) windowsLocked(kind, id string) *EntityWindows {
	ws := s.mwin[winRef{kind, id}]
	if len(ws) == 0 {
		return nil
	}
	return &EntityWindows{Kind: kind, ID: id, Windows: append([]ModelWindow(nil), ws...)}
}

// applyWindowsLocked puts a table part's windows into a view (s.mu held).
func (s *Service) applyWindowsLocked(ews []EntityWindows) {
	if s.mwin == nil {
		s.mwin = map[winRef][]ModelWindow{}
	}
	for _, ew := range ews {
		s.mwin[winRef{ew.Kind, ew.ID}] = ew.Windows
	}
}

// dropWindowsLocked removes a view's windows of every kind but keys (a
// whole table or its common part replaces them).
func (s *Service) dropWindowsLocked(keysToo bool) {
	for r := range s.mwin {
		if keysToo || r.kind != winKey {
			delete(s.mwin, r)
		}
	}
}

// seedModelWindows rebuilds the model windows at start from the spend logs
// of each period (LiteLLM's cold-cache fallback in the same limiter: the
// spend of LiteLLM_SpendLogs rows of the entity and model since now minus
// the period, the window then counted from now). Without spend logs
// (disable_spend_logs) the windows start empty, as LiteLLM's cache does.
func (s *Service) seedModelWindows(ctx context.Context) {
	type ent struct {
		kind, id string
		mmb      map[string]any
		f        keystore.SpendLogFilter
	}
	var ents []ent
	s.mu.RLock()
	for t, k := range s.keys {
		if len(k.ModelMaxBudget) > 0 {
			ents = append(ents, ent{winKey, t, k.ModelMaxBudget, keystore.SpendLogFilter{Token: t}})
		}
	}
	for id, t := range s.teams {
		if len(t.ModelMaxBudget) > 0 {
			ents = append(ents, ent{winTeam, id, t.ModelMaxBudget, keystore.SpendLogFilter{TeamID: id}})
		}
	}
	for id, u := range s.users {
		if len(u.ModelMaxBudget) > 0 {
			ents = append(ents, ent{winUser, id, u.ModelMaxBudget, keystore.SpendLogFilter{UserID: id}})
		}
	}
	for id := range s.endUsrs {
		if b := s.endUserBudgetLocked(id); b != nil && len(b.ModelMaxBudget) > 0 {
			ents = append(ents, ent{winEndUser, id, b.ModelMaxBudget, keystore.SpendLogFilter{EndUser: id}})
		}
	}
	s.mu.RUnlock()
	now := s.now()
	for _, e := range ents {
		byDur := map[time.Duration]map[string]float64{} // period → model group → spend since now - period
		for name := range e.mmb {
			l, ok := resolveModelBudget(e.mmb, name)
			if !ok || l.d == 0 || l.max < 0 {
				continue
			}
			spent, ok := byDur[l.d]
			if !ok {
				f := e.f
				f.Start = now.Add(-l.d)
				var err error
				if spent, err = s.o.Store.SpendBy(ctx, f, "model_group"); err != nil {
					s.log.Warn("model budget windows not rebuilt from the spend logs", "error", err.Error())
					return
				}
				byDur[l.d] = spent
			}
			var sum float64
			for group, v := range spent {
				if gl, ok := resolveModelBudget(e.mmb, group); ok && gl.model == l.model {
					sum += v
				}
			}
			if sum > 0 {
				s.mu.Lock()
				s.addWindowLocked(e.kind, e.id, l, now, sum)
				if s.o.Windows != nil {
					// Written to Redis only where Redis has no open window
					// (another instance's, or this one's before a restart).
					s.winit = append(s.winit, WindowAdd{WindowID: WindowID{Kind: e.kind, ID: e.id, Model: l.model, Duration: l.dur}, Period: l.d, Cost: sum, Init: true})
				}
				s.mu.Unlock()
			}
		}
	}
}

// modelBudgetUsage is the current period's spend of each model budget of an
// entity, as LiteLLM's /key/info and /user/info report it
// (model_max_budget_usage: current_spend rounded to 4 places, budget_limit,
// time_period; entries without a period are left out); nil when none.
func (s *Service) modelBudgetUsage(kind, id string, mmb map[string]any) map[string]any {
	if len(mmb) == 0 {
		return nil
	}
	now := s.now()
	out := map[string]any{}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for name := range mmb {
		l, ok := resolveModelBudget(mmb, name)
		if !ok || l.d == 0 {
			continue
		}
		spend := s.windowSpendLocked(kind, id, l, now)
		out[name] = map[string]any{"current_spend": math.Round(spend*1e4) / 1e4, "budget_limit": l.max, "time_period": l.dur}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
