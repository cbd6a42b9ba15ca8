package keys

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"time"

	"github.com/llmgate/llmgate/internal/keystore"
)

// teamRoutes and userRoutes are LiteLLM's /team/* and /user/* routes served here.
var teamRoutes = map[string]bool{"new": true, "update": true, "delete": true, "info": true, "list": true, "block": true, "unblock": true,
	"member_add": true, "member_delete": true, "member_update": true}
var userRoutes = map[string]bool{"new": true, "update": true, "delete": true, "info": true, "list": true}

func uuid4() string { return keystore.NewUUID() }

func (s *Service) setTeam(id string, t *keystore.Team) {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if t == nil {
		delete(s.teams, id)
		delete(s.tspnd, id)
		return
	}
	s.teams[id] = t
	s.tspnd[id] = t.Spend + s.pending.Teams[id]
}

func (s *Service) setUser(id string, u *keystore.User) {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if u == nil {
		delete(s.users, id)
		delete(s.uspnd, id)
		return
	}
	s.users[id] = u
	s.uspnd[id] = u.Spend + s.pending.Users[id]
}

// limitFields reads the fields teams and users share with keys.
func limitFields(req map[string]any, models *[]string, meta *map[string]any, maxBudget **float64, tpm, rpm, par **int64,
	dur *string, reset **time.Time, mmb *map[string]any, now time.Time) *Error {
	for name, v := range req {
		var e *Error
		switch name {
		case "models":
			*models, e = stringList(name, v)
		case "metadata":
			*meta, e = object(name, v)
		case "max_budget":
			*maxBudget, e = optNumber(name, v, maxMoney)
		case "tpm_limit":
			*tpm, e = optInt(name, v)
		case "rpm_limit":
			*rpm, e = optInt(name, v)
		case "max_parallel_requests":
			*par, e = optInt(name, v)
		case "model_max_budget":
			*mmb, e = object(name, v)
		case "budget_duration":
			*dur, *reset, e = optPeriod(name, v, now)
		}
		if e != nil {
			return e
		}
	}
	return nil
}

func teamView(t *keystore.Team, spend float64) map[string]any {
	return map[string]any{
		"team_id": t.TeamID, "team_alias": nilIfEmpty(t.TeamAlias), "organization_id": nilIfEmpty(t.OrganizationID),
		"admins": nonNil(t.Admins), "members": nonNil(t.Members), "members_with_roles": nonNilAny(t.MembersWithRoles),
		"metadata": mapOrEmpty(t.Metadata), "max_budget": t.MaxBudget, "spend": spend, "models": nonNil(t.Models),
		"max_parallel_requests": t.MaxParallelRequests, "tpm_limit": t.TPMLimit, "rpm_limit": t.RPMLimit,
		"budget_duration": nilIfEmpty(t.BudgetDuration), "budget_reset_at": timeOrNil(t.BudgetResetAt), "blocked": t.Blocked,
		"soft_budget": t.SoftBudget,
		"model_spend": mapOrEmptyF(t.ModelSpend), "model_max_budget": mapOrEmpty(t.ModelMaxBudget),
		"created_at": t.CreatedAt.UTC().Format(time.RFC3339Nano), "updated_at": t.UpdatedAt.UTC().Format(time.RFC3339Nano),
	}
}

func nonNilAny(s []any) []any {
	if s == nil {
		return []any{}
	}
	return s
}

func userView(u *keystore.User, spend float64) map[string]any {
	return map[string]any{
		"user_id": u.UserID, "user_alias": nilIfEmpty(u.UserAlias), "team_id": nilIfEmpty(u.TeamID), "teams": nonNil(u.Teams),
		"user_role": nilIfEmpty(u.UserRole), "max_budget": u.MaxBudget, "spend": spend, "user_email": nilIfEmpty(u.UserEmail),
		"models": nonNil(u.Models), "metadata": mapOrEmpty(u.Metadata), "max_parallel_requests": u.MaxParallelRequests,
		"tpm_limit": u.TPMLimit, "rpm_limit": u.RPMLimit, "budget_duration": nilIfEmpty(u.BudgetDuration),
		"budget_reset_at": timeOrNil(u.BudgetResetAt), "model_spend": mapOrEmptyF(u.ModelSpend),
		"model_max_budget": mapOrEmpty(u.ModelMaxBudget), "created_at": u.CreatedAt.UTC().Format(time.RFC3339Nano),
		"updated_at": u.UpdatedAt.UTC().Format(time.RFC3339Nano),
	}
}

func notFound(what, id string) *Error {
	return &Error{Status: 404, Type: "not_found_error", Code: "404", Param: "None", Message: fmt.Sprintf("%s not found: %s", what, id)}
}

// handleTeam serves /team/*.
func (s *Service) handleTeam(ctx context.Context, name string, req map[string]any, q url.Values) (any, *Error) {
	now := s.now().UTC()
	switch name {
	case "new":
		t := &keystore.Team{TeamID: uuid4(), Admins: []string{}, Members: []string{}, MembersWithRoles: []any{}, Models: []string{},
			Metadata: map[string]any{}, ModelMaxBudget: map[string]any{}, CreatedAt: now, UpdatedAt: now}
		if v, ok := req["team_id"]; ok && v != nil {
			id, e := optString("team_id", v)
			if e != nil || id == "" {
				return nil, badRequest("team_id must be a non-empty string")
			}
			if _, _, exists := s.team(id); exists {
				return nil, badRequest("Team id = " + id + " already exists. Please use a different team id.")
			}
			t.TeamID = id
		}
		if e := s.teamFields(req, t, now); e != nil {
			return nil, e
		}
		if _, e := s.teamMemberDefaults(ctx, req, t, "", now); e != nil {
			return nil, e
		}
		if err := s.o.Store.PutTeam(ctx, t); err != nil {
			return nil, storeError(err)
		}
		s.setTeam(t.TeamID, t)
		if e := s.backfillMembers(ctx, t); e != nil {
			return nil, e
		}
		return teamView(t, 0), nil
	case "update", "block", "unblock":
		id, _ := req["team_id"].(string)
		t, err := s.o.Store.GetTeam(ctx, id)
		if err != nil {
			if errors.Is(err, keystore.ErrNotFound) {
				return nil, notFound("Team", id)
			}
			return nil, storeError(err)
		}
		switch name {
		case "block":
			t.Blocked = true
		case "unblock":
			t.Blocked = false
		default:
			delete(req, "team_id")
			prev := defaultMemberBudgetID(t)
			if e := s.teamFields(req, t, now); e != nil {
				return nil, e
			}
			if _, e := s.teamMemberDefaults(ctx, req, t, prev, now); e != nil {
				return nil, e
			}
		}
		t.UpdatedAt = now
		if err := s.o.Store.PutTeam(ctx, t); err != nil {
			return nil, storeError(err)
		}
		s.setTeam(t.TeamID, t)
		if e := s.backfillMembers(ctx, t); e != nil {
			return nil, e
		}
		_, spend, _ := s.team(t.TeamID)
		if name != "update" {
			return teamView(t, spend), nil
		}
		return map[string]any{"team_id": t.TeamID, "data": teamView(t, spend)}, nil
	case "delete":
		ids, e := stringList("team_ids", req["team_ids"])
		if e != nil {
			return nil, e
		}
		for _, id := range ids {
			if _, _, ok := s.team(id); !ok {
				return nil, notFound("Team", id)
			}
		}
		for _, id := range ids {
			if err := s.o.Store.DeleteTeam(ctx, id); err != nil && !errors.Is(err, keystore.ErrNotFound) {
				return nil, storeError(err)
			}
			s.setTeam(id, nil)
		}
		return map[string]any{"deleted_teams": ids}, nil
	case "info":
		id := q.Get("team_id")
		t, spend, ok := s.team(id)
		if !ok {
			return nil, notFound("Team", id)
		}
		return map[string]any{"team_id": id, "team_info": teamView(t, spend), "keys": s.keysWhere(func(k *keystore.Key) bool { return k.TeamID == id }),
			"team_memberships": s.teamMemberships(id)}, nil
	case "list":
		s.mu.RLock()
		out := make([]map[string]any, 0, len(s.teams))
		for id, t := range s.teams {
			if teamListed(t, q) {
				out = append(out, teamView(t, s.tspnd[id]))
			}
		}
		s.mu.RUnlock()
		sort.Slice(out, func(i, j int) bool { return out[i]["team_id"].(string) < out[j]["team_id"].(string) })
		return out, nil
	}
	return nil, badRequest("unknown team route")
}

func (s *Service) teamFields(req map[string]any, t *keystore.Team, now time.Time) *Error {
	if e := limitFields(req, &t.Models, &t.Metadata, &t.MaxBudget, &t.TPMLimit, &t.RPMLimit, &t.MaxParallelRequests,
		&t.BudgetDuration, &t.BudgetResetAt, &t.ModelMaxBudget, now); e != nil {
		return e
	}
	if _, ok := req["metadata"]; ok {
		t.Metadata = s.encryptLoggingVars(t.Metadata) // logging credentials at rest, as LiteLLM (D74)
	}
	for name, v := range req {
		var e *Error
		switch name {
		case "team_alias":
			t.TeamAlias, e = optString(name, v)
		case "soft_budget":
			t.SoftBudget, e = optNumber(name, v, maxMoney)
		case "organization_id":
			t.OrganizationID, e = optString(name, v)
		case "blocked":
			b, ok := v.(bool)
			if v != nil && !ok {
				e = badRequest("blocked must be true or false")
			}
			t.Blocked = b
		case "members_with_roles":
			l, ok := v.([]any)
			if v != nil && !ok || len(l) > maxListItems {
				e = badRequest(fmt.Sprintf("members_with_roles must be a list of at most %d {role, user_id}", maxListItems))
				break
			}
			t.MembersWithRoles, t.Members, t.Admins = []any{}, []string{}, []string{}
			for _, m := range l {
				mm, ok := m.(map[string]any)
				uid, _ := mm["user_id"].(string)
				if !ok || uid == "" {
					e = badRequest("members_with_roles entries need a user_id")
					break
				}
				role, _ := mm["role"].(string)
				if role == "" {
					role = "user"
				}
				t.MembersWithRoles = append(t.MembersWithRoles, map[string]any{"role": role, "user_id": uid})
				t.Members = append(t.Members, uid)
				if role == "admin" {
					t.Admins = append(t.Admins, uid)
				}
			}
		}
		if e != nil {
			return e
		}
	}
	return nil
}

func (s *Service) keysWhere(match func(*keystore.Key) bool) []any {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []any{}
	for t, k := range s.keys {
		if match(k) {
			out = append(out, keyView(k, s.spend[t], true, s.budgets[k.BudgetID]))
		}
	}
	return out
}

// handleUser serves /user/*. /user/new also issues a key for the user
// unless auto_create_key is false, as LiteLLM does.
func (s *Service) handleUser(ctx context.Context, name string, req map[string]any, q url.Values) (any, *Error) {
	now := s.now().UTC()
	switch name {
	case "new":
		u := &keystore.User{UserID: uuid4(), Teams: []string{}, Models: []string{}, Metadata: map[string]any{}, ModelMaxBudget: map[string]any{},
			CreatedAt: now, UpdatedAt: now}
		if v, ok := req["user_id"]; ok && v != nil {
			id, e := optString("user_id", v)
			if e != nil || id == "" {
				return nil, badRequest("user_id must be a non-empty string")
			}
			if _, _, exists := s.user(id); exists {
				return nil, badRequest("User with id " + id + " already exists")
			}
			u.UserID = id
		}
		teams := applyUserDefaults(req, s.keyGenSettings()) // keygen.go
		if e := s.userFields(req, u, now); e != nil {
			return nil, e
		}
		if err := s.o.Store.PutUser(ctx, u); err != nil {
			return nil, storeError(err)
		}
		s.setUser(u.UserID, u)
		if len(teams) > 0 {
			s.joinDefaultTeams(ctx, u.UserID, u.UserEmail, teams)
			if cur, _, ok := s.user(u.UserID); ok {
				u = cur
			}
		}
		out := userView(u, 0)
		if auto, ok := req["auto_create_key"].(bool); !ok || auto {
			kreq := map[string]any{"user_id": u.UserID}
			for _, f := range []string{"models", "duration", "key_alias", "aliases", "max_budget", "tpm_limit", "rpm_limit", "metadata", "team_id"} {
				if v, ok := req[f]; ok {
					kreq[f] = v
				}
			}
			if _, ok := req["max_budget"]; ok {
				delete(kreq, "max_budget") // the user's budget, not the key's
			}
			k, e := s.generate(ctx, kreq)
			if e != nil {
				return nil, e
			}
			km := k.(map[string]any)
			out["key"], out["token"], out["token_id"], out["key_name"], out["expires"] = km["key"], km["token"], km["token_id"], km["key_name"], km["expires"]
		}
		return out, nil
	case "update":
		id, _ := req["user_id"].(string)
		u, err := s.o.Store.GetUser(ctx, id)
		if err != nil {
			if errors.Is(err, keystore.ErrNotFound) {
				return nil, notFound("User", id)
			}
			return nil, storeError(err)
		}
		delete(req, "user_id")
		if e := s.userFields(req, u, now); e != nil {
			return nil, e
		}
		u.UpdatedAt = now
		if err := s.o.Store.PutUser(ctx, u); err != nil {
			return nil, storeError(err)
		}
		s.setUser(u.UserID, u)
		_, spend, _ := s.user(u.UserID)
		return userView(u, spend), nil
	case "delete":
		ids, e := stringList("user_ids", req["user_ids"])
		if e != nil {
			return nil, e
		}
		for _, id := range ids {
			if _, _, ok := s.user(id); !ok {
				return nil, notFound("User", id)
			}
		}
		for _, id := range ids {
			if err := s.o.Store.DeleteUser(ctx, id); err != nil && !errors.Is(err, keystore.ErrNotFound) {
				return nil, storeError(err)
			}
			s.setUser(id, nil)
		}
		return map[string]any{"deleted_users": ids}, nil
	case "info":
		id := q.Get("user_id")
		u, spend, ok := s.user(id)
		if !ok {
			return nil, notFound("User", id)
		}
		ui := userView(u, spend)
		if usage := s.modelBudgetUsage(winUser, id, u.ModelMaxBudget); usage != nil {
			ui["model_max_budget_usage"] = usage
		}
		hidden := ""
		if mk := s.modelSettings().MasterKey; mk != "" && s.noMasterReturn.Load() {
			// A LiteLLM database holds the master key's hash as a key row
			// (LiteLLM adds it at start): not shown (its
			// _process_keys_for_user_info).
			hidden = keystore.HashKey(mk)
		}
		return map[string]any{"user_id": id, "user_info": ui,
			"keys": s.keysWhere(func(k *keystore.Key) bool { return k.UserID == id && (hidden == "" || k.Token != hidden) }), "teams": nonNil(u.Teams)}, nil
	case "list":
		return s.userList(q)
	}
	return nil, badRequest("unknown user route")
}

func (s *Service) userFields(req map[string]any, u *keystore.User, now time.Time) *Error {
	if e := limitFields(req, &u.Models, &u.Metadata, &u.MaxBudget, &u.TPMLimit, &u.RPMLimit, &u.MaxParallelRequests,
		&u.BudgetDuration, &u.BudgetResetAt, &u.ModelMaxBudget, now); e != nil {
		return e
	}
	for name, v := range req {
		var e *Error
		switch name {
		case "user_alias":
			u.UserAlias, e = optString(name, v)
		case "user_email":
			u.UserEmail, e = optString(name, v)
		case "user_role":
			u.UserRole, e = optString(name, v)
		case "team_id":
			u.TeamID, e = optString(name, v)
		case "teams":
			u.Teams, e = stringList(name, v)
		}
		if e != nil {
			return e
		}
	}
	return nil
}
