package keys

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/llmgate/llmgate/internal/keystore"
)

// Caller is who calls a management route.
type Caller struct {
	Admin bool   // the master key
	Token string // the caller's virtual key token, when not Admin
	// MasterHash is the master key's sha256 (hex) when Admin; ChangedBy is
	// the LiteLLM-Changed-By header (audit.go).
	MasterHash, ChangedBy string
}

// Bounds on what a client may send.
const (
	maxListItems = 1000 // models, tags, keys in one request
	maxPageSize  = 100
	maxLimit     = 1e9 // rpm/tpm/parallel limits
	maxMoney     = 1e12
)

// IsModelRoute reports whether path is /model/new, /model/update or /model/delete.
func IsModelRoute(path string) bool {
	name, ok := route(path)
	return ok && strings.HasPrefix(name, "model/")
}

// IsRoute reports whether path is a management route this package serves.
func IsRoute(path string) bool {
	_, ok := route(path)
	return ok
}

// route maps a path to its handler name ("/key/{key}/regenerate" → regenerate).
func route(path string) (string, bool) {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	path = strings.TrimRight(path, "/")
	switch path {
	case "/key/generate", "/key/update", "/key/delete", "/key/info", "/key/list", "/key/regenerate", "/key/block", "/key/unblock",
		"/key/service-account/generate":
		return strings.TrimPrefix(path, "/key/"), true
	}
	if rest, ok := strings.CutPrefix(path, "/key/"); ok && strings.HasSuffix(rest, "/regenerate") && strings.Count(rest, "/") == 1 {
		return "regenerate", true
	}
	if r, ok := strings.CutPrefix(path, "/team/"); ok && teamRoutes[r] {
		return "team/" + r, true
	}
	if _, _, ok := teamCallbackPath(path); ok {
		return "team/callback", true // teamcallbacks.go
	}
	if r, ok := strings.CutPrefix(path, "/user/"); ok && userRoutes[r] {
		return "user/" + r, true
	}
	if r, ok := strings.CutPrefix(path, "/customer/"); ok && customerRoutes[r] {
		return "customer/" + r, true
	}
	if r, ok := strings.CutPrefix(path, "/end_user/"); ok && customerRoutes[r] {
		return "customer/" + r, true
	}
	if r, ok := strings.CutPrefix(path, "/budget/"); ok && budgetRoutes[r] {
		return "budget/" + r, true
	}
	if r, ok := strings.CutPrefix(path, "/model/"); ok && modelRoutes[r] {
		return "model/" + r, true
	}
	if spendRoutes[path] {
		return "spend" + path, true
	}
	if path == uiSettingsRoute {
		return "sso/ui_settings", true // uisettings.go
	}
	if isAuditPath(path) {
		return "audit", true // audit.go
	}
	return "", false
}

// getRoutes are the management routes read with GET (the others are POST).
var getRoutes = map[string]bool{"info": true, "list": true, "team/info": true, "team/list": true, "user/info": true, "user/list": true,
	"customer/info": true, "customer/list": true, "budget/list": true, "sso/ui_settings": true}

// handle serves one management request (Handle, audit.go, wraps it).
func (s *Service) handle(ctx context.Context, method, rawPath string, body []byte, c Caller) (int, []byte) {
	if method == "POST" {
		defer s.viewChanged(true) // the module's key table (D57)
		// Its store reads and cache installs do not straddle a spend
		// batch's commit (installMu).
		s.installMu.RLock()
		defer s.installMu.RUnlock()
	}
	name, _ := route(rawPath)
	path, q := rawPath, url.Values{}
	if i := strings.IndexByte(rawPath, '?'); i >= 0 {
		path = rawPath[:i]
		q, _ = url.ParseQuery(rawPath[i+1:])
	}
	if id, kind, ok := teamCallbackPath(path); ok {
		return s.handleTeamCallback(ctx, method, id, kind, body, c)
	}
	get := getRoutes[name]
	if get && method != "GET" || !get && method != "POST" {
		want := "POST"
		if get {
			want = "GET"
		}
		return reply(nil, &Error{Status: 405, Type: "invalid_request_error", Code: "405", Message: "Method Not Allowed: " + method + " (this route accepts " + want + ")"})
	}
	if name == "sso/ui_settings" {
		return reply(s.uiSettings(), nil) // any caller with a valid key, as LiteLLM's
	}
	if !c.Admin && name != "info" && name != "team/member_add" && name != "team/member_delete" && name != "team/member_update" {
		return reply(nil, &Error{Status: 401, Type: "auth_error", Code: "401", Param: "None",
			Message: "Authentication Error, Only proxy admin can be used to generate, delete, update info for new keys/users/teams. Route=" + path})
	}
	var req map[string]any
	if !get {
		if len(strings.TrimSpace(string(body))) == 0 {
			body = []byte("{}")
		}
		if err := json.Unmarshal(body, &req); err != nil || req == nil {
			return reply(nil, badRequest("Invalid JSON in request body"))
		}
	}
	switch name {
	case "team/member_add":
		return reply(s.memberAdd(ctx, req, c))
	case "team/member_delete":
		return reply(s.memberDelete(ctx, req, c))
	case "team/member_update":
		return reply(s.memberUpdate(ctx, req, c))
	}
	if r, ok := strings.CutPrefix(name, "team/"); ok {
		return reply(s.handleTeam(ctx, r, req, q))
	}
	if r, ok := strings.CutPrefix(name, "customer/"); ok {
		return reply(s.handleCustomer(ctx, r, req, q))
	}
	if r, ok := strings.CutPrefix(name, "budget/"); ok {
		return reply(s.handleBudget(ctx, r, req))
	}
	if r, ok := strings.CutPrefix(name, "model/"); ok {
		return reply(s.handleModel(ctx, r, req))
	}
	if name == "spend/global/spend/end_users" {
		return reply(s.globalSpendEndUsers(ctx, req))
	}
	if r, ok := strings.CutPrefix(name, "spend/"); ok {
		return reply(s.handleSpend(ctx, "/"+r, q))
	}
	if r, ok := strings.CutPrefix(name, "user/"); ok {
		return reply(s.handleUser(ctx, r, req, q))
	}
	switch name {
	case "generate":
		return reply(s.generateRoute(ctx, req))
	case "service-account/generate":
		return reply(s.serviceAccountGenerate(ctx, req)) // serviceaccount.go
	case "update":
		return reply(s.update(ctx, req))
	case "delete":
		return reply(s.deleteKeys(ctx, req))
	case "info":
		return reply(s.info(q.Get("key"), c))
	case "list":
		return reply(s.list(q))
	case "regenerate":
		if k, ok := strings.CutSuffix(strings.TrimPrefix(strings.TrimRight(path, "/"), "/key/"), "/regenerate"); ok {
			if dk, err := url.PathUnescape(k); err == nil {
				req["key"] = dk
			}
		}
		return reply(s.regenerate(ctx, req))
	case "block", "unblock":
		return reply(s.setBlocked(ctx, req, name == "block"))
	}
	return reply(nil, &Error{Status: 404, Type: "not_found_error", Code: "404", Message: "Route not found: " + path})
}

func reply(v any, e *Error) (int, []byte) {
	if e != nil {
		b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": e.Message, "type": e.Type, "param": e.Param, "code": e.Code}})
		return e.Status, b
	}
	b, err := json.Marshal(v)
	if err != nil {
		return reply(nil, &Error{Status: 500, Type: "internal_server_error", Code: "500", Message: "cannot encode the reply"})
	}
	return 200, b
}

func badRequest(msg string) *Error {
	return &Error{Status: 400, Type: "invalid_request_error", Code: "400", Param: "None", Message: msg}
}

func storeError(err error) *Error {
	if errors.Is(err, keystore.ErrNotFound) {
		return &Error{Status: 404, Type: "not_found_error", Code: "404", Message: "Key not found"}
	}
	// Never the database's own text: it may name hosts or credentials.
	return &Error{Status: 500, Type: "internal_server_error", Code: "500", Message: "the key store did not answer; try again"}
}

// minCustomKey is LiteLLM's MINIMUM_CUSTOM_KEY_LENGTH (a new_key's minimum).
const minCustomKey = 16

// tokenOf is the stored token for a key as a client names it: a key
// ("sk-...") is hashed; anything else is taken as the token itself, as
// LiteLLM's _hash_token_if_needed does.
func tokenOf(k string) string {
	if strings.HasPrefix(k, "sk-") {
		return keystore.HashKey(k)
	}
	return k
}

// newKey is "sk-" and 16 random bytes, URL-safe base64, as LiteLLM makes them.
func newKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "sk-" + base64.RawURLEncoding.EncodeToString(b[:])
}

// fields reads the key fields of a generate/update/regenerate body into k;
// only the fields present change.
func (s *Service) fields(req map[string]any, k *keystore.Key) *Error {
	now := s.now().UTC()
	for name, v := range req {
		var e *Error
		switch name {
		case "key_alias":
			k.KeyAlias, e = optString(name, v)
		case "models":
			k.Models, e = stringList(name, v)
		case "tags":
			var tags []string
			if tags, e = stringList(name, v); e == nil {
				if k.Metadata == nil {
					k.Metadata = map[string]any{}
				}
				k.Metadata["tags"] = tags
			}
		case "guardrails":
			// LiteLLM keeps a key's guardrails in its metadata (D139).
			var gs []string
			if gs, e = stringList(name, v); e == nil {
				if k.Metadata == nil {
					k.Metadata = map[string]any{}
				}
				k.Metadata["guardrails"] = gs
			}
		case "user_id":
			k.UserID, e = optString(name, v)
		case "team_id":
			k.TeamID, e = optString(name, v)
		case "budget_id":
			if k.BudgetID, e = optString(name, v); e == nil && k.BudgetID != "" && s.budget(k.BudgetID) == nil {
				e = badRequest(fmt.Sprintf("budget_id=%s does not exist: create it with /budget/new", k.BudgetID))
			}
		case "metadata":
			var md map[string]any
			if v == nil && k.Metadata[metaServiceAccountID] != nil {
				e = reservedMetadataChanged()
			} else if md, e = object(name, v); e == nil {
				e = keepReservedMetadata(k.Metadata, md)
			}
			if e == nil {
				md = s.encryptLoggingVars(md) // logging credentials at rest, as LiteLLM (D74)
				for _, f := range [...]string{"tags", "guardrails"} {
					if v, ok := k.Metadata[f]; ok && md != nil {
						if _, has := md[f]; !has {
							md[f] = v
						}
					}
				}
				k.Metadata = md
			}
		case "aliases":
			k.Aliases, e = object(name, v)
		case "model_max_budget":
			k.ModelMaxBudget, e = object(name, v)
		case "blocked":
			if v != nil {
				b, ok := v.(bool)
				if !ok {
					e = badRequest(name + " must be true or false")
				}
				k.Blocked = b
			}
		case "max_budget":
			k.MaxBudget, e = optNumber(name, v, maxMoney)
		case "rpm_limit":
			k.RPMLimit, e = optInt(name, v)
		case "tpm_limit":
			k.TPMLimit, e = optInt(name, v)
		case "max_parallel_requests":
			k.MaxParallelRequests, e = optInt(name, v)
		case "duration":
			_, k.Expires, e = optEnd(name, v, now, EndOf)
		case "budget_duration":
			k.BudgetDuration, k.BudgetResetAt, e = optPeriod(name, v, now)
		case "spend":
			var sp *float64
			if sp, e = optNumber(name, v, maxMoney); e == nil && sp != nil {
				k.Spend = *sp
			}
		}
		if e != nil {
			return e
		}
	}
	return tempFields(req, k)
}

func optString(name string, v any) (string, *Error) {
	if v == nil {
		return "", nil
	}
	s, ok := v.(string)
	if !ok {
		return "", badRequest(name + " must be a string")
	}
	if len(s) > 1024 {
		return "", badRequest(name + " is longer than 1024 characters")
	}
	return s, nil
}

func stringList(name string, v any) ([]string, *Error) {
	if v == nil {
		return []string{}, nil
	}
	l, ok := v.([]any)
	if !ok {
		return nil, badRequest(name + " must be a list of strings")
	}
	if len(l) > maxListItems {
		return nil, badRequest(fmt.Sprintf("%s has more than %d entries", name, maxListItems))
	}
	out := make([]string, 0, len(l))
	for _, x := range l {
		s, ok := x.(string)
		if !ok {
			return nil, badRequest(name + " must be a list of strings")
		}
		out = append(out, s)
	}
	return out, nil
}

func object(name string, v any) (map[string]any, *Error) {
	if v == nil {
		return map[string]any{}, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, badRequest(name + " must be an object")
	}
	return m, nil
}

func optNumber(name string, v any, limit float64) (*float64, *Error) {
	if v == nil {
		return nil, nil
	}
	f, ok := v.(float64)
	if !ok || math.IsNaN(f) || f < 0 || f > limit {
		return nil, badRequest(fmt.Sprintf("%s must be a number between 0 and %g", name, limit))
	}
	return &f, nil
}

// optPeriod reads a budget_duration such as "30d" and the time its first
// period ends (NextReset); null clears both.
func optPeriod(name string, v any, now time.Time) (string, *time.Time, *Error) {
	return optEnd(name, v, now, NextReset)
}

// optEnd reads a LiteLLM duration and the time end says it ends from now;
// null clears both.
func optEnd(name string, v any, now time.Time, end func(time.Time, string) (time.Time, error)) (string, *time.Time, *Error) {
	if v == nil {
		return "", nil, nil
	}
	ds, ok := v.(string)
	if !ok {
		return "", nil, badRequest(name + " must be a string such as \"30d\"")
	}
	at, err := end(now, ds)
	if err != nil {
		return "", nil, badRequest(err.Error())
	}
	return ds, &at, nil
}

func optInt(name string, v any) (*int64, *Error) {
	if v == nil {
		return nil, nil
	}
	f, ok := v.(float64)
	if !ok || f != math.Trunc(f) || f < 0 || f > maxLimit {
		return nil, badRequest(fmt.Sprintf("%s must be a whole number between 0 and %g", name, float64(maxLimit)))
	}
	n := int64(f)
	return &n, nil
}

// keyView is a key as /key/info, /key/list and the other routes show it
// (LiteLLM's LiteLLM_VerificationToken fields).
func keyView(k *keystore.Key, spend float64, withToken bool, b *keystore.Budget) map[string]any {
	m := map[string]any{
		"key_name": nilIfEmpty(k.KeyName), "key_alias": nilIfEmpty(k.KeyAlias), "spend": spend, "expires": timeOrNil(k.Expires),
		"models": nonNil(k.Models), "aliases": mapOrEmpty(k.Aliases), "config": map[string]any{}, "user_id": nilIfEmpty(k.UserID),
		"team_id": nilIfEmpty(k.TeamID), "permissions": map[string]any{}, "max_parallel_requests": k.MaxParallelRequests,
		"metadata": mapOrEmpty(k.Metadata), "blocked": k.Blocked, "tpm_limit": k.TPMLimit, "rpm_limit": k.RPMLimit,
		"max_budget": k.MaxBudget, "budget_duration": nilIfEmpty(k.BudgetDuration), "budget_reset_at": timeOrNil(k.BudgetResetAt),
		"allowed_cache_controls": []string{}, "model_spend": mapOrEmptyF(k.ModelSpend), "model_max_budget": mapOrEmpty(k.ModelMaxBudget),
		"created_at": k.CreatedAt.UTC().Format(time.RFC3339Nano),
		"updated_at": k.UpdatedAt.UTC().Format(time.RFC3339Nano), "created_by": nilIfEmpty(k.CreatedBy), "updated_by": nilIfEmpty(k.UpdatedBy),
	}
	if tags, ok := k.Metadata["tags"]; ok {
		m["tags"] = tags
	}
	m["budget_id"], m["soft_budget"], m["litellm_budget_table"] = nilIfEmpty(k.BudgetID), nil, nil
	m["soft_budget_cooldown"] = k.SoftBudgetCooldown
	if b != nil {
		m["soft_budget"], m["litellm_budget_table"] = b.SoftBudget, budgetView(b)
	}
	if withToken {
		m["token"] = k.Token
	}
	return m
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func timeOrNil(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func mapOrEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func mapOrEmptyF(m map[string]float64) map[string]float64 {
	if m == nil {
		return map[string]float64{}
	}
	return m
}

// generateRoute is /key/generate: the config's key-generation settings
// (keygen.go), then generate. /user/new's key skips them, as LiteLLM's.
func (s *Service) generateRoute(ctx context.Context, req map[string]any) (any, *Error) {
	if e := serviceAccountNeedsTeam(req, ""); e != nil {
		return nil, e
	}
	g := s.keyGenSettings()
	if e := s.keyGenerationCheck(req, g); e != nil {
		return nil, e
	}
	applyKeyDefaults(req, g.Defaults)
	if e := checkUpperBounds(req, g.Upper, true, s.now()); e != nil {
		return nil, e
	}
	return s.generate(ctx, req)
}

// generate makes a key.
func (s *Service) generate(ctx context.Context, req map[string]any) (any, *Error) {
	now := s.now().UTC()
	k := &keystore.Key{Models: []string{}, Aliases: map[string]any{}, Metadata: map[string]any{}, ModelMaxBudget: map[string]any{},
		CreatedAt: now, UpdatedAt: now, CreatedBy: "default_user_id", UpdatedBy: "default_user_id"}
	if e := s.fields(req, k); e != nil {
		return nil, e
	}
	if e := s.keySoftBudget(ctx, req, k); e != nil {
		return nil, e
	}
	raw := newKey()
	if v, ok := req["key"]; ok && v != nil {
		custom, ok := v.(string)
		if !ok || !strings.HasPrefix(custom, "sk-") || len(custom) < 8 || len(custom) > 256 {
			return nil, badRequest("key must be a string starting with 'sk-', 8 to 256 characters")
		}
		raw = custom
	}
	k.Token = keystore.HashKey(raw)
	k.KeyName = Abbreviate(raw)
	if _, _, exists := s.Lookup(k.Token); exists {
		return nil, badRequest("Unable to create key: a key with this value already exists")
	}
	if k.KeyAlias != "" && s.aliasTaken(k.KeyAlias, "") {
		return nil, badRequest("Unique key aliases across all keys are required, duplicate key alias: " + k.KeyAlias)
	}
	if err := s.o.Store.PutKey(ctx, k); err != nil {
		return nil, storeError(err)
	}
	s.setKey(k.Token, k)
	s.changed(k.Token)
	out := keyView(k, k.Spend, false, s.budget(k.BudgetID))
	out["key"], out["token"], out["token_id"] = raw, raw, k.Token
	return out, nil
}

func (s *Service) aliasTaken(alias, except string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for t, k := range s.keys {
		if t != except && k.KeyAlias == alias {
			return true
		}
	}
	return false
}

// current reads a key from the store (not the cache: management sees the
// latest row): by "key" (a key or its token), else, as LiteLLM's
// /key/update allows, by a unique "key_alias" (byAlias).
func (s *Service) current(ctx context.Context, req map[string]any, byAlias bool) (*keystore.Key, string, *Error) {
	v, _ := req["key"].(string)
	if v == "" && byAlias {
		alias, _ := req["key_alias"].(string)
		if alias == "" {
			return nil, "", &Error{Status: 400, Type: "bad_request_error", Code: "400", Param: "key", Message: "either key or key_alias must be provided"}
		}
		var found []string
		s.mu.RLock()
		for t, k := range s.keys {
			if k.KeyAlias == alias {
				found = append(found, t)
			}
		}
		s.mu.RUnlock()
		switch len(found) {
		case 0:
			return nil, "", &Error{Status: 404, Type: "not_found_error", Code: "404", Param: "key_alias", Message: "Key not found. No key with key_alias='" + alias + "'."}
		case 1:
			v = found[0]
		default:
			return nil, "", &Error{Status: 400, Type: "bad_request_error", Code: "400", Param: "key_alias",
				Message: "Multiple keys share key_alias='" + alias + "', so it cannot be used as an identifier."}
		}
	}
	if v == "" {
		return nil, "", badRequest("key is required")
	}
	k, err := s.o.Store.GetKey(ctx, tokenOf(v))
	if errors.Is(err, keystore.ErrNotFound) {
		return nil, v, &Error{Status: 404, Type: "not_found_error", Code: "404", Param: "key", Message: "Key not found."}
	}
	if err != nil {
		return nil, v, storeError(err)
	}
	return k, v, nil
}

// update is /key/update: the fields given change, the others stay.
func (s *Service) update(ctx context.Context, req map[string]any) (any, *Error) {
	k, given, e := s.current(ctx, req, true)
	if e != nil {
		return nil, e
	}
	delete(req, "key")
	if e := serviceAccountNeedsTeam(req, k.TeamID); e != nil {
		return nil, e
	}
	if e := checkUpperBounds(req, s.keyGenSettings().Upper, false, s.now()); e != nil {
		return nil, e
	}
	if e := s.fields(req, k); e != nil {
		return nil, e
	}
	if e := s.keySoftBudget(ctx, req, k); e != nil {
		return nil, e
	}
	if k.KeyAlias != "" && s.aliasTaken(k.KeyAlias, k.Token) {
		return nil, badRequest("Unique key aliases across all keys are required, duplicate key alias: " + k.KeyAlias)
	}
	k.UpdatedAt = s.now().UTC()
	if err := s.o.Store.PutKey(ctx, k); err != nil {
		return nil, storeError(err)
	}
	s.setKey(k.Token, k)
	s.changed(k.Token)
	_, spend, _ := s.Lookup(k.Token)
	out := keyView(k, spend, true, s.budget(k.BudgetID))
	out["key"] = given
	return out, nil
}

// deleteKeys is /key/delete: {"keys": [...]} or {"key_aliases": [...]}.
func (s *Service) deleteKeys(ctx context.Context, req map[string]any) (any, *Error) {
	given, e := stringList("keys", req["keys"])
	if e != nil {
		return nil, e
	}
	aliases, e := stringList("key_aliases", req["key_aliases"])
	if e != nil {
		return nil, e
	}
	var tokens []string
	for _, k := range given {
		tokens = append(tokens, tokenOf(k))
	}
	if len(aliases) > 0 {
		s.mu.RLock()
		for t, k := range s.keys {
			for _, a := range aliases {
				if k.KeyAlias == a {
					tokens = append(tokens, t)
					given = append(given, t)
				}
			}
		}
		s.mu.RUnlock()
	}
	if len(tokens) == 0 {
		return nil, &Error{Status: 404, Type: "not_found_error", Code: "404", Message: "No keys found"}
	}
	deleted := []string{}
	for i, t := range tokens {
		err := s.o.Store.DeleteKey(ctx, t)
		if errors.Is(err, keystore.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, storeError(err)
		}
		s.setKey(t, nil)
		s.changed(t)
		deleted = append(deleted, given[i])
	}
	if len(deleted) == 0 {
		return nil, &Error{Status: 404, Type: "not_found_error", Code: "404", Message: "No keys found"}
	}
	return map[string]any{"deleted_keys": deleted}, nil
}

// info is /key/info?key=…; without key, the caller's own key. A virtual key
// may read only itself.
func (s *Service) info(given string, c Caller) (any, *Error) {
	token := tokenOf(given)
	if given == "" {
		if c.Admin {
			return nil, badRequest("key is required (?key=sk-...)")
		}
		token = c.Token
	}
	if !c.Admin && token != c.Token {
		return nil, &Error{Status: 403, Type: "auth_error", Code: "403", Param: "key",
			Message: "Authentication Error, a key can only read its own /key/info"}
	}
	k, spend, ok := s.Lookup(token)
	if !ok {
		return nil, &Error{Status: 404, Type: "not_found_error", Code: "404", Param: "key", Message: "Key not found in database"}
	}
	out := keyView(k, spend, false, s.budget(k.BudgetID))
	if u := s.modelBudgetUsage(winKey, k.Token, k.ModelMaxBudget); u != nil {
		out["model_max_budget_usage"] = u
	}
	if given == "" {
		given = token
	}
	return map[string]any{"key": given, "info": out}, nil
}

// list is /key/list: page, size, user_id, team_id, key_alias,
// return_full_object.
func (s *Service) list(q url.Values) (any, *Error) {
	page, size := 1, 10
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1e6 {
			return nil, badRequest("page must be a whole number ≥ 1")
		}
		page = n
	}
	if v := q.Get("size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			return nil, badRequest(fmt.Sprintf("size must be a whole number between 1 and %d", maxPageSize))
		}
		size = n
	}
	full := q.Get("return_full_object") == "true"
	type row struct {
		k     *keystore.Key
		spend float64
	}
	var rows []row
	s.mu.RLock()
	for t, k := range s.keys {
		if u := q.Get("user_id"); u != "" && k.UserID != u {
			continue
		}
		if tm := q.Get("team_id"); tm != "" && k.TeamID != tm {
			continue
		}
		if a := q.Get("key_alias"); a != "" && k.KeyAlias != a {
			continue
		}
		rows = append(rows, row{k, s.spend[t]})
	}
	s.mu.RUnlock()
	sortRows(rows, func(a, b row) bool {
		if !a.k.CreatedAt.Equal(b.k.CreatedAt) {
			return a.k.CreatedAt.After(b.k.CreatedAt)
		}
		return a.k.Token < b.k.Token
	})
	total := len(rows)
	pages := (total + size - 1) / size
	lo := min((page-1)*size, total)
	hi := min(lo+size, total)
	keys := []any{}
	for _, r := range rows[lo:hi] {
		if full {
			keys = append(keys, keyView(r.k, r.spend, true, s.budget(r.k.BudgetID)))
		} else {
			keys = append(keys, r.k.Token)
		}
	}
	return map[string]any{"keys": keys, "total_count": total, "current_page": page, "total_pages": pages}, nil
}

// regenerate is /key/regenerate and /key/{key}/regenerate: a new key value
// for the same record (spend, limits kept), optionally with field changes.
func (s *Service) regenerate(ctx context.Context, req map[string]any) (any, *Error) {
	v, _ := req["key"].(string)
	if v == "" {
		return nil, badRequest("No key passed in.")
	}
	if ms := s.modelSettings(); isMasterKey(v, ms.MasterKey) {
		return s.rotateMasterKey(ctx, req, ms) // masterkey.go
	}
	k, given, e := s.current(ctx, req, false)
	if e != nil {
		if e.Status == 404 {
			e.Message, e.Param = "Key "+given+" not found.", "None"
		}
		return nil, e
	}
	delete(req, "key")
	old := k.Token
	raw := newKey()
	if v, ok := req["new_key"]; ok && v != nil {
		custom, ok := v.(string)
		switch {
		case !ok || !strings.HasPrefix(custom, "sk-"):
			return nil, badRequest("New key must start with 'sk-'. This is to distinguish a key hash (used by litellm for logging / internal logic) from the actual key.")
		case len(custom) < minCustomKey:
			return nil, badRequest(fmt.Sprintf("New key must be at least %d characters long.", minCustomKey))
		case len(custom) > 256:
			return nil, badRequest("New key must be at most 256 characters long.")
		}
		raw = custom
	}
	if e := checkUpperBounds(req, s.keyGenSettings().Upper, false, s.now()); e != nil {
		return nil, e
	}
	if e := s.fields(req, k); e != nil {
		return nil, e
	}
	if e := s.keySoftBudget(ctx, req, k); e != nil {
		return nil, e
	}
	grace := s.gracePeriod(req)
	k.Token, k.KeyName, k.UpdatedAt = keystore.HashKey(raw), Abbreviate(raw), s.now().UTC()
	if err := s.o.Store.RekeyKey(ctx, old, k.Token); err != nil {
		return nil, storeError(err)
	}
	s.deprecate(ctx, old, k.Token, grace)
	if err := s.o.Store.PutKey(ctx, k); err != nil {
		return nil, storeError(err)
	}
	stored, err := s.o.Store.GetKey(ctx, k.Token)
	if err != nil {
		return nil, storeError(err)
	}
	s.setKey(old, nil)
	s.setKey(k.Token, stored)
	s.changed(old)
	s.changed(k.Token)
	_, spend, _ := s.Lookup(k.Token)
	out := keyView(stored, spend, false, s.budget(stored.BudgetID))
	out["key"], out["token"], out["token_id"] = raw, raw, k.Token
	return out, nil
}

// setBlocked is /key/block and /key/unblock.
func (s *Service) setBlocked(ctx context.Context, req map[string]any, blocked bool) (any, *Error) {
	k, _, e := s.current(ctx, req, false)
	if e != nil {
		return nil, e
	}
	k.Blocked, k.UpdatedAt = blocked, s.now().UTC()
	if err := s.o.Store.PutKey(ctx, k); err != nil {
		return nil, storeError(err)
	}
	s.setKey(k.Token, k)
	s.changed(k.Token)
	_, spend, _ := s.Lookup(k.Token)
	return keyView(k, spend, true, s.budget(k.BudgetID)), nil
}
