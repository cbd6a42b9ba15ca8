package config

import (
	"net/url"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// JWTAuth is general_settings.litellm_jwtauth with enable_jwt_auth (D97):
// LiteLLM's LiteLLM_JWTAuth fields that llmgate implements, with LiteLLM's
// defaults, and the environment variables its JWT handler reads.
type JWTAuth struct {
	// KeyURLs is JWT_PUBLIC_KEY_URL split at commas: the identity
	// provider's JWKS endpoints, searched in order for the token's kid.
	KeyURLs []string
	// Audience is JWT_AUDIENCE ("": the aud claim is not checked).
	Audience string
	// AdminScope is admin_jwt_scope (default litellm_proxy_admin).
	AdminScope string
	// AdminAllowedRoutes and TeamAllowedRoutes: route group names
	// (management_routes, openai_routes, …) or routes.
	AdminAllowedRoutes []string
	TeamAllowedRoutes  []string
	TeamIDField        string // team_id_jwt_field
	TeamIDDefault      string // team_id_default
	UserIDField        string // user_id_jwt_field
	UserEmailField     string // user_email_jwt_field (the user id when user_id_jwt_field finds none)
	EndUserIDField     string // end_user_id_jwt_field
	UserIDUpsert       bool   // user_id_upsert
	// PublicKeyTTL is public_key_ttl: how often the JWKS are fetched again
	// (default 600 s).
	PublicKeyTTL time.Duration
}

// JWT defaults, as LiteLLM_JWTAuth's.
const (
	DefaultJWTAdminScope   = "litellm_proxy_admin"
	DefaultJWTPublicKeyTTL = 600 * time.Second
)

// DefaultJWTAdminAllowedRoutes and DefaultJWTTeamAllowedRoutes are
// LiteLLM_JWTAuth's admin_allowed_routes and team_allowed_routes defaults.
var (
	DefaultJWTAdminAllowedRoutes = []string{"management_routes", "spend_tracking_routes", "global_spend_tracking_routes", "info_routes"}
	DefaultJWTTeamAllowedRoutes  = []string{"openai_routes", "info_routes"}
)

// jwtNotYet are LiteLLM_JWTAuth fields accepted with a warning: leaving
// them out admits no token LiteLLM would refuse.
var jwtNotYet = map[string]bool{
	"team_ids_jwt_field": true, "upsert_sso_user_to_team": true, "team_jwt_scope": true,
	"org_id_jwt_field": true, "roles_jwt_field": true, "role_mappings": true, "object_id_jwt_field": true,
	"jwt_litellm_role_map": true, "sync_user_role_and_teams": true, "oidc_userinfo_cache_ttl": true,
	"public_allowed_routes": true, "team_id_upsert": true,
}

// jwtRefused are LiteLLM_JWTAuth fields that make LiteLLM refuse tokens
// (or ask another server about them); llmgate does not implement them yet,
// and a config that sets them is refused rather than served more openly.
var jwtRefused = map[string]bool{
	"enforce_rbac": true, "enforce_scope_based_access": true, "scope_mappings": true,
	"enforce_team_based_model_access": true, "user_allowed_email_domain": true,
	"user_roles_jwt_field": true, "user_allowed_roles": true, "custom_validate": true,
	"oidc_userinfo_enabled": true, "oidc_userinfo_endpoint": true,
}

// maxJWTKeyURLs bounds JWT_PUBLIC_KEY_URL's list.
const maxJWTKeyURLs = 8

// litellmJWTAuth reads general_settings.litellm_jwtauth.
func (p *parser) litellmJWTAuth(n *yaml.Node, path string) *JWTAuth {
	es, ok := p.mapping(n, path)
	if !ok {
		return nil
	}
	j := &JWTAuth{}
	for _, e := range es {
		kp := joinKey(path, e.Key)
		v := e.Value
		switch e.Key {
		case "admin_jwt_scope":
			j.AdminScope, _ = p.str(v, kp)
		case "admin_allowed_routes":
			j.AdminAllowedRoutes = p.routeList(v, kp)
		case "team_allowed_routes":
			j.TeamAllowedRoutes = p.routeList(v, kp)
		case "team_id_jwt_field":
			j.TeamIDField, _ = p.str(v, kp)
		case "team_id_default":
			j.TeamIDDefault, _ = p.str(v, kp)
		case "user_id_jwt_field":
			j.UserIDField, _ = p.str(v, kp)
		case "user_email_jwt_field":
			j.UserEmailField, _ = p.str(v, kp)
		case "end_user_id_jwt_field":
			j.EndUserIDField, _ = p.str(v, kp)
		case "user_id_upsert":
			j.UserIDUpsert, _ = p.bool(v, kp)
		case "public_key_ttl":
			if f, ok := p.positive(v, kp); ok {
				j.PublicKeyTTL = time.Duration(min(max(f, 1), 86400) * float64(time.Second))
			}
		default:
			switch {
			case jwtNotYet[e.Key]:
				p.warnAt(v, kp, "litellm_jwtauth.%s: accepted, not implemented yet", e.Key)
			case jwtRefused[e.Key]:
				p.errAt(v, kp, "litellm_jwtauth.%s is not implemented yet; refused rather than admitting tokens LiteLLM would refuse", e.Key)
			default:
				// LiteLLM_JWTAuth raises on an unknown argument too.
				p.errAt(v, kp, "litellm_jwtauth.%s is not a LiteLLM_JWTAuth field", e.Key)
			}
		}
	}
	return j
}

// routeList is a list of routes or route group names.
func (p *parser) routeList(n *yaml.Node, path string) []string {
	l, ok := p.strList(n, path)
	if !ok {
		return nil
	}
	return append([]string{}, l...)
}

// jwtEnv completes JWT auth once general_settings is read: LiteLLM's
// defaults and JWT_PUBLIC_KEY_URL / JWT_AUDIENCE from the environment.
func (p *parser) jwtEnv(gs *GeneralSettings, n *yaml.Node) {
	if !gs.EnableJWTAuth {
		if gs.JWTAuth != nil {
			p.warnAt(n, "general_settings.litellm_jwtauth", "has no effect unless general_settings.enable_jwt_auth is true")
		}
		gs.JWTAuth = nil
		return
	}
	if gs.JWTAuth == nil {
		gs.JWTAuth = &JWTAuth{}
	}
	j := gs.JWTAuth
	if j.AdminScope == "" {
		j.AdminScope = DefaultJWTAdminScope
	}
	if j.AdminAllowedRoutes == nil {
		j.AdminAllowedRoutes = DefaultJWTAdminAllowedRoutes
	}
	if j.TeamAllowedRoutes == nil {
		j.TeamAllowedRoutes = DefaultJWTTeamAllowedRoutes
	}
	if j.PublicKeyTTL == 0 {
		j.PublicKeyTTL = DefaultJWTPublicKeyTTL
	}
	if v, ok := p.lookup("JWT_AUDIENCE"); ok {
		j.Audience = strings.TrimSpace(v)
	}
	raw, _ := p.lookup("JWT_PUBLIC_KEY_URL")
	for _, u := range strings.Split(raw, ",") {
		if u = strings.TrimSpace(u); u == "" {
			continue
		}
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			p.errAt(n, "general_settings.enable_jwt_auth", "JWT_PUBLIC_KEY_URL: %q is not an http(s) URL", u)
			continue
		}
		j.KeyURLs = append(j.KeyURLs, u)
	}
	switch {
	case len(j.KeyURLs) > maxJWTKeyURLs:
		p.errAt(n, "general_settings.enable_jwt_auth", "JWT_PUBLIC_KEY_URL: at most %d URLs, got %d", maxJWTKeyURLs, len(j.KeyURLs))
	case len(j.KeyURLs) == 0 && p.noEnv:
		p.warnAt(n, "general_settings.enable_jwt_auth", "needs JWT_PUBLIC_KEY_URL (the identity provider's JWKS URL) in the environment")
	case len(j.KeyURLs) == 0:
		p.errAt(n, "general_settings.enable_jwt_auth", "needs JWT_PUBLIC_KEY_URL (the identity provider's JWKS URL) in the environment")
	}
}

// OAuth2ProxyAuth is enable_oauth2_proxy_auth's oauth2_config_mappings: the
// request header each caller field is read from (lower-case; "": not
// mapped), as LiteLLM's handle_oauth2_proxy_request builds its
// UserAPIKeyAuth from them.
type OAuth2ProxyAuth struct {
	UserIDHeader, TeamIDHeader, UserRoleHeader, EndUserIDHeader string
	mapped                                                      bool
}

func (p *parser) oauth2Mappings(gs *GeneralSettings, n *yaml.Node, path string) {
	es, ok := p.mapping(n, path)
	if !ok {
		return
	}
	m := gs.oauth2Pending
	if m == nil {
		m = &OAuth2ProxyAuth{}
		gs.oauth2Pending = m
	}
	m.mapped = true
	for _, e := range es {
		kp := joinKey(path, e.Key)
		h, ok := p.str(e.Value, kp)
		if !ok {
			continue
		}
		h = strings.ToLower(strings.TrimSpace(h))
		switch e.Key {
		case "user_id":
			m.UserIDHeader = h
		case "team_id":
			m.TeamIDHeader = h
		case "user_role":
			m.UserRoleHeader = h
		case "end_user_id":
			m.EndUserIDHeader = h
		default:
			p.warnAt(e.Value, kp, "oauth2_config_mappings.%s: accepted, not used (implemented: user_id, team_id, user_role, end_user_id)", e.Key)
		}
	}
}

// oauth2Env joins enable_oauth2_proxy_auth with its mappings.
func (p *parser) oauth2Env(gs *GeneralSettings, n *yaml.Node) {
	pending := gs.oauth2Pending
	gs.oauth2Pending = nil
	if gs.OAuth2ProxyAuth == nil {
		if pending != nil {
			p.warnAt(n, "general_settings.oauth2_config_mappings", "has no effect unless general_settings.enable_oauth2_proxy_auth is true")
		}
		return
	}
	if pending == nil || !pending.mapped {
		// LiteLLM refuses every request then ("Oauth2 config mappings not
		// found in general_settings"): refused at load instead.
		p.errAt(n, "general_settings.enable_oauth2_proxy_auth", "needs general_settings.oauth2_config_mappings (the headers the OAuth2 proxy sets)")
		return
	}
	*gs.OAuth2ProxyAuth = *pending
}
