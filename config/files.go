package config

import (
	"fmt"
	"net/url"

	"gopkg.in/yaml.v3"
)

// FilesSetting is one top-level files_settings entry (LiteLLM's
// set_files_config): the credentials of a provider's Files and Batches
// API, chosen by the request's custom_llm_provider (D147).
type FilesSetting struct {
	// Provider is custom_llm_provider: openai or azure.
	Provider     string
	APIKey       string
	APIBase      string
	APIVersion   string
	Organization string
}

// FilesProviders are the providers whose Files and Batches APIs the
// gateway speaks.
var FilesProviders = []string{"openai", "azure"}

// FilesSettingFor is the files_settings entry of provider (the first, as
// LiteLLM's get_files_provider_config), or nil.
func (c *Config) FilesSettingFor(provider string) *FilesSetting {
	for i := range c.FilesSettings {
		if c.FilesSettings[i].Provider == provider {
			return &c.FilesSettings[i]
		}
	}
	return nil
}

// filesSettings reads files_settings: a list of mappings (os.environ/
// already resolved). LiteLLM refuses anything but a list ("invalid files
// config, expected a list is not a list").
func (p *parser) filesSettings(cfg *Config, n *yaml.Node) {
	if isNull(deref(n)) {
		return
	}
	items, ok := p.sequence(n, "files_settings")
	if !ok {
		return
	}
	cfg.FilesSettingsSet = true
	for i, it := range items {
		path := fmt.Sprintf("files_settings[%d]", i)
		fields, ok := p.mapping(it, path)
		if !ok {
			continue
		}
		var s FilesSetting
		skip := false
		for _, f := range fields {
			key := joinKey(path, f.Key)
			switch f.Key {
			case "custom_llm_provider":
				s.Provider, _ = p.str(f.Value, key)
				if s.Provider != "openai" && s.Provider != "azure" {
					p.warnAt(f.Value, key, "custom_llm_provider %q: accepted, not implemented yet for files and batches (openai, azure); the entry is ignored", s.Provider)
					skip = true
				}
			case "api_key":
				s.APIKey, _ = p.str(f.Value, key)
			case "api_base":
				if s.APIBase, ok = p.str(f.Value, key); ok {
					if u, err := url.Parse(s.APIBase); err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
						p.errAt(f.Value, key, "must be an http(s) URL, got %q", s.APIBase)
					}
				}
			case "api_version":
				s.APIVersion, _ = p.str(f.Value, key)
			case "organization":
				s.Organization, _ = p.str(f.Value, key)
			default:
				p.warnAt(f.KeyNode, key, "not used by the files and batches routes")
			}
		}
		if s.Provider == "" {
			p.errAt(it, path, "custom_llm_provider is required (openai or azure)")
		}
		if skip {
			continue
		}
		cfg.FilesSettings = append(cfg.FilesSettings, s)
	}
}
