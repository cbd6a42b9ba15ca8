package config

import (
	"strings"
	"testing"
)

// configurable_clientside_auth_params, allow_client_side_credentials,
// user_url_validation and user_url_allowed_hosts (D156): read, no warnings;
// a regex entry matches at the start (Python's re.match) or equals; a regex
// Go cannot compile is an error.
func TestClientSideKeys(t *testing.T) {
	cfg := mustParse(t, `
model_list:
  - model_name: m
    litellm_params:
      model: openai/gpt-4o
      api_key: k
      configurable_clientside_auth_params: ["base_url", {api_base: "https://.*\\.example\\.com"}]
litellm_settings:
  user_url_validation: false
  user_url_allowed_hosts: ["ollama.internal", "[::1]:11434"]
general_settings:
  allow_client_side_credentials: true
  use_client_credentials_pass_through_routes: true
`, nil)
	if len(cfg.Warnings) != 0 {
		t.Errorf("warnings: %v", cfg.Warnings)
	}
	if !cfg.General.AllowClientSideCredentials || !cfg.LiteLLM.NoUserURLValidation || len(cfg.LiteLLM.UserURLAllowedHosts) != 2 {
		t.Errorf("settings: %+v %+v", cfg.General.AllowClientSideCredentials, cfg.LiteLLM)
	}
	ps := findModel(t, cfg, "m").Params.ClientsideAuthParams
	for _, c := range []struct {
		param, value string
		want         bool
	}{
		{"base_url", "http://anything", true},
		{"api_base", "https://eu.example.com/v1", true},
		{"api_base", "https://eu.example.com.evil.net/v1", true}, // re.match: anchored at the start only, as LiteLLM
		{"api_base", "http://eu.example.com/v1", false},
		{"api_base", "xhttps://eu.example.com", false},
		{"aws_role_name", "x", false},
	} {
		if got := ClientsideAllows(ps, c.param, c.value); got != c.want {
			t.Errorf("%s=%s: %v, want %v", c.param, c.value, got, c.want)
		}
	}
	if d := mustParse(t, "model_list: []\n", nil); d.LiteLLM.NoUserURLValidation || d.General.AllowClientSideCredentials {
		t.Errorf("defaults: validation off or credentials allowed")
	}
	le := parseErr(t, `
model_list:
  - model_name: m
    litellm_params: {model: openai/gpt-4o, configurable_clientside_auth_params: [{api_base: "(?=x)"}]}
`, nil)
	if !strings.Contains(le.Error(), "configurable_clientside_auth_params[0].api_base") {
		t.Errorf("error: %v", le)
	}
}
