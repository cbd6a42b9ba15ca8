package config

// processEnv applies the environment variables LiteLLM's proxy reads besides
// os.environ/ references: LITELLM_MASTER_KEY when the config names no master
// key, and DATABASE_URL when it names no general_settings.database_url (LiteLLM's
// database client reads the variable). The lookup sees environment_variables
// first, as LiteLLM sets them before it reads these.
func (p *parser) processEnv(cfg *Config) {
	if cfg.General.MasterKey == "" {
		if v, ok := p.lookup(EnvMasterKey); ok && v != "" {
			cfg.General.MasterKey = v
			cfg.General.MasterKeyFromEnv = true
		}
	}
	if cfg.General.DatabaseURL == "" {
		if v, ok := p.lookup(EnvDatabaseURL); ok && v != "" {
			cfg.General.DatabaseURL = v
		}
	}
}
