package config

import (
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// EnvConfigFilePath is the env var LiteLLM reads the config path from when no
// --config flag is given.
const EnvConfigFilePath = "CONFIG_FILE_PATH"

// EnvEnvironment selects which deployments are served, by their
// model_info.supported_environments.
const EnvEnvironment = "LITELLM_ENVIRONMENT"

// EnvMasterKey is LiteLLM's master key variable: the master key when
// general_settings.master_key is not set (the config wins, as in LiteLLM's
// general_settings.get("master_key", LITELLM_MASTER_KEY)).
const EnvMasterKey = "LITELLM_MASTER_KEY"

// EnvDatabaseURL is the database LiteLLM stores virtual keys and spend in.
const EnvDatabaseURL = "DATABASE_URL"

// envPrefix marks a config value read from the environment.
const envPrefix = "os.environ/"

// PathFromEnv returns the config path: the --config flag value when it is
// set, else $CONFIG_FILE_PATH (empty when neither is).
func PathFromEnv(flag string) string {
	if flag != "" {
		return flag
	}
	return os.Getenv(EnvConfigFilePath)
}

// Load reads, resolves and validates a config file against the process
// environment. On success it also sets every environment_variables entry
// into the process environment (os.Setenv), as LiteLLM does, so that code
// reading the environment directly (the AWS SDK, for one) sees them. Parse
// itself never changes the process environment.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	cfg, err := Parse(data, path, os.LookupEnv)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(cfg.EnvVars))
	for k := range cfg.EnvVars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := os.Setenv(k, cfg.EnvVars[k]); err != nil {
			return nil, fmt.Errorf("config %s: environment_variables.%s: %w", path, k, err)
		}
	}
	return cfg, nil
}

// Parse reads, resolves and validates a config. filename is used in
// diagnostics only. getenv looks environment variables up (os.LookupEnv when
// nil); environment_variables from the config are looked up first, so a
// variable they define resolves os.environ/ references anywhere in the file.
//
// On failure the error is a *LoadError listing every error. Warnings (keys
// accepted but not implemented, and other non-fatal findings) are on
// Config.Warnings.
func Parse(data []byte, filename string, getenv func(string) (string, bool)) (*Config, error) {
	return ParseWithOptions(data, filename, getenv, Options{})
}

// Options change how Parse treats a config.
type Options struct {
	// UnsetEnvWarns makes an os.environ/ reference to an unset variable a
	// warning everywhere, not only under keys that are not implemented yet
	// (`llmgate validate --no-env`): CI can check a config without the
	// secrets it names. The value then reads as unset.
	UnsetEnvWarns bool
}

// ParseWithOptions is Parse with Options.
func ParseWithOptions(data []byte, filename string, getenv func(string) (string, bool), opts Options) (*Config, error) {
	if getenv == nil {
		getenv = os.LookupEnv
	}
	p := &parser{diags: diags{file: filename}, noEnv: opts.UnsetEnvWarns}
	cfg := &Config{File: filename, EnvVars: map[string]string{}}

	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		p.add(SeverityError, yamlErrLine(err), 0, "", "%s", strings.TrimPrefix(err.Error(), "yaml: "))
		return nil, &LoadError{Diagnostics: p.errs}
	}
	var root *yaml.Node
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		root = doc.Content[0]
	}
	p.include(root, cfg)
	top, ok := p.mapping(root, "")
	if !ok {
		return nil, &LoadError{Diagnostics: p.errs}
	}
	byKey := map[string]entry{}
	for _, e := range top {
		byKey[e.Key] = e
	}

	// 1. environment_variables, resolved against the real environment, in
	// file order (a later entry may use an earlier one).
	p.lookup = func(name string) (string, bool) {
		if v, ok := cfg.EnvVars[name]; ok {
			return v, true
		}
		return getenv(name)
	}
	if e, ok := byKey["environment_variables"]; ok {
		es, _ := p.mapping(e.Value, e.Key)
		for _, ev := range es {
			path := joinKey(e.Key, ev.Key)
			p.resolveEnv(ev.Value, path, map[*yaml.Node]bool{})
			v := deref(ev.Value)
			switch {
			case isNull(v):
				cfg.EnvVars[ev.Key] = ""
			case v.Kind == yaml.ScalarNode:
				cfg.EnvVars[ev.Key] = v.Value
			default:
				p.errAt(v, path, "must be a string, got %s", p.describe(v))
			}
		}
	}

	// 2. the secret manager (key_management_system), then os.environ/
	// everywhere else.
	visited := map[*yaml.Node]bool{}
	if e, ok := byKey["general_settings"]; ok {
		p.keyManagement(cfg, e.Value, visited)
	}
	for _, e := range top {
		if e.Key != "environment_variables" {
			p.resolveEnv(e.Value, e.Key, visited)
		}
	}

	// 3. top-level keys.
	for _, e := range top {
		p.checkKey(SectionTop, "", e)
	}

	// 4. sections. credential_list, then model_list: deployments take its
	// credentials, settings refer to their model groups.
	if e, ok := byKey["credential_list"]; ok {
		p.credentialList(e.Value)
	}
	if e, ok := byKey["model_list"]; ok {
		p.modelList(cfg, e.Value)
	}
	if e, ok := byKey["callback_settings"]; ok {
		p.callbackSettings(cfg, e.Value) // before the callback lists that name its instances
	}
	if e, ok := byKey["litellm_settings"]; ok {
		p.litellmSettings(cfg, e.Value)
	}
	if e, ok := byKey["guardrails"]; ok {
		p.guardrails(cfg, e.Value) // guardrails.go
	}
	p.lakeraRoles(cfg)
	p.modelGuardrails(cfg)
	if e, ok := byKey["general_settings"]; ok {
		p.generalSettings(cfg, e.Value)
		p.jwtEnv(&cfg.General, e.Value)
		p.oauth2Env(&cfg.General, e.Value)
		p.oauth2AuthEnv(&cfg.General, e.Value)
	}
	routerNode := (*yaml.Node)(nil)
	if e, ok := byKey["router_settings"]; ok {
		routerNode = e.Value
	}
	p.routerSettings(cfg, routerNode, byKey)
	p.processEnv(cfg)
	p.providerPassThroughs(cfg) // passthrough.go
	var vertexNode *yaml.Node
	if e, ok := byKey["default_vertex_config"]; ok {
		vertexNode = e.Value
	}
	p.cloudPassThroughs(cfg, vertexNode) // cloudpass.go (D169)
	if e, ok := byKey["mcp_servers"]; ok {
		p.mcpServers(cfg, e.Value) // mcp.go
	}
	var vsNode *yaml.Node
	if e, ok := byKey["vector_store_registry"]; ok {
		vsNode = e.Value
	}
	p.vectorStoreRegistry(cfg, vsNode) // vectorstores.go
	if e, ok := byKey["search_tools"]; ok {
		p.searchTools(cfg, e.Value) // searchtools.go
	}
	if e, ok := byKey["files_settings"]; ok {
		p.filesSettings(cfg, e.Value) // files.go
	}
	p.callbackEnv(cfg)
	p.alertingEnv(cfg)
	if cfg.General.HealthCheckInterval == 0 {
		cfg.General.HealthCheckInterval = DefaultHealthCheckInterval
	}
	p.checkReferences(cfg)
	p.checkModelRateLimits(cfg)

	p.errs = sortDiagnostics(p.errs)
	p.warns = sortDiagnostics(p.warns)
	cfg.Warnings = p.warns
	if len(p.errs) > 0 {
		return nil, &LoadError{Diagnostics: p.errs, Warnings: p.warns}
	}
	return cfg, nil
}

var yamlLineRE = regexp.MustCompile(`line (\d+)`)

func yamlErrLine(err error) int {
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

// resolveEnv replaces every string scalar that starts with os.environ/ by the
// value of the named variable, at any depth (lists and mappings alike). The
// replaced scalar is retyped as if written plainly, so rpm: os.environ/RPM
// reads as an integer when RPM is "60"; an empty value stays an empty string.
func (p *parser) resolveEnv(n *yaml.Node, path string, visited map[*yaml.Node]bool) {
	n = deref(n)
	if n == nil || visited[n] {
		return
	}
	visited[n] = true
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			sub := path
			if k.ShortTag() != "!!merge" {
				sub = joinKey(path, k.Value)
			}
			p.resolveEnv(v, sub, visited)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p.resolveEnv(c, fmt.Sprintf("%s[%d]", path, i), visited)
		}
	case yaml.ScalarNode:
		if n.ShortTag() != "!!str" || !strings.HasPrefix(n.Value, envPrefix) {
			return
		}
		name := strings.TrimSpace(strings.TrimPrefix(n.Value, envPrefix))
		if name == "" {
			p.errAt(n, path, "%q names no environment variable", n.Value)
			return
		}
		v, ok, err := p.envRef(name)
		if err != nil {
			p.errAt(n, path, "reading %s from the secret manager (%s): %v", name, p.secrets.System(), err)
			n.Value, n.Tag, n.Style = "", "!!null", 0
			return
		}
		if !ok {
			switch {
			case strings.HasPrefix(path, "litellm_settings.default_team_settings["):
				// LiteLLM reads a team's credentials when the team logs.
				p.warnAt(n, path, "environment variable %s is not set (referenced as os.environ/%s); the team's events are not sent", name, name)
			case strings.HasPrefix(path, "files_settings["):
				// LiteLLM's set_files_config reads it as None: the provider's
				// environment variables apply instead (D147).
				p.warnAt(n, path, "environment variable %s is not set (referenced as os.environ/%s); read as unset, the provider's environment variables apply", name, name)
			case notYetPath(path):
				// LiteLLM reads it only when the feature is used; llmgate never does.
				p.warnAt(n, path, "environment variable %s is not set (referenced as os.environ/%s); the key is not implemented yet, so it is not needed", name, name)
			case p.noEnv:
				p.warnAt(n, path, "environment variable %s is not set (referenced as os.environ/%s); read as unset (--no-env)", name, name)
			default:
				p.errAt(n, path, "environment variable %s is not set (referenced as os.environ/%s)", name, name)
				return
			}
			n.Value, n.Tag, n.Style = "", "!!null", 0
			return
		}
		n.Value = v
		n.Tag, n.Style = "", 0
		if p.fromEnv == nil {
			p.fromEnv = map[*yaml.Node]string{}
		}
		p.fromEnv[n] = name
		if n.ShortTag() == "!!null" || v == "" {
			n.Tag = "!!str"
		}
	}
}

// notYetPath reports whether a key path (as resolveEnv writes it) lies under
// a key that is accepted but not implemented yet.
func notYetPath(path string) bool {
	segs := strings.Split(path, ".")
	for i, s := range segs {
		if j := strings.IndexByte(s, '['); j >= 0 {
			segs[i] = s[:j]
		}
	}
	notYet := func(section string, i int) bool {
		if i >= len(segs) {
			return false
		}
		k, ok := lookupKey(section, segs[i])
		return ok && k.Status == NotYet
	}
	if notYet(SectionTop, 0) {
		return true
	}
	switch segs[0] {
	case "model_list":
		if len(segs) > 1 && segs[1] == "litellm_params" {
			return notYet(SectionParams, 2)
		}
		if len(segs) > 1 && segs[1] == "model_info" {
			return notYet(SectionInfo, 2)
		}
	case "litellm_settings":
		return notYet(SectionLiteLLM, 1) || (len(segs) > 1 && segs[1] == "cache_params" && notYet(SectionCache, 2))
	case "general_settings":
		return notYet(SectionGeneral, 1)
	case "router_settings":
		return notYet(SectionRouter, 1)
	}
	return false
}

// checkKey reports a key that is not implemented (warning) or that LiteLLM
// does not know either (error, with a did-you-mean hint). It returns the
// key's registry row; ok is false for unknown keys.
func (p *parser) checkKey(section, path string, e entry) (KeyDoc, bool) {
	key := joinKey(path, e.Key)
	k, ok := lookupKey(section, e.Key)
	if !ok {
		msg := fmt.Sprintf("unknown key %q in %s", e.Key, section)
		if s, ok := suggest(e.Key, sectionKeys(section)); ok {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
		p.errAt(e.KeyNode, key, "%s", msg)
		return KeyDoc{}, false
	}
	p.statusWarning(k, key, e.KeyNode)
	return k, true
}

func (p *parser) statusWarning(k KeyDoc, key string, n *yaml.Node) {
	switch {
	case k.Status == NotYet:
		msg := "accepted, not implemented yet"
		if k.Note != "" {
			msg += " (" + k.Note + ")"
		}
		p.warnAt(n, key, "%s", msg)
	case k.Status == Partial && k.Differs:
		p.warnAt(n, key, "partly implemented: %s", k.Note)
	}
}
