package keys

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/llmgate/llmgate/internal/keystore"
)

// Team-member limits, as LiteLLM keeps them: a LiteLLM_TeamMembership row
// points at a LiteLLM_BudgetTable row (budget_id) whose max_budget is the
// member's budget within the team and whose rpm_limit / tpm_limit bound the
// member's requests through any of its keys of that team (LiteLLM's
// "team_member" rate-limit descriptor, value "team_id:user_id"). A team's
// default member budget (/team/new|update team_member_budget,
// team_member_rpm_limit, team_member_tpm_limit, team_member_budget_duration)
// is one budget row named in the team's metadata.team_member_budget_id;
// members without a budget of their own point at it, and /team/member_update
// gives a member its own row (a copy of the default with the change) so that
// one member's change never reaches the others.

// teamMemberBudgetKey is the team metadata key LiteLLM keeps the default
// member budget's id under (server-owned: a client's value is dropped).
const teamMemberBudgetKey = "team_member_budget_id"

// budgetPatch is a merge-patch of budget columns: a field present sets the
// column (nil clears it), an absent field leaves it.
type budgetPatch struct {
	maxBudget      *float64
	rpm, tpm       *int64
	duration       string
	setMax, setRPM bool
	setTPM, setDur bool
	reset          *time.Time
	anyField       bool
	// allowed is the member's own model list (allowed_models; empty: the
	// team's models again).
	allowed    []string
	setAllowed bool
	// A temporary budget increase (temp_budget_increase with
	// temp_budget_expiry; both nil clear it).
	tempInc *float64
	tempExp *time.Time
	setTemp bool
}

// readTempPatch reads a member's temporary budget increase, as the key's
// (tempbudget.go): both fields together, the expiry an ISO date or
// date-time (UTC when it names no zone); null for both clears it.
func readTempPatch(req map[string]any, p *budgetPatch) *Error {
	present, inc, _, at, e := readTempIncrease(req)
	if !present || e != nil {
		return e
	}
	p.setTemp, p.anyField = true, true
	if inc != nil {
		at = at.UTC()
		p.tempInc, p.tempExp = inc, &at
	}
	return nil
}

// memberMax is a member budget's max budget, raised by its temporary
// increase while that lasts (as a key's: only a budget that has a max).
func memberMax(b *keystore.Budget, now time.Time) *float64 {
	if b == nil || b.MaxBudget == nil {
		return nil
	}
	if b.TempBudgetIncrease != nil && *b.TempBudgetIncrease > 0 && b.TempBudgetExpiry != nil && b.TempBudgetExpiry.After(now) {
		v := *b.MaxBudget + *b.TempBudgetIncrease
		return &v
	}
	return b.MaxBudget
}

// readPatch reads the fields names[0..3] (max budget, rpm, tpm, duration) of req.
func readPatch(req map[string]any, names [4]string, now time.Time) (budgetPatch, *Error) {
	var p budgetPatch
	var e *Error
	if v, ok := req[names[0]]; ok {
		p.setMax, p.anyField = true, true
		if p.maxBudget, e = optNumber(names[0], v, maxMoney); e != nil {
			return p, e
		}
	}
	if v, ok := req[names[1]]; ok {
		p.setRPM, p.anyField = true, true
		if p.rpm, e = optInt(names[1], v); e != nil {
			return p, e
		}
	}
	if v, ok := req[names[2]]; ok {
		p.setTPM, p.anyField = true, true
		if p.tpm, e = optInt(names[2], v); e != nil {
			return p, e
		}
	}
	if v, ok := req[names[3]]; ok {
		p.setDur, p.anyField = true, true
		if p.duration, p.reset, e = optPeriod(names[3], v, now); e != nil {
			return p, e
		}
	}
	return p, nil
}

// apply patches b (a copy is the caller's business).
func (p budgetPatch) apply(b *keystore.Budget) {
	if p.setMax {
		b.MaxBudget = p.maxBudget
	}
	if p.setRPM {
		b.RPMLimit = p.rpm
	}
	if p.setTPM {
		b.TPMLimit = p.tpm
	}
	if p.setDur {
		b.BudgetDuration, b.BudgetResetAt = p.duration, p.reset
	}
	if p.setAllowed {
		b.AllowedModels = p.allowed
	}
	if p.setTemp {
		b.TempBudgetIncrease, b.TempBudgetExpiry = p.tempInc, p.tempExp
	}
}

// hasLimit: a member budget with none of these set is no budget (LiteLLM
// disconnects it).
func hasLimit(b *keystore.Budget) bool {
	return b.MaxBudget != nil || b.RPMLimit != nil || b.TPMLimit != nil || b.BudgetDuration != "" || len(b.ModelMaxBudget) > 0 || len(b.AllowedModels) > 0 ||
		b.TempBudgetIncrease != nil
}

func budgetIDFor(alias string) string {
	var r [16]byte
	_, _ = rand.Read(r[:])
	if alias != "" {
		return "team-" + strings.ReplaceAll(alias, " ", "-") + "-budget-" + hex.EncodeToString(r[:])
	}
	return "team-budget-" + hex.EncodeToString(r[:])
}

// defaultMemberBudgetID is the team's default member budget id ("" when none).
func defaultMemberBudgetID(t *keystore.Team) string {
	id, _ := t.Metadata[teamMemberBudgetKey].(string)
	return id
}

// teamMemberDefaults applies /team/new|update's team_member_* fields to the
// team's default member budget (created on first use) and keeps the
// server-owned metadata key: prev is the id the team had before the
// request's metadata replaced its metadata. It returns whether the default
// budget was created or changed (memberships are then backfilled).
func (s *Service) teamMemberDefaults(ctx context.Context, req map[string]any, t *keystore.Team, prev string, now time.Time) (bool, *Error) {
	if t.Metadata == nil {
		t.Metadata = map[string]any{}
	}
	delete(t.Metadata, teamMemberBudgetKey)
	if prev != "" {
		t.Metadata[teamMemberBudgetKey] = prev
	}
	p, e := readPatch(req, [4]string{"team_member_budget", "team_member_rpm_limit", "team_member_tpm_limit", "team_member_budget_duration"}, now)
	if e != nil || !p.anyField {
		return false, e
	}
	var b *keystore.Budget
	if prev != "" {
		if cur := s.budget(prev); cur != nil {
			cp := *cur
			b = &cp
		}
	}
	if b == nil {
		if p.maxBudget == nil && p.rpm == nil && p.tpm == nil && p.duration == "" {
			return false, nil // only nulls: nothing to create
		}
		b = &keystore.Budget{BudgetID: budgetIDFor(t.TeamAlias), CreatedAt: now, CreatedBy: "default_user_id"}
		if !p.setDur && t.BudgetDuration != "" {
			// The team's own reset period, unless the request named one.
			b.BudgetDuration = t.BudgetDuration
			_, b.BudgetResetAt, _ = optPeriod("budget_duration", t.BudgetDuration, now)
		}
	}
	p.apply(b)
	b.UpdatedAt, b.UpdatedBy = now, "default_user_id"
	if err := s.o.Store.PutBudget(ctx, b); err != nil {
		return false, storeError(err)
	}
	s.setBudget(b.BudgetID, b)
	t.Metadata[teamMemberBudgetKey] = b.BudgetID
	return true, nil
}

// backfillMembers points the team's members without a budget of their own
// at the default member budget (creating their membership rows), as
// LiteLLM does when a team gains one.
func (s *Service) backfillMembers(ctx context.Context, t *keystore.Team) *Error {
	def := defaultMemberBudgetID(t)
	if def == "" {
		return nil
	}
	for _, m := range teamMembers(t) {
		if m.UserID == "" {
			continue
		}
		s.mu.RLock()
		cur := s.members[keystore.MemberKey(t.TeamID, m.UserID)]
		s.mu.RUnlock()
		if cur != nil && cur.BudgetID != "" {
			continue
		}
		ms := &keystore.Membership{TeamID: t.TeamID, UserID: m.UserID, BudgetID: def}
		if err := s.o.Store.PutMembership(ctx, ms); err != nil {
			return storeError(err)
		}
		s.setMember(ms, false)
	}
	return nil
}

// memberUpdate is /team/member_update: {"team_id", "user_id" or
// "user_email", "max_budget_in_team", "rpm_limit", "tpm_limit",
// "budget_duration", "role"}: a merge-patch of the member's budget row
// (its own, else a new one copied from the team's default member budget);
// a budget left without any limit is disconnected.
func (s *Service) memberUpdate(ctx context.Context, req map[string]any, c Caller) (any, *Error) {
	id, _ := req["team_id"].(string)
	if id == "" {
		return nil, badRequest("No team id passed in")
	}
	role, e := optString("role", req["role"])
	if e != nil {
		return nil, e
	}
	if role != "" && role != "admin" && role != "user" {
		return nil, badRequest("role must be 'admin' or 'user'")
	}
	uid, email, e := memberIdentity(req)
	if e != nil {
		return nil, e
	}
	now := s.now().UTC()
	p, e := readPatch(req, [4]string{"max_budget_in_team", "rpm_limit", "tpm_limit", "budget_duration"}, now)
	if e != nil {
		return nil, e
	}
	if v, ok := req["allowed_models"]; ok && v != nil {
		if p.allowed, e = memberModels(v); e != nil {
			return nil, e
		}
		p.setAllowed, p.anyField = true, true
	}
	if e := readTempPatch(req, &p); e != nil {
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
		return nil, notTeamAdmin("/team/member_update", id)
	}
	members := teamMembers(t)
	found := -1
	for i, m := range members {
		if uid != "" && m.UserID == uid || uid == "" && email != "" && m.UserEmail == email {
			found = i
			break
		}
	}
	if found < 0 || members[found].UserID == "" {
		return nil, badRequest("User id doesn't exist in team table. Data=" + fmt.Sprint(req))
	}
	uid = members[found].UserID
	if role != "" && members[found].Role != role {
		members[found].Role = role
		setMembers(t, members)
		t.UpdatedAt = now
		if err := s.o.Store.PutTeam(ctx, t); err != nil {
			return nil, storeError(err)
		}
		s.setTeam(t.TeamID, t)
	}
	if p.anyField {
		if e := s.patchMemberBudget(ctx, t, uid, p, now); e != nil {
			return nil, e
		}
	}
	out := map[string]any{"team_id": id, "user_id": uid, "user_email": nilIfEmpty(email),
		"max_budget_in_team": p.maxBudget, "tpm_limit": p.tpm, "rpm_limit": p.rpm, "budget_duration": nilIfEmpty(p.duration), "allowed_models": nil}
	if p.setAllowed {
		out["allowed_models"] = p.allowed
	}
	if p.setTemp {
		out[metaTempIncrease], out[metaTempExpiry] = p.tempInc, timeOrNil(p.tempExp)
	}
	return out, nil
}

// patchMemberBudget applies p to a member's budget (LiteLLM's
// upsert_budget_and_membership): its own row in place; else a new row
// copied from the shared default; no limit left: no budget.
func (s *Service) patchMemberBudget(ctx context.Context, t *keystore.Team, userID string, p budgetPatch, now time.Time) *Error {
	mk := keystore.MemberKey(t.TeamID, userID)
	s.mu.RLock()
	cur := s.members[mk]
	s.mu.RUnlock()
	curID := ""
	if cur != nil {
		curID = cur.BudgetID
	}
	def := defaultMemberBudgetID(t)
	var b *keystore.Budget
	if src := s.budget(curID); src != nil {
		cp := *src
		b = &cp
		if curID == def {
			// Copy on write: the default stays the other members'.
			b.BudgetID, b.CreatedAt, b.CreatedBy = uuid4(), now, "default_user_id"
			if p.setDur {
				b.BudgetResetAt = nil
			}
		}
	} else {
		b = &keystore.Budget{BudgetID: uuid4(), CreatedAt: now, CreatedBy: "default_user_id"}
	}
	p.apply(b)
	b.UpdatedAt, b.UpdatedBy = now, "default_user_id"
	ms := &keystore.Membership{TeamID: t.TeamID, UserID: userID}
	if hasLimit(b) {
		if err := s.o.Store.PutBudget(ctx, b); err != nil {
			return storeError(err)
		}
		s.setBudget(b.BudgetID, b)
		ms.BudgetID = b.BudgetID
	} else if cur == nil {
		return nil
	}
	if err := s.o.Store.PutMembership(ctx, ms); err != nil {
		return storeError(err)
	}
	s.setMember(ms, false)
	return nil
}

// memberLimits are a team key's member rpm/tpm (its membership's budget).
func (s *Service) memberLimits(teamID, userID string) (rpm, tpm int64) {
	if teamID == "" || userID == "" {
		return 0, 0
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	m := s.members[keystore.MemberKey(teamID, userID)]
	if m == nil || m.BudgetID == "" {
		return 0, 0
	}
	b := s.budgets[m.BudgetID]
	if b == nil {
		return 0, 0
	}
	return val(b.RPMLimit), val(b.TPMLimit)
}

// memberModels reads a team member's allowed_models (bounded as every list).
func memberModels(v any) ([]string, *Error) {
	l, e := stringList("allowed_models", v)
	if e != nil {
		return nil, e
	}
	if len(l) > maxListItems {
		return nil, badRequest(fmt.Sprintf("allowed_models has more than %d entries", maxListItems))
	}
	return l, nil
}
