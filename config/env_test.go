package config

import (
	"strings"
	"testing"
)

// TestMasterKeyFromEnv: LITELLM_MASTER_KEY is the master key when the config
// names none; general_settings.master_key wins when set, as in LiteLLM; an
// environment_variables entry counts as the environment.
func TestMasterKeyFromEnv(t *testing.T) {
	const models = "model_list:\n  - model_name: a\n    litellm_params: {model: openai/gpt-4o, api_key: k}\n"
	for _, tc := range []struct {
		name, yml string
		env       map[string]string
		want      string
		fromEnv   bool
	}{
		{"env only", models, map[string]string{"LITELLM_MASTER_KEY": "sk-env"}, "sk-env", true},
		{"config wins", models + "general_settings: {master_key: sk-cfg}\n", map[string]string{"LITELLM_MASTER_KEY": "sk-env"}, "sk-cfg", false},
		{"neither", models, nil, "", false},
		{"empty env", models, map[string]string{"LITELLM_MASTER_KEY": ""}, "", false},
		{"environment_variables", models + "environment_variables: {LITELLM_MASTER_KEY: sk-file}\n", nil, "sk-file", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := mustParse(t, tc.yml, func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
			if cfg.General.MasterKey != tc.want || cfg.General.MasterKeyFromEnv != tc.fromEnv {
				t.Errorf("master key %q (from env %v), want %q (%v)", cfg.General.MasterKey, cfg.General.MasterKeyFromEnv, tc.want, tc.fromEnv)
			}
		})
	}
}

// TestDatabaseURLEnvWarns: DATABASE_URL is read as LiteLLM reads it and
// reported as not implemented rather than silently ignored.
func TestDatabaseURLEnvWarns(t *testing.T) {
	cfg := mustParse(t, "model_list: []\n", func(k string) (string, bool) {
		if k == "DATABASE_URL" {
			return "postgres://u:secretpw@db/litellm", true
		}
		return "", false
	})
	var got string
	for _, w := range cfg.Warnings {
		if w.Key == "DATABASE_URL" {
			got = w.String()
		}
	}
	if !strings.Contains(got, "not implemented yet") {
		t.Fatalf("no DATABASE_URL warning: %v", cfg.Warnings)
	}
	if strings.Contains(got, "secretpw") {
		t.Errorf("the warning prints the URL's password: %s", got)
	}
}
