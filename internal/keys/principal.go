package keys

import (
	"context"
	"fmt"
	"time"

	"github.com/llmgate/llmgate/internal/keystore"
)

// Principal is a caller without a virtual key whose team and user another
// authenticator resolved (a JWT's claims, D97).
type Principal struct {
	TeamID, UserID string
	// UpsertUser: a UserID the store does not know is created (LiteLLM's
	// user_id_upsert; upsertUser).
	UpsertUser bool
}

// AuthorizePrincipal runs LiteLLM's common_checks for a JWT caller: the
// team must exist (get_team_object), the user too unless UpsertUser
// (get_user_object); then team blocked, team models, team budget and
// per-model budgets, the user's budget (no team) or the member's budget in
// the team, the end user, the proxy budget, the request checks, then the
// team's, user's, member's and end user's rpm/tpm limits (principalLimits).
// The grant carries the team and user, so the spend sink adds the
// request's cost to them and its tokens to their tpm.
func (s *Service) AuthorizePrincipal(ctx context.Context, p Principal, c Check) (*Grant, *Error) {
	now := s.now()
	g := &Grant{TeamID: p.TeamID, UserID: p.UserID}
	models := c.Models
	var team *keystore.Team
	var user *keystore.User
	if p.TeamID != "" {
		t, spend, ok := s.team(p.TeamID)
		if !ok {
			return nil, &Error{Status: 401, Type: "auth_error", Code: "401", Param: "None",
				Message: "Authentication Error, Team doesn't exist in db. Team=" + p.TeamID + ". Create team via `/team/new` call."}
		}
		team = t
		if team.Blocked {
			return nil, &Error{Status: 401, Type: "auth_error", Code: "401", Param: "None",
				Message: "Authentication Error, Team=" + team.TeamID + " is blocked. Update via `/team/unblock` if you're an admin."}
		}
		if !s.modelAllowed(team.Models, models) {
			return nil, &Error{Status: 401, Type: "team_model_access_denied", Code: "401", Param: "model",
				Message: fmt.Sprintf("Authentication Error, Team not allowed to access model. Team=%s, Model=%s. Allowed team models = %s",
					team.TeamID, first(models), pyList(team.Models))}
		}
		if team.MaxBudget != nil && spend >= *team.MaxBudget {
			return nil, budgetError("Team="+team.TeamID+" ", spend, *team.MaxBudget)
		}
		if len(team.ModelMaxBudget) > 0 {
			if e := s.checkModelWindow(winTeam, team.TeamID, team.ModelMaxBudget, first(models), now, func() string {
				return "LiteLLM Team: " + team.TeamID
			}); e != nil {
				return nil, e
			}
		}
	}
	if p.UserID != "" {
		u, spend, ok := s.user(p.UserID)
		if !ok && !p.UpsertUser {
			return nil, &Error{Status: 401, Type: "auth_error", Code: "401", Param: "None",
				Message: "Authentication Error, User doesn't exist in db. 'user_id'=" + p.UserID + ". Create user via `/user/new` call."}
		}
		if !ok {
			u, ok = s.upsertUser(p.UserID), true
		}
		user = u
		if ok && p.TeamID == "" && u.MaxBudget != nil && spend >= *u.MaxBudget {
			return nil, &Error{Status: 400, Type: "budget_exceeded", Code: "400", Param: "None",
				Message: fmt.Sprintf("ExceededBudget: User=%s over budget. Spend=%v, Budget=%v", u.UserID, spend, *u.MaxBudget)}
		}
		if p.TeamID != "" {
			if mb, ms := s.memberBudget(p.TeamID, p.UserID); mb != nil && ms >= *mb {
				return nil, budgetError("User="+p.UserID+" in Team="+p.TeamID+" ", ms, *mb)
			}
		}
	}
	eub, e := s.checkEndUser(c.EndUser, first(models), now)
	if e != nil {
		return nil, e
	}
	if e := s.proxyBudgetError(); e != nil {
		return nil, e
	}
	if c.Body != nil {
		if e := CheckBody(c.Rules, nil, c.Body); e != nil {
			return nil, e
		}
	}
	if e := s.principalLimits(ctx, team, user, c.EndUser, eub, c.Caller, requestGroup(models), g); e != nil {
		return nil, e
	}
	return g, nil
}

// upsertUser creates the row of a JWT's user the store does not know, as
// LiteLLM's get_user_object does with user_id_upsert: the user_id and
// default_internal_user_params' fields (its teams joined after). The row is
// in the cache at once (this request's checks and spend see it) and
// written to the store off the request path; a failed write is logged and
// the next request tries again.
func (s *Service) upsertUser(id string) *keystore.User {
	now := s.now().UTC()
	u := &keystore.User{UserID: id, Teams: []string{}, Models: []string{}, Metadata: map[string]any{}, ModelMaxBudget: map[string]any{},
		CreatedAt: now, UpdatedAt: now}
	req := map[string]any{}
	teams := applyUserDefaults(req, s.keyGenSettings())
	if e := s.userFields(req, u, now); e != nil {
		s.log.Warn("user_id_upsert: default_internal_user_params not applied", "user_id", id, "error", e.Message)
	}
	if _, busy := s.upserts.LoadOrStore(id, true); busy {
		return u // another request is writing it
	}
	s.setUser(id, u)
	cp := *u
	go func() {
		defer s.upserts.Delete(id)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.o.Store.PutUser(ctx, &cp); err != nil {
			s.log.Warn("user_id_upsert: user row not written; the next request retries", "user_id", id, "error", err.Error())
			s.setUser(id, nil)
			return
		}
		if len(teams) > 0 {
			s.joinDefaultTeams(ctx, id, "", teams)
		}
	}()
	return u
}
