package config

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// enable_jwt_auth with litellm_jwtauth: LiteLLM's defaults, the
// environment's JWKS URLs and audience, the fields that warn, those that
// are refused, and the route settings (D97).
func TestJWTAuthSettings(t *testing.T) {
	env := func(k string) (string, bool) {
		v, ok := map[string]string{"JWT_PUBLIC_KEY_URL": " https://idp.example/jwks , http://127.0.0.1:9/keys", "JWT_AUDIENCE": "llmgate"}[k]
		return v, ok
	}
	cfg := mustParse(t, `model_list: []
general_settings:
  master_key: sk-1
  enable_jwt_auth: true
  allowed_routes: ["/v1/chat/completions", "LiteLLMRoutes.info_routes"]
  admin_only_routes: ["/key/generate"]
  litellm_jwtauth:
    team_id_jwt_field: "resource_access.team"
    user_id_jwt_field: sub
    end_user_id_jwt_field: customer
    user_id_upsert: true
    public_key_ttl: 30
    team_ids_jwt_field: groups
`, env)
	g := cfg.General
	j := g.JWTAuth
	if j == nil || !g.EnableJWTAuth {
		t.Fatalf("JWTAuth %+v", j)
	}
	if !slices.Equal(j.KeyURLs, []string{"https://idp.example/jwks", "http://127.0.0.1:9/keys"}) || j.Audience != "llmgate" ||
		j.AdminScope != "litellm_proxy_admin" || !slices.Equal(j.AdminAllowedRoutes, DefaultJWTAdminAllowedRoutes) ||
		!slices.Equal(j.TeamAllowedRoutes, DefaultJWTTeamAllowedRoutes) || j.TeamIDField != "resource_access.team" ||
		j.UserIDField != "sub" || j.EndUserIDField != "customer" || !j.UserIDUpsert || j.PublicKeyTTL != 30*time.Second {
		t.Errorf("JWTAuth = %+v", j)
	}
	if !slices.Equal(g.AllowedRoutes, []string{"/v1/chat/completions", "LiteLLMRoutes.info_routes"}) || !slices.Equal(g.AdminOnlyRoutes, []string{"/key/generate"}) {
		t.Errorf("routes %v %v", g.AllowedRoutes, g.AdminOnlyRoutes)
	}
	if w := fmt.Sprint(cfg.Warnings); !strings.Contains(w, "litellm_jwtauth.team_ids_jwt_field: accepted, not implemented yet") {
		t.Errorf("warnings %v", cfg.Warnings)
	}

	// Defaults; litellm_jwtauth without enable_jwt_auth does nothing.
	if j := mustParse(t, "model_list: []\ngeneral_settings:\n  enable_jwt_auth: true\n", env).General.JWTAuth; j == nil || j.PublicKeyTTL != 600*time.Second || j.TeamIDField != "" {
		t.Errorf("defaults %+v", j)
	}
	cfg = mustParse(t, "model_list: []\ngeneral_settings:\n  litellm_jwtauth: {user_id_jwt_field: sub}\n", env)
	if cfg.General.JWTAuth != nil || !strings.Contains(fmt.Sprint(cfg.Warnings), "no effect unless general_settings.enable_jwt_auth") {
		t.Errorf("without enable_jwt_auth: %+v %v", cfg.General.JWTAuth, cfg.Warnings)
	}

	for _, c := range []struct{ yml, err string }{
		{"  litellm_jwtauth: {enforce_rbac: true}\n", "litellm_jwtauth.enforce_rbac is not implemented yet"},
		{"  litellm_jwtauth: {team_field: x}\n", "litellm_jwtauth.team_field is not a LiteLLM_JWTAuth field"},
	} {
		e := parseErr(t, "model_list: []\ngeneral_settings:\n  enable_jwt_auth: true\n"+c.yml, env)
		if !strings.Contains(e.Error(), c.err) {
			t.Errorf("%q: %v, want %q", c.yml, e, c.err)
		}
	}
	noURL := func(string) (string, bool) { return "", false }
	if e := parseErr(t, "model_list: []\ngeneral_settings:\n  enable_jwt_auth: true\n", noURL); !strings.Contains(e.Error(), "needs JWT_PUBLIC_KEY_URL") {
		t.Errorf("without JWT_PUBLIC_KEY_URL: %v", e)
	}
}

// enable_oauth2_proxy_auth with oauth2_config_mappings (D97).
func TestOAuth2ProxySettings(t *testing.T) {
	cfg := mustParse(t, `model_list: []
general_settings:
  enable_oauth2_proxy_auth: true
  oauth2_config_mappings: {user_id: X-Auth-Request-User, team_id: X-Auth-Request-Team, user_role: X-Role, max_budget: X-Budget}
`, nil)
	o := cfg.General.OAuth2ProxyAuth
	if o == nil || o.UserIDHeader != "x-auth-request-user" || o.TeamIDHeader != "x-auth-request-team" || o.UserRoleHeader != "x-role" || o.EndUserIDHeader != "" {
		t.Fatalf("OAuth2ProxyAuth = %+v", o)
	}
	if w := fmt.Sprint(cfg.Warnings); !strings.Contains(w, "oauth2_config_mappings.max_budget: accepted, not used") {
		t.Errorf("warnings %v", cfg.Warnings)
	}
	if e := parseErr(t, "model_list: []\ngeneral_settings:\n  enable_oauth2_proxy_auth: true\n", nil); !strings.Contains(e.Error(), "needs general_settings.oauth2_config_mappings") {
		t.Errorf("without mappings: %v", e)
	}
	cfg = mustParse(t, "model_list: []\ngeneral_settings:\n  oauth2_config_mappings: {user_id: X-U}\n", nil)
	if cfg.General.OAuth2ProxyAuth != nil || !strings.Contains(fmt.Sprint(cfg.Warnings), "no effect unless general_settings.enable_oauth2_proxy_auth") {
		t.Errorf("mappings without the flag: %+v %v", cfg.General.OAuth2ProxyAuth, cfg.Warnings)
	}
}
