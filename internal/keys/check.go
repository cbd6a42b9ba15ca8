package keys

import (
	"context"
	"fmt"
	"slices"
	"strconv"
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
	// Headers go to the client's response (x-litellm-key-*).
	Headers map[string]string
}

// CounterID is the internal/store id of a key's rpm/tpm/parallel counters.
func CounterID(token string) string { return "key:" + token }

// Abbreviate shows a key as LiteLLM's key_name does: sk-...last4.
func Abbreviate(key string) string {
	if len(key) <= 4 {
		return "sk-..."
	}
	return "sk-..." + key[len(key)-4:]
}

// Alias is the model a key's aliases map model to (model itself when none).
func (s *Service) Alias(token, model string) string {
	k, _, ok := s.Lookup(token)
	if !ok || len(k.Aliases) == 0 {
		return model
	}
	if a, ok := k.Aliases[model].(string); ok && a != "" {
		return a
	}
	return model
}

// Authorize runs LiteLLM's checks for a virtual key (its sha256 token) in
// its order: blocked, expired, model access, key budget, per-model budget,
// team (blocked, models, budget), user budget, then the rpm/tpm/parallel
// limits. models are the names the request may match (the requested name and
// the model group it resolved to). Everything but the limits is read from
// memory; the limits cost one round trip to the counters' store (Redis, or
// none in memory).
func (s *Service) Authorize(ctx context.Context, token, presented string, models []string) (*Grant, *Error) {
	k, spend, ok := s.Lookup(token)
	if !ok {
		return nil, nil
	}
	now := s.now()
	if k.Blocked {
		return nil, &Error{Status: 401, Type: "auth_error", Code: "401", Param: "None",
			Message: "Authentication Error, Key is blocked. Update via `/key/unblock` if you're an admin."}
	}
	if k.Expires != nil && k.Expires.Before(now) {
		return nil, &Error{Status: 401, Type: "expired_key", Code: "401", Param: Abbreviate(presented),
			Message: fmt.Sprintf("Authentication Error - Expired Key. Key Expiry time %s and current time %s",
				k.Expires.UTC().Format("2006-01-02 15:04:05+00:00"), now.UTC().Format("2006-01-02 15:04:05+00:00"))}
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
	if !modelAllowed(allowed, models) {
		return nil, &Error{Status: 401, Type: "key_model_access_denied", Code: "401", Param: "model",
			Message: fmt.Sprintf("Authentication Error, API Key not allowed to access model. This key can only access models=%s. Tried to access %s",
				pyList(allowed), first(models))}
	}
	if k.MaxBudget != nil && spend >= *k.MaxBudget {
		return nil, budgetError("", spend, *k.MaxBudget)
	}
	if mb := modelBudget(k.ModelMaxBudget, models); mb != nil && k.ModelSpend != nil {
		if ms := k.ModelSpend[first(models)]; ms >= *mb {
			return nil, budgetError("", ms, *mb)
		}
	}
	if team != nil {
		if team.Blocked {
			return nil, &Error{Status: 401, Type: "team_model_access_denied", Code: "401", Param: "None",
				Message: "Authentication Error, Team=" + team.TeamID + " is blocked. Update via `/team/unblock` if you're an admin."}
		}
		if len(k.Models) > 0 && len(team.Models) > 0 && !modelAllowed(team.Models, models) {
			return nil, &Error{Status: 401, Type: "team_model_access_denied", Code: "401", Param: "model",
				Message: fmt.Sprintf("Authentication Error, Team not allowed to access model. Team=%s, Model=%s. Allowed team models = %s",
					team.TeamID, first(models), pyList(team.Models))}
		}
		if team.MaxBudget != nil && teamSpend >= *team.MaxBudget {
			return nil, budgetError("Team="+team.TeamID+" ", teamSpend, *team.MaxBudget)
		}
	}
	if k.UserID != "" {
		if u, us, ok := s.user(k.UserID); ok && u.MaxBudget != nil && us >= *u.MaxBudget {
			return nil, budgetError("User="+u.UserID+" ", us, *u.MaxBudget)
		}
	}
	g := &Grant{Token: token, KeyAlias: k.KeyAlias, TeamID: k.TeamID, UserID: k.UserID, Spend: spend,
		Headers: map[string]string{"x-litellm-key-spend": strconv.FormatFloat(spend, 'f', -1, 64)}}
	if k.MaxBudget != nil {
		g.Headers["x-litellm-key-max-budget"] = strconv.FormatFloat(*k.MaxBudget, 'f', -1, 64)
	}
	if e := s.limits(ctx, k, g); e != nil {
		return nil, e
	}
	return g, nil
}

// limits applies rpm_limit and max_parallel_requests (one atomic Begin) and
// tpm_limit (this minute's tokens so far) through the counters' store.
func (s *Service) limits(ctx context.Context, k *keystore.Key, g *Grant) *Error {
	if s.o.Counters == nil {
		return nil
	}
	id := CounterID(k.Token)
	lim := store.Limits{}
	if k.RPMLimit != nil {
		lim.RPM = *k.RPMLimit
	}
	if k.MaxParallelRequests != nil {
		lim.MaxParallel = *k.MaxParallelRequests
	}
	var tpm int64
	if k.TPMLimit != nil {
		st, err := s.o.Counters.Read(ctx, []string{id}, store.ReadOptions{})
		if err == nil {
			tpm = st[id].TPM
		}
		if tpm >= *k.TPMLimit {
			return rateError(k, "tpm", tpm, *k.TPMLimit, s.now())
		}
		g.Headers["x-litellm-key-remaining-tokens"] = strconv.FormatInt(*k.TPMLimit-tpm, 10)
	}
	if lim.RPM == 0 && lim.MaxParallel == 0 {
		return nil
	}
	br, err := s.o.Counters.Begin(ctx, id, lim)
	if err != nil {
		return nil // the counters' store is down: fail open, as the deployment limits do
	}
	if !br.Allowed {
		if br.Reason == "max_parallel_requests" {
			return rateError(k, "max_parallel_requests", br.InFlight, lim.MaxParallel, time.Time{})
		}
		return rateError(k, "rpm", br.RPM, lim.RPM, s.now())
	}
	g.Parallel = true // Begin counted one in flight
	if lim.RPM > 0 {
		g.Headers["x-litellm-key-remaining-requests"] = strconv.FormatInt(max(lim.RPM-br.RPM, 0), 10)
	}
	return nil
}

// End releases a request's parallel slot.
func (s *Service) End(ctx context.Context, token string) {
	if s.o.Counters != nil {
		_ = s.o.Counters.End(ctx, CounterID(token))
	}
}

// RecordTokens adds a response's tokens to the key's tpm this minute.
func (s *Service) RecordTokens(ctx context.Context, token string, n int64) {
	if s.o.Counters == nil || n <= 0 {
		return
	}
	if k, _, ok := s.Lookup(token); !ok || k.TPMLimit == nil {
		return
	}
	_, _ = s.o.Counters.Record(ctx, store.Record{DeploymentID: CounterID(token), Tokens: n, CooldownAfter: -1})
}

func rateError(k *keystore.Key, what string, cur, lim int64, now time.Time) *Error {
	retry := time.Second
	if !now.IsZero() {
		retry = time.Duration(60-now.UTC().Second()) * time.Second // the rate window is the UTC minute
	}
	return &Error{Status: 429, Type: "rate_limit_error", Code: "429", Param: "None", RetryAfter: retry,
		Message: fmt.Sprintf("LiteLLM Rate Limit Handler for rate limit type = key. Crossed TPM / RPM / Max Parallel Request Limit. current %s: %d, %s limit: %d, key=%s",
			what, cur, what, lim, keyLabel(k))}
}

func keyLabel(k *keystore.Key) string {
	if k.KeyAlias != "" {
		return k.KeyAlias
	}
	return k.KeyName
}

func budgetError(who string, spend, maxBudget float64) *Error {
	return &Error{Status: 400, Type: "budget_exceeded", Code: "400", Param: "None",
		Message: fmt.Sprintf("Budget has been exceeded! %sCurrent cost: %v, Max budget: %v", who, spend, maxBudget)}
}

func modelAllowed(allowed, models []string) bool {
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

// modelBudget is model_max_budget's limit for the requested model, if any:
// {"gpt-4o": {"budget_limit": 1.0, "time_period": "1d"}} or {"gpt-4o": 1.0}.
func modelBudget(mmb map[string]any, models []string) *float64 {
	if len(mmb) == 0 {
		return nil
	}
	v, ok := mmb[first(models)]
	if !ok {
		return nil
	}
	switch x := v.(type) {
	case float64:
		return &x
	case map[string]any:
		if f, ok := x["budget_limit"].(float64); ok {
			return &f
		}
		if f, ok := x["max_budget"].(float64); ok {
			return &f
		}
	}
	return nil
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
