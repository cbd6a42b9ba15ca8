package keys

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/llmgate/llmgate/internal/keystore"
)

// member is one entry of a team's members_with_roles.
type member struct {
	UserID    string
	UserEmail string
	Role      string
}

func (m member) view() map[string]any {
	return map[string]any{"user_id": nilIfEmpty(m.UserID), "user_email": nilIfEmpty(m.UserEmail), "role": m.Role}
}

func teamMembers(t *keystore.Team) []member {
	var out []member
	for _, x := range t.MembersWithRoles {
		mm, _ := x.(map[string]any)
		uid, _ := mm["user_id"].(string)
		email, _ := mm["user_email"].(string)
		role, _ := mm["role"].(string)
		out = append(out, member{UserID: uid, UserEmail: email, Role: role})
	}
	return out
}

// setMembers writes members_with_roles and the members/admins lists derived from it.
func setMembers(t *keystore.Team, ms []member) {
	t.MembersWithRoles, t.Members, t.Admins = []any{}, []string{}, []string{}
	for _, m := range ms {
		t.MembersWithRoles = append(t.MembersWithRoles, m.view())
		if m.UserID != "" {
			t.Members = append(t.Members, m.UserID)
			if m.Role == "admin" {
				t.Admins = append(t.Admins, m.UserID)
			}
		}
	}
}

// readMember reads one {"role", "user_id", "user_email"} object.
func readMember(v any) (member, *Error) {
	mm, ok := v.(map[string]any)
	if !ok {
		return member{}, badRequest("member must be an object {role, user_id, user_email} or a list of them")
	}
	var m member
	var e *Error
	if m.UserID, e = optString("user_id", mm["user_id"]); e != nil {
		return m, e
	}
	if m.UserEmail, e = optString("user_email", mm["user_email"]); e != nil {
		return m, e
	}
	if m.Role, e = optString("role", mm["role"]); e != nil {
		return m, e
	}
	if m.UserID == "" && m.UserEmail == "" {
		return m, badRequest("Either user_id or user_email must be provided")
	}
	switch m.Role {
	case "":
		m.Role = "user"
	case "admin", "user":
	default:
		return m, badRequest("role must be 'admin' or 'user', got " + m.Role)
	}
	return m, nil
}

// isTeamAdmin reports whether the caller's key belongs to an admin of the team.
func (s *Service) isTeamAdmin(c Caller, t *keystore.Team) bool {
	if c.Admin {
		return true
	}
	k, _, ok := s.Lookup(c.Token)
	if !ok || k.UserID == "" {
		return false
	}
	for _, m := range teamMembers(t) {
		if m.UserID == k.UserID && m.Role == "admin" {
			return true
		}
	}
	return false
}

func notTeamAdmin(route, teamID string) *Error {
	return &Error{Status: 403, Type: "auth_error", Code: "403", Param: "None",
		Message: fmt.Sprintf("Call not allowed. User not proxy admin OR team admin. route=%s, team_id=%s", route, teamID)}
}

// memberAdd is /team/member_add: {"team_id", "member": {...} or [...],
// "max_budget_in_team"}. A user that does not exist is created; a member
// budget makes a LiteLLM_BudgetTable row and a LiteLLM_TeamMembership row.
func (s *Service) memberAdd(ctx context.Context, req map[string]any, c Caller) (any, *Error) {
	id, _ := req["team_id"].(string)
	if id == "" {
		return nil, badRequest("team_id is required")
	}
	var adds []member
	switch v := req["member"].(type) {
	case []any:
		if len(v) > maxListItems {
			return nil, badRequest(fmt.Sprintf("member has more than %d entries", maxListItems))
		}
		for _, x := range v {
			m, e := readMember(x)
			if e != nil {
				return nil, e
			}
			adds = append(adds, m)
		}
	case map[string]any:
		m, e := readMember(v)
		if e != nil {
			return nil, e
		}
		adds = append(adds, m)
	default:
		return nil, badRequest("member is required: {role, user_id, user_email} or a list of them")
	}
	budget, e := optNumber("max_budget_in_team", req["max_budget_in_team"], maxMoney)
	if e != nil {
		return nil, e
	}
	var allowed []string // the members' own model list (LiteLLM's allowed_models)
	if v, ok := req["allowed_models"]; ok && v != nil {
		if allowed, e = memberModels(v); e != nil {
			return nil, e
		}
	}
	t, err := s.o.Store.GetTeam(ctx, id)
	if err != nil {
		if errors.Is(err, keystore.ErrNotFound) {
			return nil, &Error{Status: 404, Type: "not_found_error", Code: "404", Param: "None", Message: "Team not found for team_id=" + id}
		}
		return nil, storeError(err)
	}
	existing := teamMembers(t)
	for _, m := range adds {
		for _, x := range existing {
			if m.UserID != "" && x.UserID == m.UserID || m.UserID == "" && m.UserEmail != "" && x.UserEmail == m.UserEmail {
				return nil, badRequest(fmt.Sprintf("User=%s already in team. Existing members=%s", firstNonEmpty(m.UserID, m.UserEmail), membersString(existing)))
			}
		}
	}
	if !s.isTeamAdmin(c, t) {
		return nil, notTeamAdmin("/team/member_add", id)
	}
	now := s.now().UTC()
	users := []any{}
	memberships := []any{}
	for i, m := range adds {
		u := s.userFor(m)
		if u == nil {
			u = &keystore.User{UserID: firstNonEmpty(m.UserID, uuid4()), UserEmail: m.UserEmail, UserRole: "internal_user", Teams: []string{},
				Models: []string{}, Metadata: map[string]any{}, ModelMaxBudget: map[string]any{}, CreatedAt: now}
		}
		adds[i].UserID = u.UserID
		if !slices.Contains(u.Teams, id) {
			u.Teams = append(u.Teams, id)
		}
		u.UpdatedAt = now
		if err := s.o.Store.PutUser(ctx, u); err != nil {
			return nil, storeError(err)
		}
		s.setUser(u.UserID, u)
		_, us, _ := s.user(u.UserID)
		users = append(users, userView(u, us))
		def := s.budget(defaultMemberBudgetID(t))
		if budget != nil || def != nil || len(allowed) > 0 {
			// An explicit max_budget_in_team or allowed_models is a budget
			// of its own; else the member shares the team's default member
			// budget.
			b := def
			if budget != nil || len(allowed) > 0 {
				b = &keystore.Budget{BudgetID: uuid4(), CreatedAt: now, UpdatedAt: now, CreatedBy: "default_user_id", UpdatedBy: "default_user_id"}
				if budget != nil {
					b.MaxBudget = budget
				} else if def != nil {
					// allowed_models alone: the team default's limits stay the member's.
					b.MaxBudget, b.RPMLimit, b.TPMLimit, b.BudgetDuration, b.BudgetResetAt = def.MaxBudget, def.RPMLimit, def.TPMLimit, def.BudgetDuration, def.BudgetResetAt
				}
				b.AllowedModels = allowed
				if err := s.o.Store.PutBudget(ctx, b); err != nil {
					return nil, storeError(err)
				}
				s.setBudget(b.BudgetID, b)
			}
			ms := &keystore.Membership{TeamID: id, UserID: u.UserID, BudgetID: b.BudgetID}
			if err := s.o.Store.PutMembership(ctx, ms); err != nil {
				return nil, storeError(err)
			}
			s.setMember(ms, false)
			memberships = append(memberships, membershipView(ms, s.memberSpend(id, u.UserID), b))
		}
	}
	setMembers(t, append(existing, adds...))
	t.UpdatedAt = now
	if err := s.o.Store.PutTeam(ctx, t); err != nil {
		return nil, storeError(err)
	}
	s.setTeam(t.TeamID, t)
	_, spend, _ := s.team(t.TeamID)
	out := teamView(t, spend)
	out["updated_users"], out["updated_team_memberships"] = users, memberships
	return out, nil
}

// memberDelete is /team/member_delete: {"team_id", "user_id" or "user_email"}.
func (s *Service) memberDelete(ctx context.Context, req map[string]any, c Caller) (any, *Error) {
	id, _ := req["team_id"].(string)
	if id == "" {
		return nil, badRequest("No team id passed in")
	}
	uid, email, e := memberIdentity(req)
	if e != nil {
		return nil, e
	}
	t, err := s.o.Store.GetTeam(ctx, id)
	if err != nil {
		if errors.Is(err, keystore.ErrNotFound) {
			return nil, badRequest(fmt.Sprintf("Team id=%s does not exist in db", id))
		}
		return nil, storeError(err)
	}
	if !s.isTeamAdmin(c, t) {
		return nil, notTeamAdmin("/team/member_delete", id)
	}
	var keep []member
	var gone []string
	for _, m := range teamMembers(t) {
		if uid != "" && m.UserID == uid || email != "" && m.UserEmail == email {
			gone = append(gone, m.UserID)
			continue
		}
		keep = append(keep, m)
	}
	if len(gone) == 0 {
		return nil, badRequest("User not found in team")
	}
	setMembers(t, keep)
	t.UpdatedAt = s.now().UTC()
	if err := s.o.Store.PutTeam(ctx, t); err != nil {
		return nil, storeError(err)
	}
	s.setTeam(t.TeamID, t)
	for _, u := range gone {
		if u == "" {
			continue
		}
		if usr, _, ok := s.user(u); ok && slices.Contains(usr.Teams, id) {
			cp := *usr
			cp.Teams = slices.DeleteFunc(slices.Clone(usr.Teams), func(x string) bool { return x == id })
			cp.UpdatedAt = t.UpdatedAt
			if err := s.o.Store.PutUser(ctx, &cp); err != nil {
				return nil, storeError(err)
			}
			s.setUser(u, &cp)
		}
		if err := s.o.Store.DeleteMembership(ctx, id, u); err != nil && !errors.Is(err, keystore.ErrNotFound) {
			return nil, storeError(err)
		}
		s.setMember(&keystore.Membership{TeamID: id, UserID: u}, true)
	}
	_, spend, _ := s.team(t.TeamID)
	return teamView(t, spend), nil
}

// userFor finds the user a member names (by id, else by email).
func (s *Service) userFor(m member) *keystore.User {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if m.UserID != "" {
		if u := s.users[m.UserID]; u != nil {
			cp := *u
			return &cp
		}
		return nil
	}
	for _, u := range s.users {
		if u.UserEmail != "" && u.UserEmail == m.UserEmail {
			cp := *u
			return &cp
		}
	}
	return nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// membersString prints members as LiteLLM's message does.
func membersString(ms []member) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = fmt.Sprintf("Member(user_id=%s, user_email=%s, role='%s')", pyStr(m.UserID), pyStr(m.UserEmail), m.Role)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func pyStr(s string) string {
	if s == "" {
		return "None"
	}
	return "'" + s + "'"
}

func membershipView(m *keystore.Membership, spend float64, b *keystore.Budget) map[string]any {
	out := map[string]any{"user_id": m.UserID, "team_id": m.TeamID, "spend": spend, "budget_id": nilIfEmpty(m.BudgetID), "litellm_budget_table": nil}
	if b != nil {
		out["litellm_budget_table"] = budgetView(b)
	}
	return out
}

func (s *Service) memberSpend(teamID, userID string) float64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.mspnd[keystore.MemberKey(teamID, userID)]
}

func (s *Service) setMember(m *keystore.Membership, remove bool) {
	mk := keystore.MemberKey(m.TeamID, m.UserID)
	s.pmu.Lock()
	defer s.pmu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if remove {
		delete(s.members, mk)
		delete(s.mspnd, mk)
		return
	}
	old := s.mspnd[mk]
	s.members[mk] = m
	if _, had := s.mspnd[mk]; !had {
		old = m.Spend + s.pending.Members[mk]
	}
	s.mspnd[mk] = old
}

func (s *Service) setBudget(id string, b *keystore.Budget) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b == nil {
		delete(s.budgets, id)
		return
	}
	s.budgets[id] = b
}

// teamMemberships are a team's LiteLLM_TeamMembership rows as /team/info shows them.
func (s *Service) teamMemberships(teamID string) []any {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []any{}
	var keys []string
	for mk, m := range s.members {
		if m.TeamID == teamID {
			keys = append(keys, mk)
		}
	}
	slices.Sort(keys)
	for _, mk := range keys {
		m := s.members[mk]
		out = append(out, membershipView(m, s.mspnd[mk], s.budgets[m.BudgetID]))
	}
	return out
}

// memberIdentity is the member a /team/member_delete or /team/member_update
// names: "user_id" or "user_email" (at least one).
func memberIdentity(req map[string]any) (uid, email string, e *Error) {
	if uid, e = optString("user_id", req["user_id"]); e != nil {
		return "", "", e
	}
	if email, e = optString("user_email", req["user_email"]); e != nil {
		return "", "", e
	}
	if uid == "" && email == "" {
		return "", "", badRequest("Either user_id or user_email needs to be passed in")
	}
	return uid, email, nil
}
