package config

import (
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

// TestDatabaseURLFromEnv: DATABASE_URL is the database when
// general_settings.database_url is not set, as LiteLLM's database client
// reads it; the config's key wins.
func TestDatabaseURLFromEnv(t *testing.T) {
	getenv := func(k string) (string, bool) {
		if k == "DATABASE_URL" {
			return "postgres://u:pw@db/litellm", true
		}
		return "", false
	}
	if cfg := mustParse(t, "model_list: []\n", getenv); cfg.General.DatabaseURL != "postgres://u:pw@db/litellm" {
		t.Errorf("database url %q, want DATABASE_URL's", cfg.General.DatabaseURL)
	}
	if cfg := mustParse(t, "model_list: []\ngeneral_settings: {database_url: postgres://cfg/db}\n", getenv); cfg.General.DatabaseURL != "postgres://cfg/db" {
		t.Errorf("database url %q, want the config's", cfg.General.DatabaseURL)
	}
}
