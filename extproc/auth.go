package extproc

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"strconv"
	"strings"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/jwtauth"
	"github.com/llmgate/llmgate/internal/keys"
	"github.com/llmgate/llmgate/internal/keystore"
	"github.com/llmgate/llmgate/translator"
)

// defaultKeyHeaders is LiteLLM's lookup order for the client's key.
var defaultKeyHeaders = []string{"x-litellm-api-key", "authorization", "api-key", "x-api-key", "x-goog-api-key", "ocp-apim-subscription-key"}

// clientAuthHeaders are removed before a request goes upstream: the client's
// key must never reach a provider.
var clientAuthHeaders = []string{"x-litellm-api-key", "authorization", "api-key", "x-api-key", "x-goog-api-key", "ocp-apim-subscription-key"}

func keyHeaderOrder(custom string) []string {
	if custom == "" {
		return defaultKeyHeaders
	}
	return append([]string{strings.ToLower(custom)}, defaultKeyHeaders...)
}

// presentedKey finds the client's key in the request headers.
func (st *State) presentedKey(h map[string]string) string {
	for i, name := range st.keyHeaders {
		v := strings.TrimSpace(h[name])
		if v == "" {
			continue
		}
		bearer := len(v) > 7 && strings.EqualFold(v[:7], "bearer ")
		switch {
		case name == "authorization" && bearer:
			v = strings.TrimSpace(v[7:])
		case name == "authorization" && len(v) > 6 && strings.EqualFold(v[:6], "basic "):
			continue
		case bearer && (name == "x-litellm-api-key" || i == 0 && len(st.keyHeaders) > len(defaultKeyHeaders)):
			// x-litellm-api-key and litellm_key_header_name take "Bearer
			// <key>" too (LiteLLM's _get_bearer_token_or_received_api_key,
			// get_api_key_from_custom_header).
			v = strings.TrimSpace(v[7:])
		}
		return v
	}
	return ""
}

// identity is who a request's key says the caller is.
type identity struct {
	master    bool   // the master key, or no master_key set (everything open)
	token     string // a virtual key's sha256 (hex), as LiteLLM stores it
	presented string // the virtual key as sent (for LiteLLM's abbreviated param)
	// viaJWT: the caller is a JWT's or the OAuth2 proxy's (D97); principal
	// is a non-admin one's team, user and end user (nil for an admin).
	// trusted: the OAuth2 proxy's, whose caller LiteLLM does not check.
	viaJWT    bool
	principal *jwtauth.Principal
	trusted   bool
	// caller is a keyless caller's api_key as LiteLLM names it: the master
	// key's alias, a JWT's hash (keys.IsCaller; "" otherwise, D136).
	caller string
	// key is token's record as authenticate found it (nil: looked up
	// again), for AuthorizeRequest (keys.Check.Key, D166).
	key *keystore.Key
}

// maxProxyID bounds a team, user or end-user id read from an OAuth2 proxy
// header.
const maxProxyID = 256

// oauth2ProxyCaller is LiteLLM's handle_oauth2_proxy_request: the caller is
// whoever the OAuth2 proxy's headers (oauth2_config_mappings) say, with no
// key and no further check; user_role proxy_admin is an admin.
func (st *State) oauth2ProxyCaller(h map[string]string, o *config.OAuth2ProxyAuth) (identity, *translator.Error) {
	get := func(name string) string {
		if name == "" || len(h[name]) > maxProxyID {
			return ""
		}
		return strings.TrimSpace(h[name])
	}
	if get(o.UserRoleHeader) == "proxy_admin" {
		return identity{master: true, viaJWT: true}, nil
	}
	if p := clientPath(h[":path"]); st.access.adminOnly != nil && st.access.adminOnly.Has(p) {
		return identity{}, adminOnlyError(p)
	}
	return identity{viaJWT: true, trusted: true, principal: &jwtauth.Principal{TeamID: get(o.TeamIDHeader),
		UserID: get(o.UserIDHeader), EndUserID: get(o.EndUserIDHeader)}}, nil
}

// routeAccess is general_settings' JWT auth and route settings (D97).
type routeAccess struct {
	// jwtOn: enable_jwt_auth; jwt verifies tokens (set by the gateway,
	// WithJWT: nil in the module, which hands a JWT request on).
	jwtOn bool
	jwt   *jwtauth.Verifier
	// allowed is allowed_routes (nil: every route); adminOnly is
	// admin_only_routes (nil: none).
	allowed, adminOnly *jwtauth.Routes
	// oauth2 checks enable_oauth2_auth's tokens (set by the gateway,
	// WithOAuth2; nil in the module, which hands an unknown key on).
	oauth2 *jwtauth.Introspector
}

// oauth2Routes are the routes LiteLLM checks an OAuth2 token on
// (oauth2_introspection_applies: the LLM API and info routes).
var oauth2Routes = jwtauth.NewRoutes([]string{"LiteLLMRoutes.openai_routes", "LiteLLMRoutes.anthropic_routes", "LiteLLMRoutes.info_routes"})

func newRouteAccess(g config.GeneralSettings) routeAccess {
	a := routeAccess{jwtOn: g.JWTAuth != nil, allowed: jwtauth.NewRoutes(g.AllowedRoutes)}
	if len(g.AdminOnlyRoutes) > 0 {
		a.adminOnly = jwtauth.NewRoutes(g.AdminOnlyRoutes)
	}
	return a
}

// WithJWT gives the state the JWT verifier (nil: none); the gateway keeps
// one per JWKS configuration and its keys are fetched off the request path.
func (st *State) WithJWT(v *jwtauth.Verifier) *State {
	st.access.jwt = v
	return st
}

// WithOAuth2 gives the state enable_oauth2_auth's introspector (nil: off).
func (st *State) WithOAuth2(i *jwtauth.Introspector) *State {
	st.access.oauth2 = i
	return st
}

// authenticateOAuth2 is LiteLLM's check_oauth2_token: the endpoint vouches
// for the token; role proxy_admin is an admin, another caller's team and
// user get its spend, with no further check (as LiteLLM), and
// admin_only_routes still refuse it.
func (st *State) authenticateOAuth2(token, path string) (identity, *translator.Error) {
	p, e := st.access.oauth2.Check(context.Background(), token)
	if e != nil {
		return identity{}, &translator.Error{Status: e.Status, Type: "auth_error", Code: strconv.Itoa(e.Status), Param: "None", Message: e.Message}
	}
	if p.Admin {
		return identity{master: true, viaJWT: true}, nil
	}
	if st.access.adminOnly != nil && st.access.adminOnly.Has(path) {
		return identity{}, adminOnlyError(path)
	}
	return identity{viaJWT: true, trusted: true, principal: &p}, nil
}

// errJWTHandOn: a JWT where no verifier is (the module): the ext_proc
// filter verifies it (HandOn and Serve hand a refused presented key on).
var errJWTHandOn = &translator.Error{Status: 500, Type: "auth_error", Code: "500", Param: "None",
	Message: "Authentication Error, JWT auth is not available on this instance"}

// routeForbidden is LiteLLM's 403 for a route setting (an HTTPException
// whose detail becomes the message).
func routeForbidden(msg string) *translator.Error {
	return &translator.Error{Status: 403, Type: "auth_error", Code: "403", Param: "None", Message: msg}
}

// authenticateJWT verifies a JWT for path (LiteLLM's JWTAuthManager
// auth_builder): an admin token is an admin; another is a principal,
// refused on an admin_only_routes route.
func (st *State) authenticateJWT(token, path string) (identity, *translator.Error) {
	if st.access.jwt == nil {
		return identity{}, errJWTHandOn
	}
	p, e := st.access.jwt.Authenticate(token, path)
	if e != nil {
		return identity{}, &translator.Error{Status: e.Status, Type: "auth_error", Code: strconv.Itoa(e.Status), Param: "None", Message: e.Message}
	}
	if p.Admin {
		return identity{master: true, viaJWT: true, caller: keys.JWTCaller(token)}, nil
	}
	if st.access.adminOnly != nil && st.access.adminOnly.Has(path) {
		return identity{}, adminOnlyError(path)
	}
	return identity{viaJWT: true, principal: &p, caller: keys.JWTCaller(token)}, nil
}

func adminOnlyError(path string) *translator.Error {
	return routeForbidden("user not allowed to access this route. Route=" + path + " is an admin only route")
}

// authenticateRoute authenticates the caller of a route the request filter
// answers itself (MCP, files and batches, search, vector stores): the key
// as authenticate checks it, then a virtual key that is blocked or expired,
// or whose team is blocked, refused as on every LiteLLM route.
func (st *State) authenticateRoute(h map[string]string) (identity, *translator.Error) {
	id, e := st.authenticate(h, true)
	if e != nil {
		return id, e
	}
	if id.token != "" && st.keys != nil {
		if ke := st.keys.CheckRouteKey(id.token, id.presented); ke != nil {
			return id, keyError(ke)
		}
	}
	return id, nil
}

// authenticate checks the key: with no master_key everything is open. The
// master key is compared in constant time over sha256 digests; a virtual key
// is found by its sha256 in the in-memory key cache (no database round trip).
// A route in public_routes needs no key (after allowed_ips, as in LiteLLM)
// unless public is false (the key-management routes, whose public caller
// LiteLLM refuses).
func (st *State) authenticate(h map[string]string, public bool) (identity, *translator.Error) {
	if st.ips != nil {
		if e := st.ips.check(h); e != nil {
			return identity{}, e // allowed_ips (keys.go)
		}
	}
	if st.access.allowed != nil {
		// allowed_ips' neighbour in LiteLLM's pre_db_read_auth_checks:
		// for every caller, before the key is read.
		if p := clientPath(h[":path"]); !st.access.allowed.Has(p) {
			return identity{}, routeForbidden("Access forbidden: Route " + p + " not allowed")
		}
	}
	if public && st.public != nil && st.public.has(h[":path"]) {
		return identity{master: true}, nil
	}
	if o := st.Cfg.General.OAuth2ProxyAuth; o != nil {
		// enable_oauth2_proxy_auth: LiteLLM trusts the proxy's headers
		// before it reads any key.
		return st.oauth2ProxyCaller(h, o)
	}
	if st.access.jwtOn {
		// LiteLLM reads a JWT before the master key (enable_jwt_auth,
		// is_jwt: three dot-separated parts).
		if key := st.presentedKey(h); jwtauth.IsJWT(key) {
			return st.authenticateJWT(key, clientPath(h[":path"]))
		}
	}
	if !st.hasMaster {
		return identity{master: true}, nil
	}
	key := st.presentedKey(h)
	if key == "" {
		return identity{}, &translator.Error{Status: 401, Type: "auth_error", Code: "401",
			Message: "Authentication Error, No api key passed in."}
	}
	sum := sha256.Sum256([]byte(key))
	if subtle.ConstantTimeCompare(sum[:], st.masterKey[:]) == 1 {
		return identity{master: true, caller: keys.MasterKeyAlias}, nil
	}
	if st.keys != nil {
		if token, k, ok := st.keys.LookupSum(&sum); ok {
			if st.access.adminOnly != nil && st.access.adminOnly.Has(clientPath(h[":path"])) {
				return identity{}, adminOnlyError(clientPath(h[":path"])) // LiteLLM's custom_admin_only_route_check
			}
			return identity{token: token, presented: key, key: k}, nil
		}
	}
	if st.access.oauth2 != nil {
		// enable_oauth2_auth: a token neither the master key nor a
		// virtual key, on an LLM or info route (LiteLLM asks the endpoint
		// about those keys too: see D118).
		if p := clientPath(h[":path"]); oauth2Routes.Has(p) {
			return st.authenticateOAuth2(key, p)
		}
	}
	return identity{}, &translator.Error{Status: 401, Type: "auth_error", Code: "401",
		Message: "Authentication Error, Invalid proxy server token passed. Received API key: " + redactKey(key)}
}

// redactKey shows only the start and end of a key, as LiteLLM does.
func redactKey(k string) string {
	if len(k) <= 8 {
		return "****"
	}
	return k[:3] + "****" + k[len(k)-4:]
}

// authorizePrincipal runs a non-admin JWT caller's checks (its team's and
// user's, the end user's, the request checks) on the key store's teams and
// users (keys.AuthorizePrincipal). Without a key store a token naming a
// team or user is refused: there is nothing to check it against.
func (st *State) authorizePrincipal(id identity, model, group, endUser string, body []byte) (*keys.Grant, *translator.Error) {
	p := id.principal
	if id.trusted {
		// The OAuth2 proxy's caller: LiteLLM runs no check on it; the
		// grant puts its team and user on the request for the spend.
		if st.rules != nil {
			if e := keys.CheckBody(st.rules, nil, body); e != nil {
				return nil, keyError(e)
			}
		}
		return &keys.Grant{TeamID: p.TeamID, UserID: p.UserID}, nil
	}
	if st.keys == nil {
		if p.TeamID != "" || p.UserID != "" {
			return nil, &translator.Error{Status: 401, Type: "auth_error", Code: "401", Param: "None",
				Message: "Authentication Error, a JWT naming a team or user needs the key store (general_settings.master_key)"}
		}
		if st.rules != nil {
			if e := keys.CheckBody(st.rules, nil, body); e != nil {
				return nil, keyError(e)
			}
		}
		return nil, nil
	}
	var models [2]string
	models[0], models[1] = model, group
	g, e := st.keys.AuthorizePrincipal(context.Background(), keys.Principal{TeamID: p.TeamID, UserID: p.UserID, UpsertUser: p.UpsertUser},
		keys.Check{Models: models[:], EndUser: endUser, Rules: st.rules, Body: body, Caller: id.caller})
	if e != nil {
		return nil, keyError(e)
	}
	return g, nil
}
