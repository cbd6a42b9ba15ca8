package keys

import (
	"os"
	"strings"
)

// uiSettingsRoute is LiteLLM's GET /sso/get/ui_settings: the settings its
// Admin UI reads (management_endpoints/ui_sso.py's get_ui_settings).
const uiSettingsRoute = "/sso/get/ui_settings"

// SetDefaultTeamDisabled is general_settings.default_team_disabled (D109):
// LiteLLM reads it in one place, /sso/get/ui_settings' DEFAULT_TEAM_DISABLED
// (its UI then hides the "Default Team" and so the creation of keys without
// a team); the key routes do not enforce it. A config reload calls it again.
func (s *Service) SetDefaultTeamDisabled(on bool) { s.noDefaultTeam.Store(on) }

// uiSettings is /sso/get/ui_settings' answer, as LiteLLM's: the URLs from
// its environment variables, DEFAULT_TEAM_DISABLED from the setting or
// PROXY_DEFAULT_TEAM_DISABLED=true, no SSO, and the spend-log row count,
// which llmgate does not keep (0; so DISABLE_EXPENSIVE_DB_QUERIES false).
func (s *Service) uiSettings() map[string]any {
	env := func(name string) any {
		if v, ok := os.LookupEnv(name); ok {
			return v
		}
		return nil
	}
	disabled := s.noDefaultTeam.Load()
	if v, ok := os.LookupEnv("PROXY_DEFAULT_TEAM_DISABLED"); ok && strings.ToLower(v) == "true" {
		disabled = true
	}
	return map[string]any{
		"PROXY_BASE_URL":               env("PROXY_BASE_URL"),
		"PROXY_LOGOUT_URL":             env("PROXY_LOGOUT_URL"),
		"LITELLM_UI_API_DOC_BASE_URL":  env("LITELLM_UI_API_DOC_BASE_URL"),
		"DEFAULT_TEAM_DISABLED":        disabled,
		"SSO_ENABLED":                  false,
		"NUM_SPEND_LOGS_ROWS":          0,
		"DISABLE_EXPENSIVE_DB_QUERIES": false,
	}
}
