package config

import (
	"log/slog"
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

// TestLogLevel: router_settings.set_verbose and debug_level "DEBUG" (as
// litellm_settings.set_verbose) make the log debug-level without a warning;
// LITELLM_LOG sets it otherwise; debug_level must be DEBUG or INFO.
func TestLogLevel(t *testing.T) {
	const models = "model_list:\n  - model_name: a\n    litellm_params: {model: openai/gpt-4o, api_key: k}\n"
	for _, tc := range []struct {
		yml, env string
		want     slog.Level
	}{
		{"", "", slog.LevelInfo},
		{"router_settings:\n  set_verbose: true\n", "", slog.LevelDebug},
		{"router_settings:\n  debug_level: DEBUG\n", "ERROR", slog.LevelDebug},
		{"router_settings:\n  debug_level: INFO\n", "", slog.LevelInfo},
		{"litellm_settings:\n  set_verbose: true\n", "", slog.LevelDebug},
		{"", "ERROR", slog.LevelError},
		{"", "warning", slog.LevelWarn},
		{"", "DEBUG", slog.LevelDebug},
	} {
		cfg := mustParse(t, models+tc.yml, env("LITELLM_LOG", tc.env))
		if cfg.LogLevel != tc.want {
			t.Errorf("%q LITELLM_LOG=%q: %v, want %v", tc.yml, tc.env, cfg.LogLevel, tc.want)
		}
		if len(cfg.Warnings) != 0 {
			t.Errorf("%q: warnings %v", tc.yml, cfg.Warnings)
		}
	}
	if le := parseErr(t, models+"router_settings:\n  debug_level: TRACE\n", nil); !hasDiag(le.Diagnostics, `router_settings.debug_level: must be "DEBUG" or "INFO"`) {
		t.Errorf("a bad debug_level: %v", le.Diagnostics)
	}
}
