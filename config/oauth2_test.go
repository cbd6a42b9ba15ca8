package config_test

import (
	"strings"
	"testing"

	"github.com/llmgate/llmgate/config"
)

// enable_oauth2_auth's variables: LiteLLM's defaults, the introspection
// decision, a missing endpoint refused at load (a warning under --no-env).
func TestOAuth2AuthSettings(t *testing.T) {
	yaml := []byte("model_list: []\ngeneral_settings:\n  master_key: sk-m\n  enable_oauth2_auth: true\n")
	env := map[string]string{"OAUTH_TOKEN_INFO_ENDPOINT": "https://idp.example/oauth2/introspect", "OAUTH_CLIENT_ID": "id", "OAUTH_CLIENT_SECRET": "s"}
	getenv := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	cfg, err := config.Parse(yaml, "c.yaml", getenv)
	if err != nil {
		t.Fatal(err)
	}
	o := cfg.General.OAuth2Auth
	if o == nil || o.UserIDField != "sub" || o.UserRoleField != "role" || o.TeamIDField != "team_id" || !o.Introspect() {
		t.Fatalf("%+v", o)
	}
	delete(env, "OAUTH_CLIENT_SECRET")
	if cfg, _ = config.Parse(yaml, "c.yaml", getenv); cfg.General.OAuth2Auth.Introspect() {
		t.Error("introspection without a client secret (LiteLLM then GETs the endpoint)")
	}
	delete(env, "OAUTH_TOKEN_INFO_ENDPOINT")
	if _, err := config.Parse(yaml, "c.yaml", getenv); err == nil || !strings.Contains(err.Error(), "needs OAUTH_TOKEN_INFO_ENDPOINT") {
		t.Errorf("no endpoint: %v", err)
	}
	if cfg, err := config.ParseWithOptions(yaml, "c.yaml", getenv, config.Options{UnsetEnvWarns: true}); err != nil || cfg.General.OAuth2Auth == nil {
		t.Errorf("--no-env: %v", err)
	}
	env["OAUTH_TOKEN_INFO_ENDPOINT"] = "idp.example/introspect"
	if _, err := config.Parse(yaml, "c.yaml", getenv); err == nil || !strings.Contains(err.Error(), "is not an http(s) URL") {
		t.Errorf("bad endpoint: %v", err)
	}
}
