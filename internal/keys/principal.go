package keys

import (
	"context"
	"fmt"
)

// Principal is a caller without a virtual key whose team and user another
// authenticator resolved (a JWT's claims, D97).
type Principal struct {
	TeamID, UserID string
	// UpsertUser: a UserID the store does not know is accepted (LiteLLM's
	// user_id_upsert; the user row is not created here).
	UpsertUser bool
}

// AuthorizePrincipal runs LiteLLM's common_checks for a JWT caller: the
// team must exist (get_team_object), the user too unless UpsertUser
// (get_user_object); then team blocked, team models, team budget and
// per-model budgets, the user's budget (no team) or the member's budget in
// the team, the end user, the proxy budget and the request checks. The
// grant carries the team and user, so the spend sink adds the request's
// cost to them. rpm/tpm/parallel limits are not applied (they count by
// key).
func (s *Service) AuthorizePrincipal(ctx context.Context, p Principal, c Check) (*Grant, *Error) {
	now := s.now()
	g := &Grant{TeamID: p.TeamID, UserID: p.UserID}
	models := c.Models
	if p.TeamID != "" {
		team, spend, ok := s.team(p.TeamID)
		if !ok {
			return nil, &Error{Status: 401, Type: "auth_error", Code: "401", Param: "None",
				Message: "Authentication Error, Team doesn't exist in db. Team=" + p.TeamID + ". Create team via `/team/new` call."}
		}
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
	if _, e := s.checkEndUser(c.EndUser, first(models), now); e != nil {
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
	return g, nil
}
