package keys

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/llmgate/llmgate/internal/keystore"
	"github.com/llmgate/llmgate/internal/store"
)

// limited is one entity whose rpm/tpm/parallel limits a request counts
// against: a key, user, team or end user (LiteLLM's rate limit types key,
// user, team and customer).
type limited struct {
	kind, name, id string // kind for the message; name identifies it there; id is the counters' id
	rpm, tpm, par  int64  // 0: no limit
	// parFull: the max_parallel_requests the module counted (SlotHeader);
	// par is then 0.
	parFull int64
}

// LimitTimeout bounds the limit counters' round trips (Redis) of one check;
// a request whose key, team, user and end user have no limits makes none.
const LimitTimeout = 2 * time.Second

// CounterID is the internal/store id of a key's rpm/tpm/parallel counters.
func CounterID(token string) string { return "key:" + token }

func orBudget(own *int64, b *keystore.Budget, pick func(*keystore.Budget) *int64) int64 {
	if own != nil {
		return *own
	}
	if b != nil {
		if v := pick(b); v != nil {
			return *v
		}
	}
	return 0
}

func val(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// entities lists the limited entities of a request in LiteLLM's order: key,
// user, team, team member, end user; an entity without any limit is left out (so a
// request of keys without limits builds nothing). A key's own limits win
// over its budget_id's.
func (s *Service) entities(k *keystore.Key, team *keystore.Team, user *keystore.User, endUser string, eub *keystore.Budget) []limited {
	var out []limited
	add := func(l limited, name, id func() string) {
		if l.rpm != 0 || l.tpm != 0 || l.par != 0 {
			l.name, l.id = name(), id()
			out = append(out, l)
		}
	}
	if k != nil {
		b := s.budget(k.BudgetID)
		add(limited{kind: "key",
			rpm: orBudget(k.RPMLimit, b, func(b *keystore.Budget) *int64 { return b.RPMLimit }),
			tpm: orBudget(k.TPMLimit, b, func(b *keystore.Budget) *int64 { return b.TPMLimit }),
			par: orBudget(k.MaxParallelRequests, b, func(b *keystore.Budget) *int64 { return b.MaxParallelRequests })},
			func() string { return "key=" + keyLabel(k) }, func() string { return CounterID(k.Token) })
	}
	if user != nil {
		add(limited{kind: "user", rpm: val(user.RPMLimit), tpm: val(user.TPMLimit), par: val(user.MaxParallelRequests)},
			func() string { return "user=" + user.UserID }, func() string { return "user:" + user.UserID })
	}
	if team != nil {
		add(limited{kind: "team", rpm: val(team.RPMLimit), tpm: val(team.TPMLimit), par: val(team.MaxParallelRequests)},
			func() string { return "team=" + team.TeamID }, func() string { return "team:" + team.TeamID })
		member := ""
		switch {
		case k != nil:
			member = k.UserID
		case user != nil:
			member = user.UserID // a JWT caller's user (D109)
		}
		if member != "" {
			// The key's user within its team: the membership's budget
			// (LiteLLM's team_member descriptor, "team_id:user_id").
			rpm, tpm := s.memberLimits(team.TeamID, member)
			add(limited{kind: "team_member", rpm: rpm, tpm: tpm},
				func() string { return team.TeamID + ":" + member }, func() string { return "member:" + keystore.MemberKey(team.TeamID, member) })
		}
	}
	if endUser != "" && eub != nil {
		add(limited{kind: "customer", rpm: val(eub.RPMLimit), tpm: val(eub.TPMLimit)},
			func() string { return "end_user=" + endUser }, func() string { return "enduser:" + endUser })
	}
	return out
}

// limits applies tpm (this minute's tokens so far, one Read for every
// entity), then rpm and max_parallel_requests (one atomic Begin per entity
// that has either) through the counters' store. A slot is held only for an
// entity with max_parallel_requests (released by End); an rpm-only entity's
// in-flight count is released at once. A refusal releases the slots already
// taken; the rpm already counted for the entities before the refusing one
// stays counted (the store has no multi-entity Begin).
func (s *Service) limits(ctx context.Context, k *keystore.Key, team *keystore.Team, user *keystore.User, endUser string, eub *keystore.Budget, caller, group, slot string, g *Grant) *Error {
	if s.o.Counters == nil {
		if s.view.module {
			return s.viewLimits(k, team, user, endUser, eub, caller, group, slot, g) // the module (D83)
		}
		return nil
	}
	ents := s.withKeyModel(s.entities(k, team, user, endUser, eub), k, caller, group)
	var fullID string
	var fullN int64
	if slot != "" && len(ents) > 0 && s.slotsBelieved() {
		ents, fullID, fullN = applySlot(ents, slot) // the module counted the slots (D117)
	}
	return s.applyLimitsFull(ctx, ents, fullID, fullN, g)
}

// applyLimits is limits on the counters' store for the entities ents.
func (s *Service) applyLimits(ctx context.Context, ents []limited, g *Grant) *Error {
	return s.applyLimitsFull(ctx, ents, "", 0, g)
}

// applyLimitsFull is applyLimits where the entity fullID is at the
// parallel limit the module counted (fullN in flight): refused at its turn.
func (s *Service) applyLimitsFull(ctx context.Context, ents []limited, fullID string, fullN int64, g *Grant) *Error {
	if len(ents) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, LimitTimeout)
	defer cancel()
	var tpmIDs []string
	for _, e := range ents {
		if e.tpm > 0 {
			tpmIDs = append(tpmIDs, e.id)
		}
	}
	if len(tpmIDs) > 0 {
		st, err := s.o.Counters.Read(ctx, tpmIDs, store.ReadOptions{})
		for _, e := range ents {
			if e.tpm == 0 {
				continue
			}
			var used int64
			if err == nil {
				used = st[e.id].TPM
			}
			if used >= e.tpm {
				return rateError(e, "tpm", used, e.tpm, s.now())
			}
			if e.kind == "key" {
				g.setHeader("x-litellm-key-remaining-tokens", strconv.FormatInt(e.tpm-used, 10))
			}
		}
	}
	var held []string
	release := func() {
		for _, id := range held {
			_ = s.o.Counters.End(context.WithoutCancel(ctx), id)
		}
	}
	for _, e := range ents {
		if fullID != "" && e.id == fullID {
			release()
			return parallelError(e, fullN, e.parFull, s.now())
		}
		if e.rpm == 0 && e.par == 0 {
			continue
		}
		br, err := s.o.Counters.Begin(ctx, e.id, store.Limits{RPM: e.rpm, MaxParallel: e.par})
		if err != nil {
			continue // the counters' store is down: fail open, as the deployment limits do
		}
		if !br.Allowed {
			release()
			if br.Reason == "max_parallel_requests" {
				return parallelError(e, br.InFlight, e.par, s.now())
			}
			return rateError(e, "rpm", br.RPM, e.rpm, s.now())
		}
		if e.par > 0 {
			held = append(held, e.id)
		} else {
			// Begin counted one in flight; only rpm is limited here.
			go func(id string) {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				_ = s.o.Counters.End(ctx, id)
			}(e.id)
		}
		if e.kind == "key" && e.rpm > 0 {
			g.setHeader("x-litellm-key-remaining-requests", strconv.FormatInt(max(e.rpm-br.RPM, 0), 10))
		}
	}
	g.Parallel = len(held) > 0
	return nil
}

// current returns a key's team and user as cached now.
func (s *Service) cached(token string) (*keystore.Key, *keystore.Team, *keystore.User) {
	k, _, ok := s.Lookup(token)
	if !ok {
		return nil, nil, nil
	}
	var t *keystore.Team
	var u *keystore.User
	if k.TeamID != "" {
		t, _, _ = s.team(k.TeamID)
	}
	if k.UserID != "" {
		u, _, _ = s.user(k.UserID)
	}
	return k, t, u
}

// parallelIDs are the counters a request with this key holds a slot of (as
// the key, team and user are configured now).
func (s *Service) parallelIDs(token string) []string {
	k, t, u := s.cached(token)
	if k == nil {
		return nil
	}
	var out []string
	for _, e := range s.entities(k, t, u, "", nil) {
		if e.par > 0 {
			out = append(out, e.id)
		}
	}
	return out
}

// tpmIDs are the counters a response's tokens count towards: its key's,
// the key's team's and user's, or without a key the team's and user's a
// JWT named (teamID, userID), and the end user's.
func (s *Service) tpmIDs(token, teamID, userID, endUser, group string) []string {
	var k *keystore.Key
	var t *keystore.Team
	var u *keystore.User
	caller := ""
	switch {
	case token == MasterKeyAlias:
		caller = token // (its user, default_user_id, has no limits here: LiteLLM's master key carries none)
	case IsCaller(token):
		caller = token
		t, u = s.principalRows(teamID, userID) // a JWT's team and user
	case token != "":
		k, t, u = s.cached(token)
	case teamID != "" || userID != "":
		t, u = s.principalRows(teamID, userID)
	}
	var eub *keystore.Budget
	if endUser != "" {
		s.mu.RLock()
		if eu := s.endUsrs[endUser]; eu != nil {
			eub = s.budgets[eu.BudgetID]
		}
		s.mu.RUnlock()
	}
	var out []string
	for _, e := range s.withKeyModel(s.entities(k, t, u, endUser, eub), k, caller, group) {
		if e.tpm > 0 {
			out = append(out, e.id)
		}
	}
	return out
}

func rateError(e limited, what string, cur, lim int64, now time.Time) *Error {
	retry := time.Second
	if !now.IsZero() {
		retry = time.Duration(60-now.UTC().Second()) * time.Second // the rate window is the UTC minute
	}
	if e.kind == "team_member" || e.kind == "model_per_key" {
		// LiteLLM's v3 limiter (the one with team-member and model_per_key
		// limits) words it so.
		unit := map[string]string{"rpm": "requests", "tpm": "tokens"}[what]
		reset := now.UTC().Truncate(time.Minute).Add(time.Minute)
		return &Error{Status: 429, Type: "rate_limit_error", Code: "429", Param: "None", RetryAfter: retry,
			Message: fmt.Sprintf("Rate limit exceeded for %s: %s. Limit type: %s. Current limit: %d, Remaining: %d. Limit resets at: %s",
				e.kind, e.name, unit, lim, max(lim-cur, 0), reset.Format("2006-01-02 15:04:05 UTC"))}
	}
	return &Error{Status: 429, Type: "rate_limit_error", Code: "429", Param: "None", RetryAfter: retry,
		Message: fmt.Sprintf("LiteLLM Rate Limit Handler for rate limit type = %s. Crossed TPM / RPM / Max Parallel Request Limit. current %s: %d, %s limit: %d, %s",
			e.kind, what, cur, what, lim, e.name)}
}

// defaultEndUserBudget is the budget of a customer without one of its own:
// litellm_settings.max_end_user_budget_id's, else max_end_user_budget.
func (s *Service) defaultEndUserBudget() *keystore.Budget {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.endUserBudgetID != "" {
		if b := s.budgets[s.endUserBudgetID]; b != nil {
			return b
		}
	}
	if s.maxEndUserBudget != nil {
		return &keystore.Budget{MaxBudget: s.maxEndUserBudget}
	}
	return nil
}

// SetEndUserDefaults sets litellm_settings.max_end_user_budget and
// max_end_user_budget_id (a config reload calls it again).
func (s *Service) SetEndUserDefaults(maxBudget *float64, budgetID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxEndUserBudget, s.endUserBudgetID = maxBudget, budgetID
}

func keyLabel(k *keystore.Key) string {
	if k.KeyAlias != "" {
		return k.KeyAlias
	}
	return k.KeyName
}

// principalRows are the cached team and user a keyless caller (a JWT's,
// D109) names; nil for an empty or unknown id.
func (s *Service) principalRows(teamID, userID string) (*keystore.Team, *keystore.User) {
	var t *keystore.Team
	var u *keystore.User
	if teamID != "" {
		t, _, _ = s.team(teamID)
	}
	if userID != "" {
		u, _, _ = s.user(userID)
	}
	return t, u
}

// principalLimits applies a JWT caller's team, user, team member and end
// user rpm/tpm limits and the team's and user's max_parallel_requests
// (LiteLLM's v3 limiter descriptors team, user, team_member, end_user). A
// slot held is released by EndFor with the grant's team and user.
func (s *Service) principalLimits(ctx context.Context, team *keystore.Team, user *keystore.User, endUser string, eub *keystore.Budget, caller, group string, g *Grant) *Error {
	if s.o.Counters == nil {
		return nil // JWT requests are never decided in a module view
	}
	return s.applyLimits(ctx, s.withKeyModel(s.entities(nil, team, user, endUser, eub), nil, caller, group), g)
}

// EndFor releases a request's parallel slots: its key's, team's and user's
// (End) when it has a key, else those of the team and user a JWT named.
func (s *Service) EndFor(ctx context.Context, token, teamID, userID string) {
	if token != "" && !IsCaller(token) {
		s.End(ctx, token)
		return
	}
	if s.o.Counters == nil || teamID == "" && userID == "" {
		return
	}
	t, u := s.principalRows(teamID, userID)
	for _, e := range s.entities(nil, t, u, "", nil) {
		if e.par > 0 {
			_ = s.o.Counters.End(ctx, e.id)
		}
	}
}
