package keys

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/llmgate/llmgate/internal/keystore"
	"github.com/llmgate/llmgate/internal/store"
)

// Error is a refusal, in the OpenAI error shape's terms.
type Error struct {
	Status     int
	Type       string
	Code       string
	Param      string
	Message    string
	RetryAfter time.Duration
}

func (e *Error) Error() string { return e.Message }

// AllProxyModels in a key's models allows every model, as in LiteLLM.
const AllProxyModels = "all-proxy-models"

// Grant is what an accepted virtual key carries into the request.
type Grant struct {
	Token    string
	KeyAlias string
	TeamID   string
	UserID   string
	Spend    float64 // before this request
	// Parallel: the request holds one of the key's max_parallel_requests
	// slots; End must release it.
	Parallel bool
	// Headers are the limit headers for the client's response
	// (x-litellm-key-remaining-*; nil when none); AddHeaders adds them with
	// the key's spend and max budget.
	Headers map[string]string
	// key: a virtual key's grant (x-litellm-key-spend); maxBudget with
	// hasMax: x-litellm-key-max-budget.
	key, hasMax bool
	maxBudget   float64
	// leased: the counters whose rpm leases a module view charged (D83).
	leased []string
}

// setHeader sets a limit header.
func (g *Grant) setHeader(name, v string) {
	if g.Headers == nil {
		g.Headers = make(map[string]string, 2)
	}
	g.Headers[name] = v
}

// AddHeaders adds the grant's x-litellm-key-* headers to dst (made when
// nil) and returns it: the key's spend before the request, its max budget,
// and the limit headers.
func (g *Grant) AddHeaders(dst map[string]string) map[string]string {
	if dst == nil {
		dst = make(map[string]string, len(g.Headers)+2)
	}
	if g.key {
		dst["x-litellm-key-spend"] = formatNum(g.Spend)
	}
	if g.hasMax {
		dst["x-litellm-key-max-budget"] = formatNum(g.maxBudget)
	}
	for k, v := range g.Headers {
		dst[k] = v
	}
	return dst
}

// AppendHeaders appends AddHeaders' headers to dst as pairs (the module's
// answer plan: once in its common headers, D108).
func (g *Grant) AppendHeaders(dst [][2]string) [][2]string {
	if g.key {
		dst = append(dst, [2]string{"x-litellm-key-spend", formatNum(g.Spend)})
	}
	if g.hasMax {
		dst = append(dst, [2]string{"x-litellm-key-max-budget", formatNum(g.maxBudget)})
	}
	for k, v := range g.Headers {
		dst = append(dst, [2]string{k, v})
	}
	return dst
}

// DropHeaders deletes from h the headers AddHeaders adds.
func (g *Grant) DropHeaders(h map[string]string) {
	if g.key {
		delete(h, "x-litellm-key-spend")
	}
	if g.hasMax {
		delete(h, "x-litellm-key-max-budget")
	}
	for k := range g.Headers {
		delete(h, k)
	}
}

// Header is one x-litellm-key-* header of the grant ("" when not set).
func (g *Grant) Header(name string) string {
	switch name {
	case "x-litellm-key-spend":
		if g.key {
			return formatNum(g.Spend)
		}
	case "x-litellm-key-max-budget":
		if g.hasMax {
			return formatNum(g.maxBudget)
		}
	default:
		return g.Headers[name]
	}
	return ""
}

// Abbreviate shows a key as LiteLLM's key_name does: sk-...last4.
func Abbreviate(key string) string {
	if len(key) <= 4 {
		return "sk-..."
	}
	return "sk-..." + key[len(key)-4:]
}

// Alias is the model a key's aliases map model to (model itself when none).
func (s *Service) Alias(token, model string) string {
	k := s.lookupKey(token)
	if k == nil || len(k.Aliases) == 0 {
		return model
	}
	if a, ok := k.Aliases[model].(string); ok && a != "" {
		return a
	}
	return model
}

// Check is what a request presents to the checks.
type Check struct {
	Token string // the virtual key's sha256 ("" for the master key)
	// Key is Token's record when the caller found it already (LookupSum);
	// nil: AuthorizeRequest looks it up.
	Key       *keystore.Key
	Presented string   // the key as sent (for LiteLLM's abbreviated param)
	Models    []string // the names the request may match: requested, then its model group
	// Requested and Group are those two names when Models is nil: a slice
	// made by the caller moved to the heap with the Check (D127).
	Requested, Group string
	EndUser          string // the body's `user` field (a customer)
	// Rules and Body: the request checks of enforce_user_param and
	// enforced_params (reqchecks.go); a nil Body is not checked.
	Rules *RequestRules
	Body  []byte
	// Slot is the request's SlotHeader: what the module did with its
	// parallel slots (slots.go; believed only where the module counts them).
	Slot string
	// Caller is a keyless caller's api_key (MasterKeyAlias, JWTCaller):
	// the model group's default per-key limits count it (D136).
	Caller string
}

// Authorize runs LiteLLM's checks for a virtual key (its sha256 token); see
// AuthorizeRequest.
func (s *Service) Authorize(ctx context.Context, token, presented string, models []string) (*Grant, *Error) {
	return s.AuthorizeRequest(ctx, Check{Token: token, Presented: presented, Models: models})
}

// AuthorizeRequest runs LiteLLM's checks in its order: for a virtual key
// blocked, expired, model access (access groups included), key budget,
// per-model budget; then team (blocked, models, budget), the user's budget
// (a personal key), the team member's budget (a team key); then, for every
// request, the end user (blocked, budget, max_end_user_budget); then the
// rpm/tpm/parallel limits of key, user, team and end user. Everything but the
// limits is read from memory; the limits cost one round trip to the
// counters' store per limited entity (Redis, or none in memory). A nil Grant
// and nil Error: an unknown token (c.Token set), or nothing to check.
func (s *Service) AuthorizeRequest(ctx context.Context, c Check) (*Grant, *Error) {
	now := s.now()
	models := c.Models
	var names [2]string
	if models == nil {
		names = [2]string{c.Requested, c.Group}
		models = names[:]
	}
	g := &Grant{Token: c.Token}
	var k *keystore.Key
	var team *keystore.Team
	var user *keystore.User
	if c.Token != "" {
		var spend float64
		var ok bool
		if c.Key != nil && c.Key.Token == c.Token {
			k, spend, ok = c.Key, s.keySpend(c.Token), true
		} else {
			k, spend, ok = s.Lookup(c.Token)
		}
		if !ok {
			return nil, nil
		}
		g.Token = k.Token // a regenerated key's old value counts against the new (grace_period)
		var e *Error
		mb := s.keyMaxBudget(k) // (once: checkKey's and the grant's, D166)
		if team, user, e = s.checkKey(k, spend, mb, c, models, now); e != nil {
			return nil, e
		}
		g.KeyAlias, g.TeamID, g.UserID, g.Spend = k.KeyAlias, k.TeamID, k.UserID, spend
		g.key = true
		if mb != nil {
			g.hasMax, g.maxBudget = true, *mb
		}
	}
	eu, e := s.checkEndUser(c.EndUser, first(models), now)
	if e != nil {
		return nil, e
	}
	if k != nil {
		if e := s.proxyBudgetError(); e != nil {
			return nil, e // litellm_settings.max_budget (proxybudget.go)
		}
	}
	if c.Body != nil {
		if e := CheckBody(c.Rules, k, c.Body); e != nil {
			return nil, e // before any limit counts the request, as LiteLLM's pre-call hooks
		}
	}
	if e := s.limits(ctx, k, team, user, c.EndUser, eu, c.Caller, requestGroup(models), c.Slot, g); e != nil {
		return nil, e
	}
	return g, nil
}

// checkKey is the key's, its team's and its user's checks; mb is the key's
// max budget (keyMaxBudget).
func (s *Service) checkKey(k *keystore.Key, spend float64, mb *float64, c Check, models []string, now time.Time) (*keystore.Team, *keystore.User, *Error) {
	if e := keyRefused(k, c.Presented, now); e != nil {
		return nil, nil, e
	}
	var team *keystore.Team
	var teamSpend float64
	if k.TeamID != "" {
		team, teamSpend, _ = s.team(k.TeamID)
	}
	allowed := k.Models
	if len(allowed) == 0 && team != nil {
		allowed = team.Models
	}
	if !s.modelAllowed(allowed, models) {
		return nil, nil, &Error{Status: 401, Type: "key_model_access_denied", Code: "401", Param: "model",
			Message: fmt.Sprintf("Authentication Error, API Key not allowed to access model. This key can only access models=%s. Tried to access %s",
				pyList(allowed), first(models))}
	}
	if mb != nil && spend >= *mb {
		return nil, nil, budgetError("", spend, *mb)
	}
	// A key's model_max_budget entry without a period: the key's lifetime
	// model_spend; one with a period: its window (modelbudget.go).
	if l, ok := resolveModelBudget(k.ModelMaxBudget, first(models)); ok && l.d == 0 && k.ModelSpend != nil {
		if ms := k.ModelSpend[first(models)]; ms >= l.max {
			return nil, nil, budgetError("", ms, l.max)
		}
	}
	if team != nil {
		if team.Blocked {
			return nil, nil, teamBlocked(team)
		}
		if len(k.Models) > 0 && len(team.Models) > 0 && !s.modelAllowed(team.Models, models) {
			return nil, nil, &Error{Status: 401, Type: "team_model_access_denied", Code: "401", Param: "model",
				Message: fmt.Sprintf("Authentication Error, Team not allowed to access model. Team=%s, Model=%s. Allowed team models = %s",
					team.TeamID, first(models), pyList(team.Models))}
		}
		if e := s.checkMemberModels(team.TeamID, k.UserID, models); e != nil {
			return nil, nil, e
		}
		if team.MaxBudget != nil && teamSpend >= *team.MaxBudget {
			return nil, nil, budgetError("Team="+team.TeamID+" ", teamSpend, *team.MaxBudget)
		}
	}
	var user *keystore.User
	if k.UserID != "" {
		u, us, ok := s.user(k.UserID)
		if ok {
			user = u
		}
		// A personal key counts against the user's budget; a team key
		// against the user's budget within the team (max_budget_in_team).
		if ok && team == nil && u.MaxBudget != nil && us >= *u.MaxBudget {
			return nil, nil, &Error{Status: 400, Type: "budget_exceeded", Code: "400", Param: "None",
				Message: fmt.Sprintf("ExceededBudget: User=%s over budget. Spend=%v, Budget=%v", u.UserID, us, *u.MaxBudget)}
		}
		if team != nil {
			if mb, ms := s.memberBudget(team.TeamID, k.UserID); mb != nil && ms >= *mb {
				return nil, nil, budgetError("User="+k.UserID+" in Team="+team.TeamID+" ", ms, *mb)
			}
		}
	}
	if e := s.checkModelBudgets(k, team, user, first(models), now); e != nil {
		return nil, nil, e
	}
	return team, user, nil
}

// keyRefused is LiteLLM's refusal of a blocked or expired key, before
// any other check.
func keyRefused(k *keystore.Key, presented string, now time.Time) *Error {
	if k.Blocked {
		return &Error{Status: 401, Type: "auth_error", Code: "401", Param: "None",
			Message: "Authentication Error, Key is blocked. Update via `/key/unblock` if you're an admin."}
	}
	if k.Expires != nil && k.Expires.Before(now) {
		return &Error{Status: 401, Type: "expired_key", Code: "401", Param: Abbreviate(presented),
			Message: fmt.Sprintf("Authentication Error - Expired Key. Key Expiry time %s and current time %s",
				k.Expires.UTC().Format("2006-01-02 15:04:05+00:00"), now.UTC().Format("2006-01-02 15:04:05+00:00"))}
	}
	return nil
}

func teamBlocked(team *keystore.Team) *Error {
	return &Error{Status: 401, Type: "team_model_access_denied", Code: "401", Param: "None",
		Message: "Authentication Error, Team=" + team.TeamID + " is blocked. Update via `/team/unblock` if you're an admin."}
}

// CheckRouteKey is the checks of a virtual key on a route that names no
// model (the MCP gateway's, D140): blocked or expired key, blocked team.
// nil for an unknown token (authenticate found it a moment before).
func (s *Service) CheckRouteKey(token, presented string) *Error {
	k, _, ok := s.Lookup(token)
	if !ok {
		return nil
	}
	if e := keyRefused(k, presented, s.now()); e != nil {
		return e
	}
	if k.TeamID != "" {
		if team, _, ok := s.team(k.TeamID); ok && team.Blocked {
			return teamBlocked(team)
		}
	}
	return nil
}

// keyMaxBudget is the key's max_budget, else its budget_id's.
// With LiteLLM's temporary budget increase active it is raised by it
// (tempbudget.go).
func (s *Service) keyMaxBudget(k *keystore.Key) *float64 {
	mb := k.MaxBudget
	if mb == nil {
		if b := s.budget(k.BudgetID); b != nil {
			mb = b.MaxBudget
		}
	}
	if mb != nil {
		if inc := tempIncrease(k, s.now()); inc > 0 {
			v := *mb + inc
			return &v
		}
	}
	return mb
}

// memberBudget is a team member's max_budget_in_team and spend within the team.
func (s *Service) memberBudget(teamID, userID string) (*float64, float64) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	mk := keystore.MemberKey(teamID, userID)
	m, ok := s.members[mk]
	if !ok || m.BudgetID == "" {
		return nil, 0
	}
	b := s.budgets[m.BudgetID]
	if b == nil {
		return nil, 0
	}
	return memberMax(b, s.now()), s.mspnd[mk]
}

func (s *Service) budget(id string) *keystore.Budget {
	if id == "" {
		return nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.budgets[id]
}

// checkEndUser: a blocked customer is refused; one over its budget (its
// budget_id's max_budget, else max_end_user_budget) too. It returns the
// customer's budget (nil: none).
func (s *Service) checkEndUser(id, model string, now time.Time) (*keystore.Budget, *Error) {
	if id == "" {
		return nil, nil
	}
	eu, spend, b := s.endUserBudget(id)
	if eu != nil && eu.Blocked {
		return nil, &Error{Status: 400, Type: "invalid_request_error", Code: "400", Param: "None",
			Message: "User blocked from making LLM API Calls. User=" + id}
	}
	if b != nil && b.MaxBudget != nil && spend > *b.MaxBudget {
		return nil, &Error{Status: 400, Type: "budget_exceeded", Code: "400", Param: "None",
			Message: fmt.Sprintf("ExceededBudget: End User=%s over budget. Spend=%v, Budget=%v", id, spend, *b.MaxBudget)}
	}
	if b != nil && len(b.ModelMaxBudget) > 0 && trackEndUser(id) {
		if e := s.checkModelWindow(winEndUser, id, b.ModelMaxBudget, model, now, func() string { return "LiteLLM End User: " + id }); e != nil {
			return nil, e
		}
	}
	return b, nil
}

// End releases a request's parallel slots (its key's, team's and user's).
func (s *Service) End(ctx context.Context, token string) {
	if s.o.Counters == nil {
		return
	}
	for _, id := range s.parallelIDs(token) {
		_ = s.o.Counters.End(ctx, id)
	}
}

// RecordTokens adds a response's tokens to the key's tpm this minute.
func (s *Service) RecordTokens(ctx context.Context, token string, n int64) {
	s.RecordUsage(ctx, token, "", n)
}

// RecordUsage adds a response's tokens to this minute's tpm of the key, its
// team and user, and the end user, where they have a tpm_limit.
func (s *Service) RecordUsage(ctx context.Context, token, endUser string, n int64) {
	if s.o.Counters == nil || n <= 0 {
		return
	}
	s.recordTokens(ctx, s.tpmIDs(token, "", "", endUser, ""), n)
}

// recordTokens counts n tokens for the tpm_limit counters ids.
func (s *Service) recordTokens(ctx context.Context, ids []string, n int64) {
	for _, id := range ids {
		_, _ = s.o.Counters.Record(ctx, store.Record{DeploymentID: id, Tokens: n, CooldownAfter: -1})
	}
}

func budgetError(who string, spend, maxBudget float64) *Error {
	return &Error{Status: 400, Type: "budget_exceeded", Code: "400", Param: "None",
		Message: fmt.Sprintf("Budget has been exceeded! %sCurrent cost: %s, Max budget: %s", who, pyFloat(spend), pyFloat(maxBudget))}
}

func modelAllowedPlain(allowed, models []string) bool {
	if len(allowed) == 0 || slices.Contains(allowed, AllProxyModels) {
		return true
	}
	for _, m := range models {
		if m == "" {
			continue
		}
		if slices.Contains(allowed, m) {
			return true
		}
		for _, a := range allowed {
			// A wildcard entry (openai/*) allows the models under it.
			if p, ok := strings.CutSuffix(a, "*"); ok && strings.HasPrefix(m, p) {
				return true
			}
		}
	}
	return false
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// pyList prints a list as LiteLLM's messages do: ['a', 'b'].
func pyList(s []string) string {
	q := make([]string, len(s))
	for i, x := range s {
		q[i] = "'" + x + "'"
	}
	return "[" + strings.Join(q, ", ") + "]"
}
