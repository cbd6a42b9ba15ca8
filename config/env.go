package config

import (
	"log/slog"
	"strconv"
	"strings"
	"time"
)

// processEnv applies the environment variables LiteLLM's proxy reads besides
// os.environ/ references: LITELLM_MASTER_KEY when the config names no master
// key, and DATABASE_URL when it names no general_settings.database_url (LiteLLM's
// database client reads the variable). The lookup sees environment_variables
// first, as LiteLLM sets them before it reads these.
func (p *parser) processEnv(cfg *Config) {
	cfg.LogLevel = logLevel(cfg, p.lookup)
	cfg.LiteLLM.UpstreamTLS = p.upstreamTLS()
	if cfg.General.MasterKey == "" {
		if v, ok := p.secretEnv(EnvMasterKey); ok && v != "" {
			cfg.General.MasterKey = v
			cfg.General.MasterKeyFromEnv = true
		}
	}
	cfg.General.HealthCheckTimeout = DefaultHealthCheckTimeout
	if v, ok := p.lookup(EnvHealthCheckTimeout); ok && strings.TrimSpace(v) != "" {
		if n, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && n > 0 && n <= 1e6 {
			cfg.General.HealthCheckTimeout = time.Duration(n * float64(time.Second))
		} else {
			p.warnAt(nil, EnvHealthCheckTimeout, "must be a positive number of seconds, got %q; using %v", v, DefaultHealthCheckTimeout)
		}
	}
	if cfg.General.DatabaseURL == "" {
		if v, ok := p.secretEnv(EnvDatabaseURL); ok && v != "" {
			cfg.General.DatabaseURL = v
		}
	}
}

// secretEnv reads a variable LiteLLM reads with get_secret (the secret
// manager first); a failing manager is an error naming the variable.
func (p *parser) secretEnv(name string) (string, bool) {
	v, ok, err := p.envRef(name)
	if err != nil {
		p.errAt(nil, "general_settings.key_management_system", "reading %s from the secret manager (%s): %v", name, p.secrets.System(), err)
		return "", false
	}
	return v, ok
}

// logLevel is the gateway's log level from the config and LITELLM_LOG
// (LiteLLM's DEBUG, INFO, WARNING, ERROR, CRITICAL): a verbose setting wins.
func logLevel(cfg *Config, lookup func(string) (string, bool)) slog.Level {
	if cfg.LiteLLM.SetVerbose || cfg.Router.Debug {
		return slog.LevelDebug
	}
	v, _ := lookup("LITELLM_LOG")
	switch strings.ToUpper(strings.TrimSpace(v)) {
	case "DEBUG":
		return slog.LevelDebug
	case "WARNING", "WARN":
		return slog.LevelWarn
	case "ERROR", "CRITICAL":
		return slog.LevelError
	}
	return slog.LevelInfo
}
