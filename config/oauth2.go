package config

import (
	"net/url"
	"strings"

	"gopkg.in/yaml.v3"
)

// OAuth2Auth is general_settings.enable_oauth2_auth (D118): a bearer token
// that is neither the master key, a virtual key nor a JWT is checked, on the
// LLM and info routes, at the token-info or introspection endpoint LiteLLM's
// Oauth2Handler reads from the environment.
type OAuth2Auth struct {
	// TokenInfoEndpoint is OAUTH_TOKEN_INFO_ENDPOINT (required).
	TokenInfoEndpoint string
	// UserIDField, UserRoleField and TeamIDField are the answer's fields
	// (OAUTH_USER_ID_FIELD_NAME "sub", OAUTH_USER_ROLE_FIELD_NAME "role",
	// OAUTH_USER_TEAM_ID_FIELD_NAME "team_id").
	UserIDField, UserRoleField, TeamIDField string
	// ClientID and ClientSecret are OAUTH_CLIENT_ID and OAUTH_CLIENT_SECRET
	// (secret): with both and "introspect" in the endpoint, an RFC 7662
	// POST with HTTP Basic client credentials; else a GET with the token as
	// bearer.
	ClientID, ClientSecret string
}

// Introspect reports whether the endpoint is called as LiteLLM's
// _is_introspection_endpoint decides: "introspect" in the URL and both
// client credentials set.
func (o *OAuth2Auth) Introspect() bool {
	return strings.Contains(strings.ToLower(o.TokenInfoEndpoint), "introspect") && o.ClientID != "" && o.ClientSecret != ""
}

// oauth2AuthEnv reads enable_oauth2_auth's variables (os.getenv in LiteLLM:
// environment_variables and the environment, not the secret manager).
func (p *parser) oauth2AuthEnv(gs *GeneralSettings, n *yaml.Node) {
	o := gs.OAuth2Auth
	if o == nil {
		return
	}
	get := func(k, def string) string {
		if v, ok := p.lookup(k); ok {
			return v
		}
		return def
	}
	o.TokenInfoEndpoint = strings.TrimSpace(get("OAUTH_TOKEN_INFO_ENDPOINT", ""))
	o.UserIDField = get("OAUTH_USER_ID_FIELD_NAME", "sub")
	o.UserRoleField = get("OAUTH_USER_ROLE_FIELD_NAME", "role")
	o.TeamIDField = get("OAUTH_USER_TEAM_ID_FIELD_NAME", "team_id")
	o.ClientID, _ = p.lookup("OAUTH_CLIENT_ID")
	o.ClientSecret, _ = p.lookup("OAUTH_CLIENT_SECRET")
	const key = "general_settings.enable_oauth2_auth"
	switch u, err := url.Parse(o.TokenInfoEndpoint); {
	case o.TokenInfoEndpoint == "" && p.noEnv:
		p.warnAt(n, key, "OAUTH_TOKEN_INFO_ENDPOINT is not set (--no-env)")
	case o.TokenInfoEndpoint == "":
		// LiteLLM refuses every such token then ("OAUTH_TOKEN_INFO_ENDPOINT
		// environment variable is not set"): refused at load instead.
		p.errAt(n, key, "needs OAUTH_TOKEN_INFO_ENDPOINT (the token-info or introspection endpoint) in the environment")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		p.errAt(n, key, "OAUTH_TOKEN_INFO_ENDPOINT %q is not an http(s) URL", o.TokenInfoEndpoint)
	}
}
