package jwtauth

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/llmgate/llmgate/config"
)

// MaxTokenBytes bounds a token: a longer one is refused before it is
// decoded.
const MaxTokenBytes = 16 << 10

// maxClaimID bounds a team, user or end-user id read from a claim.
const maxClaimID = 256

// algorithms are LiteLLM's auth_jwt algorithms: asymmetric only (an HS*
// token is refused, so a public key can never serve as an HMAC secret).
var algorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

// Error is a refusal: Status 401 or 403 and LiteLLM's message (the proxy's
// "Authentication Error, " prefix included where LiteLLM adds it).
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string { return e.Message }

func authError(format string, args ...any) *Error {
	return &Error{Status: 401, Message: "Authentication Error, " + fmt.Sprintf(format, args...)}
}

// Principal is who a valid token says the caller is.
type Principal struct {
	// Admin: the token's scopes hold admin_jwt_scope.
	Admin bool
	// TeamID, UserID and EndUserID are read from the configured claims
	// (team_id_default when the token names no team).
	TeamID, UserID, EndUserID string
	// UpsertUser is user_id_upsert: a UserID unknown to the key store is
	// accepted.
	UpsertUser bool
}

// Verifier checks tokens against a KeySet's cached keys and applies
// litellm_jwtauth's rules. It is safe for concurrent use and never calls
// the network.
type Verifier struct {
	cfg    config.JWTAuth
	keys   *KeySet
	parser *jwt.Parser
	admin  *Routes
	team   *Routes
	now    func() time.Time
	cache  verifiedCache
}

// NewVerifier is a verifier for cfg over keys.
func NewVerifier(cfg config.JWTAuth, keys *KeySet) *Verifier {
	v := &Verifier{cfg: cfg, keys: keys, now: time.Now,
		admin: NewRoutes(cfg.AdminAllowedRoutes), team: NewRoutes(cfg.TeamAllowedRoutes)}
	opts := []jwt.ParserOption{jwt.WithValidMethods(algorithms), jwt.WithIssuedAt(), jwt.WithTimeFunc(func() time.Time { return v.now() })}
	if cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(cfg.Audience))
	}
	v.parser = jwt.NewParser(opts...)
	return v
}

// IsJWT is LiteLLM's is_jwt: three dot-separated parts.
func IsJWT(token string) bool { return strings.Count(token, ".") == 2 }

var errNoKey = errors.New("no matching public key")

// Authenticate verifies token and resolves its caller for route (the
// request path without its query), in LiteLLM's order: signature and
// claims, admin by scope (then admin_allowed_routes), else the team, user
// and end user from their claims (team_allowed_routes when a team is named).
// A token verified before (while the key set is unchanged, until its exp,
// at most CacheFor) is not verified again (verified.go).
func (v *Verifier) Authenticate(token, route string) (Principal, *Error) {
	if len(token) > MaxTokenBytes {
		return Principal{}, authError("Validation fails: the token is longer than %d bytes", MaxTokenBytes)
	}
	p, ok := v.cache.get(token, v.keys.generation(), v.now())
	if !ok {
		var exp time.Time
		var e *Error
		if p, exp, e = v.verify(token); e != nil {
			return Principal{}, e
		}
		v.cache.put(token, p, exp, v.keys.generation(), v.now())
	}
	if p.Admin {
		if !v.admin.Has(route) {
			return Principal{}, authError("Admin not allowed to access this route. Route=%s, Allowed Routes=%s", route, v.admin.Actual())
		}
		return p, nil
	}
	if p.TeamID != "" && !v.team.Has(route) {
		return Principal{}, authError("Team not allowed to access this route. Route=%s, Allowed Routes=%s", route, v.team.Actual())
	}
	return p, nil
}

// verify checks the token's signature and claims against the cached keys
// and maps its claims to a principal; exp is its expiry (zero: none).
func (v *Verifier) verify(token string) (Principal, time.Time, *Error) {
	var kid string
	var hasKid bool
	claims := jwt.MapClaims{}
	_, err := v.parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		if s, ok := t.Header["kid"].(string); ok {
			kid, hasKid = s, true
		}
		if k := v.keys.find(kid, hasKid); k != nil {
			return k, nil
		}
		v.keys.askRefresh() // a key the provider added since the last fetch
		return nil, errNoKey
	})
	switch {
	case err == nil:
	case errors.Is(err, errNoKey):
		return Principal{}, time.Time{}, authError("No matching public key found. keys=%s, kid=%s", pyList(v.keys.URLs()), pyStr(kid, hasKid))
	case errors.Is(err, jwt.ErrTokenExpired):
		return Principal{}, time.Time{}, authError("Token Expired")
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return Principal{}, time.Time{}, authError("Validation fails: Signature verification failed")
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return Principal{}, time.Time{}, authError("Validation fails: Audience doesn't match")
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return Principal{}, time.Time{}, authError("Validation fails: The token is not yet valid")
	default:
		return Principal{}, time.Time{}, authError("Validation fails: %s", err.Error())
	}
	var exp time.Time
	if e, err := claims.GetExpirationTime(); err == nil && e != nil {
		exp = e.Time
	}
	if v.isAdmin(claims) {
		return Principal{Admin: true, UserID: v.userID(claims)}, exp, nil
	}
	p := Principal{UserID: v.userID(claims), UpsertUser: v.cfg.UserIDUpsert}
	if v.cfg.EndUserIDField != "" {
		p.EndUserID = claimID(claims, v.cfg.EndUserIDField)
	}
	if v.cfg.TeamIDField != "" {
		p.TeamID = claimID(claims, v.cfg.TeamIDField)
	}
	if p.TeamID == "" {
		p.TeamID = v.cfg.TeamIDDefault
	}
	if p.TeamID == "" && v.cfg.TeamIDField != "" {
		return Principal{}, time.Time{}, authError("No team id found in token. Checked team_id field '%s'", v.cfg.TeamIDField)
	}
	return p, exp, nil
}

// isAdmin: the "scope" claim (space-separated, or a list) holds
// admin_jwt_scope.
func (v *Verifier) isAdmin(c jwt.MapClaims) bool {
	switch s := c["scope"].(type) {
	case string:
		for _, f := range strings.Fields(s) {
			if f == v.cfg.AdminScope {
				return true
			}
		}
	case []any:
		for _, f := range s {
			if f == v.cfg.AdminScope {
				return true
			}
		}
	}
	return false
}

// userID is user_id_jwt_field's claim, else user_email_jwt_field's.
func (v *Verifier) userID(c jwt.MapClaims) string {
	if v.cfg.UserIDField != "" {
		if id := claimID(c, v.cfg.UserIDField); id != "" {
			return id
		}
	}
	if v.cfg.UserEmailField != "" {
		return claimID(c, v.cfg.UserEmailField)
	}
	return ""
}

// claimID reads a claim by LiteLLM's dot notation ("resource_access.team"):
// a string, or a number as its digits; "" when absent, of another type, or
// longer than maxClaimID.
func claimID(c map[string]any, path string) string {
	var cur any = c
	for _, part := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		if cur, ok = m[part]; !ok {
			return ""
		}
	}
	var s string
	switch x := cur.(type) {
	case string:
		s = x
	case float64:
		s = strconv.FormatFloat(x, 'f', -1, 64)
	default:
		return ""
	}
	if len(s) > maxClaimID {
		return ""
	}
	return s
}

func pyList(s []string) string {
	q := make([]string, len(s))
	for i, x := range s {
		q[i] = "'" + x + "'"
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func pyStr(s string, ok bool) string {
	if !ok {
		return "None"
	}
	return s
}
