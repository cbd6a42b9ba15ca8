package config

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// env builds a getenv from pairs.
func env(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func mustParse(t *testing.T, yml string, getenv func(string) (string, bool)) *Config {
	t.Helper()
	if getenv == nil {
		getenv = env()
	}
	cfg, err := Parse([]byte(yml), "test.yaml", getenv)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return cfg
}

func parseErr(t *testing.T, yml string, getenv func(string) (string, bool)) *LoadError {
	t.Helper()
	if getenv == nil {
		getenv = env()
	}
	_, err := Parse([]byte(yml), "test.yaml", getenv)
	if err == nil {
		t.Fatalf("Parse succeeded, want an error")
	}
	var le *LoadError
	if !errors.As(err, &le) {
		t.Fatalf("error is %T, want *LoadError: %v", err, err)
	}
	return le
}

func findModel(t *testing.T, cfg *Config, name string) Deployment {
	t.Helper()
	for _, d := range cfg.Models {
		if d.ModelName == name {
			return d
		}
	}
	t.Fatalf("no deployment %q in %d models", name, len(cfg.Models))
	return Deployment{}
}

func hasDiag(ds []Diagnostic, substr string) bool {
	for _, d := range ds {
		if strings.Contains(d.String(), substr) {
			return true
		}
	}
	return false
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		yml  string
		env  func(string) (string, bool)
		want []string // substrings, each must appear in the error text
	}{
		{
			name: "missing env var names var and file:line",
			yml: `model_list:
  - model_name: a
    litellm_params:
      model: openai/gpt-4o
      api_key: os.environ/MISSING_KEY
`,
			want: []string{"test.yaml:5: error: model_list[0].litellm_params.api_key:", "MISSING_KEY"},
		},
		{
			name: "missing env var deep in a list of dicts",
			yml: `model_list:
  - model_name: a
    litellm_params:
      model: openai/gpt-4o
      tools:
        - type: function
          function: {name: os.environ/TOOL_NAME}
`,
			want: []string{"test.yaml:7:", "model_list[0].litellm_params.tools[0].function.name", "TOOL_NAME"},
		},
		{
			name: "unknown provider names deployment and line",
			yml: `model_list:
  - model_name: my-model
    litellm_params:
      model: notaprovider/some-model
`,
			want: []string{"test.yaml:4: error: model_list[0].litellm_params.model:", `deployment "my-model"`, `unknown provider "notaprovider"`},
		},
		{
			name: "provider typo gets a hint",
			yml: `model_list:
  - model_name: m
    litellm_params: {model: antropic/claude-3-haiku}
`,
			want: []string{`did you mean "anthropic"?`},
		},
		{
			name: "LiteLLM-only provider",
			yml: `model_list:
  - model_name: m
    litellm_params: {model: sagemaker/my-endpoint}
`,
			want: []string{`provider "sagemaker"`, "does not serve yet"},
		},
		{
			name: "duplicate explicit id",
			yml: `model_list:
  - model_name: a
    litellm_params: {model: openai/gpt-4o}
    model_info: {id: dep-1}
  - model_name: b
    litellm_params: {model: openai/gpt-4o-mini}
    model_info: {id: dep-1}
`,
			want: []string{"test.yaml:7: error: model_list[1].model_info.id:", `deployment id "dep-1" is already used by the deployment at line 2`},
		},
		{
			name: "bad types",
			yml: `model_list:
  - model_name: a
    litellm_params:
      model: openai/gpt-4o
      rpm: lots
      timeout: [1]
router_settings:
  num_retries: "three"
  allowed_fails: 1.5
  disable_cooldowns: maybe
  redis_port: sixty
litellm_settings:
  request_timeout: soon
`,
			want: []string{
				`test.yaml:5: error: model_list[0].litellm_params.rpm: must be an integer, got string "lots"`,
				"test.yaml:6: error: model_list[0].litellm_params.timeout: must be a number, got a list",
				`test.yaml:8: error: router_settings.num_retries: must be an integer`,
				`test.yaml:9: error: router_settings.allowed_fails: must be an integer, got number 1.5`,
				`test.yaml:10: error: router_settings.disable_cooldowns: must be true or false`,
				`test.yaml:11: error: router_settings.redis_port: must be a port number`,
				`test.yaml:13: error: litellm_settings.request_timeout: must be a number`,
			},
		},
		{
			// Issue 8 item 4: an empty key would open the gateway.
			name: "empty master_key",
			yml: `model_list:
  - model_name: a
    litellm_params: {model: openai/gpt-4o}
general_settings:
  master_key: ""
`,
			want: []string{`test.yaml:5: error: general_settings.master_key: must not be empty`},
		},
		{
			name: "did you mean, in every section",
			yml: `model_lst: []
model_list:
  - model_name: a
    litellm_params: {model: openai/gpt-4o, api_bse: http://x}
router_settings:
  routing_stratgy: least-busy
litellm_settings:
  num_retires: 3
general_settings:
  masterkey: sk-1
`,
			want: []string{
				`test.yaml:1: error: model_lst: unknown key "model_lst" in top-level; did you mean "model_list"?`,
				`test.yaml:4: error: model_list[0].litellm_params.api_bse: unknown key "api_bse" in litellm_params; did you mean "api_base"?`,
				`test.yaml:6: error: router_settings.routing_stratgy: unknown key "routing_stratgy" in router_settings; did you mean "routing_strategy"?`,
				`did you mean "num_retries"?`,
				`did you mean "master_key"?`,
			},
		},
		{
			name: "bad routing strategy",
			yml: `model_list: []
router_settings: {routing_strategy: round-robin}
`,
			want: []string{`test.yaml:2: error: router_settings.routing_strategy: unknown routing strategy "round-robin"; must be one of simple-shuffle`},
		},
		{
			name: "fallback and alias targets must exist",
			yml: `model_list:
  - model_name: gpt-4o
    litellm_params: {model: openai/gpt-4o}
router_settings:
  fallbacks: [{gpt-4o: [gpt4o]}]
  context_window_fallbacks: [{nope: [gpt-4o]}]
  model_group_alias: {gpt-4: gpt-5}
litellm_settings:
  default_fallbacks: [claude]
`,
			want: []string{
				`test.yaml:5: error: router_settings.fallbacks[0].gpt-4o: fallback "gpt4o" names no model group in model_list; did you mean "gpt-4o"?`,
				`test.yaml:6: error: router_settings.context_window_fallbacks[0].nope: "nope" is not a model group in model_list`,
				`test.yaml:7: error: router_settings.model_group_alias.gpt-4: alias target "gpt-5" names no model group`,
				`test.yaml:9: error: litellm_settings.default_fallbacks: fallback "claude"`,
			},
		},
		{
			name: "fallback value must be a list",
			yml: `model_list:
  - model_name: a
    litellm_params: {model: openai/gpt-4o}
router_settings:
  fallbacks: [{a: b}]
`,
			want: []string{`router_settings.fallbacks[0].a: must be a list of model groups`},
		},
		{
			name: "required fields",
			yml: `model_list:
  - litellm_params: {model: openai/gpt-4o}
  - model_name: b
  - model_name: c
    litellm_params: {api_key: x}
`,
			want: []string{
				"test.yaml:2: error: model_list[0].model_name: is required",
				"test.yaml:3: error: model_list[1].litellm_params: is required",
				"test.yaml:5: error: model_list[2].litellm_params.model: is required",
			},
		},
		{
			name: "azure needs api_base",
			yml: `model_list:
  - model_name: a
    litellm_params: {model: azure/my-deployment, api_key: k}
`,
			want: []string{`deployment "a": provider azure has no default endpoint; set api_base (or set AZURE_API_BASE)`},
		},
		{
			name: "bad environment",
			yml: `model_list:
  - model_name: a
    litellm_params: {model: openai/gpt-4o}
    model_info: {supported_environments: [prod]}
`,
			want: []string{`test.yaml:4: error: model_list[0].model_info.supported_environments[0]: unknown environment "prod"`},
		},
		{
			name: "yaml syntax error has a line",
			yml:  "model_list:\n  - model_name: a\n   bad: [\n",
			want: []string{"test.yaml:"},
		},
		{
			name: "duplicate key",
			yml: `model_list: []
router_settings:
  num_retries: 1
  num_retries: 2
`,
			want: []string{"test.yaml:4: error: router_settings.num_retries: defined twice (first at line 3)"},
		},
		{
			name: "unknown cache type and mode",
			yml: `litellm_settings:
  cache: true
  cache_params: {type: memcached, mode: always}
`,
			want: []string{`unknown cache type "memcached"`, `must be default_on or default_off`},
		},
		{
			name: "retry policy class typo",
			yml: `router_settings:
  retry_policy: {RateLimitErrorRetry: 3}
`,
			want: []string{`did you mean "RateLimitErrorRetries"?`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			le := parseErr(t, tt.yml, tt.env)
			text := le.Error()
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("error text lacks %q; got:\n%s", w, text)
				}
			}
			for _, d := range le.Diagnostics {
				if d.Severity != SeverityError {
					t.Errorf("LoadError.Diagnostics holds a non-error: %v", d)
				}
			}
		})
	}
}

func TestLoadErrorListsAllErrors(t *testing.T) {
	le := parseErr(t, `model_list:
  - model_name: a
    litellm_params: {model: bogus/x}
  - model_name: b
    litellm_params: {model: openai/x, api_key: os.environ/NOPE}
router_settings: {routing_strategy: nope}
`, nil)
	if len(le.Diagnostics) != 3 {
		t.Fatalf("got %d diagnostics, want 3:\n%s", len(le.Diagnostics), le.Error())
	}
	lines := []int{le.Diagnostics[0].Pos.Line, le.Diagnostics[1].Pos.Line, le.Diagnostics[2].Pos.Line}
	if !slices.Equal(lines, []int{3, 5, 6}) {
		t.Errorf("lines = %v, want [3 5 6] (sorted by position)", lines)
	}
	if !strings.HasPrefix(le.Error(), "invalid config (3 errors):\ntest.yaml:3: error: ") {
		t.Errorf("Error() = %q", le.Error())
	}
}

func TestEnvResolution(t *testing.T) {
	yml := `environment_variables:
  KEY_FROM_CONFIG: sk-config
  CHAINED: os.environ/REAL_VAR
  RPM_VALUE: "60"
model_list:
  - model_name: a
    litellm_params:
      model: openai/gpt-4o
      api_key: os.environ/KEY_FROM_CONFIG
      rpm: os.environ/RPM_VALUE
      extra_headers: {X-Team: os.environ/TEAM}
      tools:
        - type: function
          function:
            name: os.environ/TOOL_NAME
            parameters: {items: [os.environ/TEAM, plain]}
    model_info:
      metadata: {owner: os.environ/CHAINED}
general_settings:
  master_key: os.environ/MASTER
`
	cfg := mustParse(t, yml, env("REAL_VAR", "real", "TEAM", "blue", "TOOL_NAME", "lookup", "MASTER", "sk-master",
		"KEY_FROM_CONFIG", "sk-process"))
	d := findModel(t, cfg, "a")
	if d.Params.APIKey != "sk-config" {
		t.Errorf("api_key = %q, want environment_variables to win over the process env", d.Params.APIKey)
	}
	if d.Params.RPM != 60 {
		t.Errorf("rpm = %d, want 60 (an env value retyped as integer)", d.Params.RPM)
	}
	if d.Params.ExtraHeaders["X-Team"] != "blue" {
		t.Errorf("extra_headers = %v", d.Params.ExtraHeaders)
	}
	tools := d.Params.Defaults["tools"].([]any)
	fn := tools[0].(map[string]any)["function"].(map[string]any)
	if fn["name"] != "lookup" {
		t.Errorf("tools[0].function.name = %v, want resolved at depth inside a list", fn["name"])
	}
	items := fn["parameters"].(map[string]any)["items"].([]any)
	if items[0] != "blue" || items[1] != "plain" {
		t.Errorf("items = %v", items)
	}
	if d.Info.Metadata["owner"] != "real" {
		t.Errorf("metadata.owner = %v, want the chained env var", d.Info.Metadata["owner"])
	}
	if cfg.General.MasterKey != "sk-master" {
		t.Errorf("master_key = %q", cfg.General.MasterKey)
	}
	if cfg.EnvVars["CHAINED"] != "real" || cfg.EnvVars["KEY_FROM_CONFIG"] != "sk-config" {
		t.Errorf("EnvVars = %v", cfg.EnvVars)
	}
}

func TestEnvironmentVariablesOrder(t *testing.T) {
	// The reference sits before environment_variables in the file: LiteLLM
	// resolves it too early (issues #8919, #22088); we must not.
	yml := `model_list:
  - model_name: a
    litellm_params:
      model: openai/gpt-4o
      api_key: os.environ/DEFINED_BELOW
environment_variables:
  DEFINED_BELOW: sk-below
`
	cfg := mustParse(t, yml, nil)
	if got := findModel(t, cfg, "a").Params.APIKey; got != "sk-below" {
		t.Errorf("api_key = %q, want sk-below", got)
	}
}

func TestProviderEnvDefaults(t *testing.T) {
	yml := `environment_variables:
  GROQ_API_KEY: gsk-config
model_list:
  - model_name: gpt
    litellm_params: {model: gpt-4o}
  - model_name: groq
    litellm_params: {model: groq/llama3-8b-8192}
  - model_name: azure
    litellm_params: {model: azure/my-dep}
  - model_name: bedrock
    litellm_params: {model: bedrock/anthropic.claude-3-haiku-20240307-v1:0}
  - model_name: explicit
    litellm_params: {model: openai/gpt-4o, api_key: sk-explicit, api_base: http://localhost:8000/v1}
  - model_name: ollama
    litellm_params: {model: ollama/llama3}
`
	cfg := mustParse(t, yml, env("OPENAI_API_KEY", "sk-openai", "AZURE_API_KEY", "az-key", "AZURE_API_BASE", "https://x.openai.azure.com",
		"AZURE_API_VERSION", "2024-06-01", "AWS_ACCESS_KEY_ID", "AKIA", "AWS_SECRET_ACCESS_KEY", "secret", "AWS_REGION", "eu-west-1"))
	tests := []struct {
		name, provider, model, key, base, version string
	}{
		{"gpt", "openai", "gpt-4o", "sk-openai", "", ""},
		{"groq", "groq", "llama3-8b-8192", "gsk-config", "", ""},
		{"azure", "azure", "my-dep", "az-key", "https://x.openai.azure.com", "2024-06-01"},
		{"explicit", "openai", "gpt-4o", "sk-explicit", "http://localhost:8000/v1", ""},
		{"ollama", "ollama", "llama3", "", "", ""},
	}
	for _, tt := range tests {
		d := findModel(t, cfg, tt.name)
		if d.Provider != tt.provider || d.Model != tt.model || d.Params.APIKey != tt.key || d.Params.APIBase != tt.base || d.Params.APIVersion != tt.version {
			t.Errorf("%s: got provider=%q model=%q key=%q base=%q version=%q, want %q %q %q %q %q", tt.name,
				d.Provider, d.Model, d.Params.APIKey, d.Params.APIBase, d.Params.APIVersion, tt.provider, tt.model, tt.key, tt.base, tt.version)
		}
	}
	b := findModel(t, cfg, "bedrock")
	if b.Params.AWSAccessKeyID != "AKIA" || b.Params.AWSSecretAccessKey != "secret" || b.Params.AWSRegionName != "eu-west-1" {
		t.Errorf("bedrock AWS fields = %+v", b.Params)
	}
	if got := findModel(t, cfg, "ollama").APIBaseOrDefault(); got != "http://localhost:11434" {
		t.Errorf("ollama APIBaseOrDefault = %q", got)
	}
	if got := findModel(t, cfg, "groq").APIBaseOrDefault(); got != "https://api.groq.com/openai/v1" {
		t.Errorf("groq APIBaseOrDefault = %q", got)
	}
}

func TestDeploymentFields(t *testing.T) {
	yml := `model_list:
  - model_name: vllm-models
    litellm_params:
      model: openai/facebook/opt-125m
      api_base: http://localhost:8000/v1
      api_key: none
      rpm: 1440
      tpm: 100000
      weight: 2.5
      timeout: 30
      stream_timeout: 1.5
      max_retries: 0
      organization: org-1
      extra_headers: {"AI-Resource Group": ishaan-resource}
      temperature: 0.2
      max_tokens: 20
      stop: ["\n"]
      seed: 12
      drop_params: yes
      additional_drop_params: [logit_bias]
      mock_response: hi
      input_cost_per_token: 0.000001
      input_cost_per_second: 0.25
      output_cost_per_second: 0.5
      top_k: 5
    model_info:
      mode: chat
      output_cost_per_second: 0.75
      max_input_tokens: 2048
      base_model: opt
      version: 2
      notes: anything goes
`
	cfg := mustParse(t, yml, nil)
	d := findModel(t, cfg, "vllm-models")
	if d.Provider != "openai" || d.Model != "facebook/opt-125m" || d.Params.Model != "openai/facebook/opt-125m" {
		t.Errorf("provider/model = %q %q %q", d.Provider, d.Model, d.Params.Model)
	}
	p := d.Params
	if p.RPM != 1440 || p.TPM != 100000 || p.Weight != 2.5 || p.Timeout != 30*time.Second || p.StreamTimeout != 1500*time.Millisecond {
		t.Errorf("limits = %+v", p)
	}
	if p.MaxRetries == nil || *p.MaxRetries != 0 {
		t.Errorf("max_retries = %v, want explicit 0", p.MaxRetries)
	}
	if p.DropParams == nil || !*p.DropParams || !slices.Equal(p.AdditionalDropParams, []string{"logit_bias"}) {
		t.Errorf("drop params = %v %v", p.DropParams, p.AdditionalDropParams)
	}
	if p.MockResponse == nil || *p.MockResponse != "hi" {
		t.Errorf("mock_response = %v", p.MockResponse)
	}
	if p.Organization != "org-1" || p.ExtraHeaders["AI-Resource Group"] != "ishaan-resource" {
		t.Errorf("org/headers = %q %v", p.Organization, p.ExtraHeaders)
	}
	wantDefaults := map[string]any{"temperature": 0.2, "max_tokens": 20, "seed": 12, "top_k": 5}
	for k, v := range wantDefaults {
		if p.Defaults[k] != v {
			t.Errorf("Defaults[%s] = %#v, want %#v", k, p.Defaults[k], v)
		}
	}
	if stop, _ := p.Defaults["stop"].([]any); len(stop) != 1 || stop[0] != "\n" {
		t.Errorf("Defaults[stop] = %#v", p.Defaults["stop"])
	}
	for _, named := range []string{"rpm", "api_key", "mock_response", "input_cost_per_token", "input_cost_per_second", "model"} {
		if _, ok := p.Defaults[named]; ok {
			t.Errorf("named field %s leaked into Defaults", named)
		}
	}
	if d.Info.InputCostPerToken == nil || *d.Info.InputCostPerToken != 0.000001 {
		t.Errorf("litellm_params.input_cost_per_token not mapped into Info: %v", d.Info.InputCostPerToken)
	}
	// D102: copied like input_cost_per_token; model_info's own value wins.
	if d.Info.InputCostPerSecond == nil || *d.Info.InputCostPerSecond != 0.25 || d.Info.OutputCostPerSecond == nil || *d.Info.OutputCostPerSecond != 0.75 {
		t.Errorf("per-second prices in Info = %v %v, want 0.25 (copied) 0.75 (model_info's)", d.Info.InputCostPerSecond, d.Info.OutputCostPerSecond)
	}
	if d.Info.Mode != "chat" || d.Info.MaxInputTokens != 2048 || d.Info.BaseModel != "opt" {
		t.Errorf("info = %+v", d.Info)
	}
	if d.Info.Extra["version"] != 2 || d.Info.Extra["notes"] != "anything goes" {
		t.Errorf("Extra = %v, want arbitrary model_info keys passed through", d.Info.Extra)
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("unexpected warnings: %v", cfg.Warnings)
	}
}

func TestWarnings(t *testing.T) {
	yml := `finetune_settings: {purpose: x}
model_list:
  - model_name: a
    litellm_params:
      model: openai/gpt-4o
      hf_model_name: x
      my_custom_param: 1
    model_info:
      max_input_token: 10
litellm_settings:
  success_callback: [helicone]
  cache: true
  cache_params: {type: redis-semantic}
general_settings:
  database_url: postgres://x
router_settings:
  enable_pre_call_check: true
`
	cfg := mustParse(t, yml, nil)
	want := []string{
		"test.yaml:1: warning: finetune_settings: accepted, not implemented yet",
		"test.yaml:6: warning: model_list[0].litellm_params.hf_model_name: accepted, not implemented yet",
		"test.yaml:7: warning: model_list[0].litellm_params.my_custom_param: not a known LiteLLM parameter; sent to the provider as a request default",
		`test.yaml:9: warning: model_list[0].model_info.max_input_token: unknown key "max_input_token" in model_info, passed through to /model/info; did you mean "max_input_tokens"?`,
		`test.yaml:11: warning: litellm_settings.success_callback[0]: callback "helicone": accepted, not implemented yet`,
		`test.yaml:13: warning: litellm_settings.cache_params.type: cache type "redis-semantic" is accepted, not implemented yet`,
		"test.yaml:15: warning: general_settings.database_url: partly implemented",
		"test.yaml:17: warning: router_settings.enable_pre_call_check: partly implemented",
	}
	for _, w := range want {
		if !hasDiag(cfg.Warnings, w) {
			t.Errorf("missing warning %q; got:\n%v", w, cfg.Warnings)
		}
	}
	if len(cfg.Warnings) != len(want) {
		t.Errorf("got %d warnings, want %d: %v", len(cfg.Warnings), len(want), cfg.Warnings)
	}
	d := findModel(t, cfg, "a")
	if _, ok := d.Params.Defaults["hf_model_name"]; ok {
		t.Errorf("a NotYet param must not become a request default")
	}
	if d.Params.Defaults["my_custom_param"] != 1 {
		t.Errorf("unknown param not passed through: %v", d.Params.Defaults)
	}
	if !cfg.Router.EnablePreCallChecks {
		t.Errorf("enable_pre_call_check not read as enable_pre_call_checks")
	}
}

func TestRouterDefaults(t *testing.T) {
	cfg := mustParse(t, "model_list: []\n", nil)
	r := cfg.Router
	if r.RoutingStrategy != "simple-shuffle" || r.NumRetries != 2 || r.NumRetriesSet || r.Timeout != 600*time.Second ||
		r.StreamTimeout != 600*time.Second || r.AllowedFails != 3 || r.CooldownTime != 5*time.Second || r.MaxFallbacks != 5 {
		t.Errorf("defaults = %+v", r)
	}
	if cfg.General.HealthCheckInterval != 300*time.Second {
		t.Errorf("health_check_interval default = %v", cfg.General.HealthCheckInterval)
	}
	if !hasDiag(cfg.Warnings, "model_list: is empty") {
		t.Errorf("want a warning for an empty model_list, got %v", cfg.Warnings)
	}
}

func TestRouterPrecedence(t *testing.T) {
	groups := `model_list:
  - {model_name: a, litellm_params: {model: openai/a}}
  - {model_name: b, litellm_params: {model: openai/b}}
  - {model_name: c, litellm_params: {model: openai/c}}
`
	tests := []struct {
		name  string
		yml   string
		check func(t *testing.T, r RouterSettings, l LiteLLMSettings)
	}{
		{"litellm_settings feeds the router", `litellm_settings:
  num_retries: 4
  request_timeout: 10
  fallbacks: [{a: [b]}]
  context_window_fallbacks: [{a: [c]}]
  content_policy_fallbacks: [{b: [c]}]
  default_fallbacks: [c]
  allowed_fails: 1
  cooldown_time: 0.5
`, func(t *testing.T, r RouterSettings, l LiteLLMSettings) {
			if r.NumRetries != 4 || !r.NumRetriesSet || r.Timeout != 10*time.Second || r.StreamTimeout != 10*time.Second ||
				r.AllowedFails != 1 || r.CooldownTime != 500*time.Millisecond {
				t.Errorf("router = %+v", r)
			}
			if len(r.Fallbacks) != 1 || r.Fallbacks[0].Group != "a" || !slices.Equal(r.Fallbacks[0].To, []string{"b"}) {
				t.Errorf("fallbacks = %+v", r.Fallbacks)
			}
			if len(r.ContextWindowFallbacks) != 1 || len(r.ContentPolicyFallbacks) != 1 || !slices.Equal(r.DefaultFallbacks, []string{"c"}) {
				t.Errorf("other fallbacks = %+v %+v %v", r.ContextWindowFallbacks, r.ContentPolicyFallbacks, r.DefaultFallbacks)
			}
			if l.NumRetries == nil || *l.NumRetries != 4 || l.RequestTimeout != 10*time.Second {
				t.Errorf("litellm = %+v", l)
			}
		}},
		{"router_settings wins", `litellm_settings:
  num_retries: 4
  request_timeout: 10
  fallbacks: [{a: [b]}]
router_settings:
  num_retries: 0
  timeout: 30
  stream_timeout: 60
  fallbacks: [{a: [c]}, {b: [a, c]}]
  max_fallbacks: 1
  routing_strategy: latency-based-routing
  routing_strategy_args: {lowest_latency_buffer: 0.5}
  retry_policy: {RateLimitErrorRetries: 3}
  allowed_fails_policy: {BadRequestErrorAllowedFails: 1000}
  redis_host: localhost
  redis_port: 6379
  redis_password: pw
`, func(t *testing.T, r RouterSettings, l LiteLLMSettings) {
			if r.NumRetries != 0 || !r.NumRetriesSet || r.Timeout != 30*time.Second || r.StreamTimeout != 60*time.Second || r.MaxFallbacks != 1 {
				t.Errorf("router = %+v", r)
			}
			if len(r.Fallbacks) != 2 || r.Fallbacks[0].To[0] != "c" || r.Fallbacks[1].Group != "b" {
				t.Errorf("fallbacks = %+v", r.Fallbacks)
			}
			if r.RoutingStrategy != "latency-based-routing" || r.RoutingStrategyArgs["lowest_latency_buffer"] != 0.5 {
				t.Errorf("strategy = %q %v", r.RoutingStrategy, r.RoutingStrategyArgs)
			}
			if r.RetryPolicy["RateLimitErrorRetries"] != 3 || r.AllowedFailsPolicy["BadRequestErrorAllowedFails"] != 1000 {
				t.Errorf("policies = %v %v", r.RetryPolicy, r.AllowedFailsPolicy)
			}
			if r.RedisHost != "localhost" || r.RedisPort != "6379" || r.RedisPassword != "pw" {
				t.Errorf("redis = %q %q %q", r.RedisHost, r.RedisPort, r.RedisPassword)
			}
		}},
		{"redis_port as a string", `router_settings: {redis_port: "1992"}
`, func(t *testing.T, r RouterSettings, l LiteLLMSettings) {
			if r.RedisPort != "1992" {
				t.Errorf("redis_port = %q", r.RedisPort)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := mustParse(t, groups+tt.yml, nil)
			tt.check(t, cfg.Router, cfg.LiteLLM)
		})
	}
}

func TestModelGroupAlias(t *testing.T) {
	yml := `model_list:
  - {model_name: gpt-3.5-turbo, litellm_params: {model: openai/gpt-3.5-turbo}}
  - {model_name: claude, litellm_params: {model: anthropic/claude-3-haiku-20240307}}
  - {model_name: "anthropic/*", litellm_params: {model: "anthropic/*"}}
general_settings:
  model_group_alias: {old: claude, shadowed: claude}
litellm_settings:
  model_group_alias: {lite: gpt-3.5-turbo}
router_settings:
  model_group_alias:
    gpt-4: gpt-3.5-turbo
    secret: {model: claude, hidden: true}
    shadowed: {model: gpt-3.5-turbo}
    sonnet: anthropic/claude-3-5-sonnet
`
	cfg := mustParse(t, yml, nil)
	want := map[string]Alias{
		"gpt-4":    {Group: "gpt-3.5-turbo"},
		"secret":   {Group: "claude", Hidden: true},
		"shadowed": {Group: "gpt-3.5-turbo"},
		"sonnet":   {Group: "anthropic/claude-3-5-sonnet"},
		"old":      {Group: "claude"},
		"lite":     {Group: "gpt-3.5-turbo"},
	}
	got := cfg.Router.ModelGroupAlias
	if len(got) != len(want) {
		t.Fatalf("aliases = %+v", got)
	}
	for k, w := range want {
		if got[k].Group != w.Group || got[k].Hidden != w.Hidden {
			t.Errorf("alias %s = %+v, want %+v", k, got[k], w)
		}
		if got[k].Pos.Line == 0 {
			t.Errorf("alias %s has no position", k)
		}
	}
}

func TestWildcard(t *testing.T) {
	yml := `model_list:
  - model_name: "*"
    litellm_params: {model: "*"}
  - model_name: "anthropic/*"
    litellm_params: {model: "anthropic/*", api_key: k}
  - model_name: "fo::*:static::*"
    litellm_params: {model: "openai/fo::*:static::*"}
  - model_name: exact
    litellm_params: {model: gpt-4o}
router_settings:
  fallbacks: [{exact: [anthropic/claude-3-opus, fo::x:static::y]}]
`
	cfg := mustParse(t, yml, nil)
	tests := []struct {
		name, provider, model string
		wildcard              bool
	}{
		{"*", "", "*", true},
		{"anthropic/*", "anthropic", "*", true},
		{"fo::*:static::*", "openai", "fo::*:static::*", true},
		{"exact", "openai", "gpt-4o", false},
	}
	for _, tt := range tests {
		d := findModel(t, cfg, tt.name)
		if d.Wildcard != tt.wildcard || d.Provider != tt.provider || d.Model != tt.model {
			t.Errorf("%s: wildcard=%v provider=%q model=%q", tt.name, d.Wildcard, d.Provider, d.Model)
		}
	}
}

func TestSupportedEnvironments(t *testing.T) {
	yml := `model_list:
  - model_name: everywhere
    litellm_params: {model: openai/gpt-3.5-turbo}
    model_info: {supported_environments: ["development", "production", "staging"]}
  - model_name: prod-staging
    litellm_params: {model: openai/gpt-4}
    model_info: {supported_environments: ["production", "staging"]}
  - model_name: prod
    litellm_params: {model: openai/gpt-4o}
    model_info: {supported_environments: ["production"]}
  - model_name: unlisted
    litellm_params: {model: openai/gpt-4o-mini}
`
	tests := []struct {
		env     string
		served  []string
		skipped []string
	}{
		{"", []string{"everywhere", "prod-staging", "prod", "unlisted"}, nil},
		{"production", []string{"everywhere", "prod-staging", "prod", "unlisted"}, nil},
		{"staging", []string{"everywhere", "prod-staging", "unlisted"}, []string{"prod"}},
		{"development", []string{"everywhere", "unlisted"}, []string{"prod-staging", "prod"}},
	}
	names := func(ds []Deployment) []string {
		var out []string
		for _, d := range ds {
			out = append(out, d.ModelName)
		}
		return out
	}
	for _, tt := range tests {
		t.Run("env="+tt.env, func(t *testing.T) {
			getenv := env()
			if tt.env != "" {
				getenv = env("LITELLM_ENVIRONMENT", tt.env)
			}
			cfg := mustParse(t, yml, getenv)
			if got := names(cfg.Models); !slices.Equal(got, tt.served) {
				t.Errorf("served = %v, want %v", got, tt.served)
			}
			if got := names(cfg.Skipped); !slices.Equal(got, tt.skipped) {
				t.Errorf("skipped = %v, want %v", got, tt.skipped)
			}
		})
	}
	le := parseErr(t, yml, env("LITELLM_ENVIRONMENT", "prod"))
	if !strings.Contains(le.Error(), `LITELLM_ENVIRONMENT: is "prod"; must be one of development, staging, production`) {
		t.Errorf("bad LITELLM_ENVIRONMENT: %v", le)
	}
}

func TestFallbackToSkippedGroupWarns(t *testing.T) {
	yml := `model_list:
  - {model_name: a, litellm_params: {model: openai/a}}
  - {model_name: b, litellm_params: {model: openai/b}, model_info: {supported_environments: [production]}}
router_settings:
  fallbacks: [{a: [b]}]
`
	cfg := mustParse(t, yml, env("LITELLM_ENVIRONMENT", "staging"))
	if !hasDiag(cfg.Warnings, `fallback "b" is not served in this environment`) {
		t.Errorf("warnings = %v", cfg.Warnings)
	}
}

func TestDeploymentIDs(t *testing.T) {
	base := `model_list:
  - model_name: gpt-3.5-turbo
    litellm_params: {model: azure/gpt-turbo-small-eu, api_base: https://eu.example.com, api_key: KEY, rpm: 6}
  - model_name: gpt-3.5-turbo
    litellm_params: {model: azure/gpt-turbo-small-ca, api_base: https://ca.example.com, api_key: KEY2}
  - model_name: bedrock-cohere
    litellm_params: {model: bedrock/cohere.command-text-v14, aws_region_name: us-west-2}
  - model_name: bedrock-cohere
    litellm_params: {model: bedrock/cohere.command-text-v14, aws_region_name: us-west-2}
  - model_name: fixed
    litellm_params: {model: openai/gpt-4o}
    model_info: {id: my-id}
`
	ids := func(yml string) []string {
		cfg := mustParse(t, yml, nil)
		var out []string
		for _, d := range cfg.Models {
			out = append(out, d.ID)
		}
		return out
	}
	first := ids(base)
	if !slices.Equal(first, ids(base)) {
		t.Fatalf("ids differ between two loads of the same config")
	}
	if first[4] != "my-id" {
		t.Errorf("model_info.id not used: %v", first)
	}
	seen := map[string]bool{}
	for _, id := range first {
		if seen[id] {
			t.Errorf("duplicate generated id %q in %v", id, first)
		}
		seen[id] = true
		if id != "my-id" && len(id) != 12 {
			t.Errorf("generated id %q is not 12 hex digits", id)
		}
	}
	// Secrets and limits are not hashed; the endpoint is.
	rotated := strings.Replace(base, "api_key: KEY,", "api_key: ROTATED,", 1)
	rotated = strings.Replace(rotated, "rpm: 6", "rpm: 600", 1)
	if got := ids(rotated); !slices.Equal(got, first) {
		t.Errorf("changing api_key/rpm changed ids: %v -> %v", first, got)
	}
	// A key in the api_base's query is a secret too: rotating it keeps the id.
	withQuery := strings.Replace(base, "https://ca.example.com", `"https://ca.example.com?key=OLD"`, 1)
	rotatedQuery := strings.Replace(base, "https://ca.example.com", `"https://ca.example.com?key=NEW"`, 1)
	if a, b := ids(withQuery), ids(rotatedQuery); !slices.Equal(a, b) || a[1] != first[1] {
		t.Errorf("rotating a key in the api_base query changed ids: %v -> %v (without query %v)", a, b, first)
	}
	moved := strings.Replace(base, "https://eu.example.com", "https://eu2.example.com", 1)
	if got := ids(moved); got[0] == first[0] || got[1] != first[1] {
		t.Errorf("changing api_base: ids %v -> %v, want only the first to change", first, got)
	}
	// Pin the rule documented in doc.go.
	want := generatedID([]string{"gpt-3.5-turbo", "azure/gpt-turbo-small-eu", "https://eu.example.com", "", "", "", "", ""}, 0)
	if first[0] != want {
		t.Errorf("id = %q, want %q from the documented rule", first[0], want)
	}
}

func TestOrganizationList(t *testing.T) {
	cfg := mustParse(t, `model_list:
  - model_name: "*"
    litellm_params:
      model: openai/*
      api_key: sk
      organization: [org-1, org-2, org-3]
`, nil)
	if len(cfg.Models) != 3 {
		t.Fatalf("got %d deployments, want one per organization", len(cfg.Models))
	}
	ids := map[string]bool{}
	for i, d := range cfg.Models {
		if want := []string{"org-1", "org-2", "org-3"}[i]; d.Params.Organization != want {
			t.Errorf("deployment %d organization = %q, want %q", i, d.Params.Organization, want)
		}
		ids[d.ID] = true
	}
	if len(ids) != 3 {
		t.Errorf("ids not distinct: %v", ids)
	}
}

func TestCacheParams(t *testing.T) {
	cfg := mustParse(t, `litellm_settings:
  cache: true
  cache_params:
    type: redis
    port: "6380"
    namespace: litellm.caching
    ttl: 600
    mode: default_off
    supported_call_types: [acompletion]
`, env("REDIS_HOST", "redis.local", "REDIS_PASSWORD", "pw"))
	cp := cfg.LiteLLM.CacheParams
	if !cfg.LiteLLM.Cache || cp.Type != "redis" || cp.Host != "redis.local" || cp.Port != "6380" || cp.Password != "pw" ||
		cp.Namespace != "litellm.caching" || cp.TTL != 600*time.Second || cp.Mode != "default_off" || !slices.Equal(cp.SupportedCallTypes, []string{"acompletion"}) {
		t.Errorf("cache params = %+v", cp)
	}
	cfg = mustParse(t, "litellm_settings: {cache: true}\n", nil)
	if cp := cfg.LiteLLM.CacheParams; cp.Type != "local" || cp.Mode != "default_on" || len(cp.SupportedCallTypes) == 0 {
		t.Errorf("cache defaults = %+v", cp)
	}
}

func TestAnchorsAndMergeKeys(t *testing.T) {
	cfg := mustParse(t, `model_list:
  - model_name: a
    litellm_params: &common
      model: openai/a
      api_base: http://localhost:8000/v1
      rpm: 10
  - model_name: b
    litellm_params:
      <<: *common
      rpm: 20
`, nil)
	b := findModel(t, cfg, "b")
	if b.Params.Model != "openai/a" || b.Params.APIBase != "http://localhost:8000/v1" || b.Params.RPM != 20 {
		t.Errorf("merged params = %+v", b.Params)
	}
	if a := findModel(t, cfg, "a"); a.Params.RPM != 10 {
		t.Errorf("anchor source rpm = %d", a.Params.RPM)
	}
}

func TestGeneralMaxParallelRequests(t *testing.T) {
	base := "model_list:\n  - model_name: a\n    litellm_params: {model: openai/gpt-4o}\n"
	cfg := mustParse(t, base+"general_settings:\n  max_parallel_requests: 7\n", nil)
	if cfg.Router.DefaultMaxParallelRequests != 7 {
		t.Errorf("general_settings.max_parallel_requests → %d, want 7", cfg.Router.DefaultMaxParallelRequests)
	}
	cfg = mustParse(t, base+"general_settings:\n  max_parallel_requests: 7\nrouter_settings:\n  default_max_parallel_requests: 3\n", nil)
	if cfg.Router.DefaultMaxParallelRequests != 3 {
		t.Errorf("router_settings must win: %d", cfg.Router.DefaultMaxParallelRequests)
	}
}

// TestEntryLimits: rpm/tpm written next to litellm_params (LiteLLM's router
// reads them there first) are the deployment's limits, the same fields as
// litellm_params.rpm/tpm.
func TestEntryLimits(t *testing.T) {
	cfg := mustParse(t, `model_list:
  - model_name: a
    rpm: 10
    tpm: 1000
    litellm_params:
      model: openai/gpt-4o
  - model_name: b
    rpm: 7
    litellm_params:
      model: openai/gpt-4o
      rpm: 9
      tpm: 500
`, nil)
	a, b := findModel(t, cfg, "a"), findModel(t, cfg, "b")
	if a.Params.RPM != 10 || a.Params.TPM != 1000 {
		t.Errorf("a: rpm %d tpm %d, want 10 and 1000", a.Params.RPM, a.Params.TPM)
	}
	if b.Params.RPM != 7 || b.Params.TPM != 500 {
		t.Errorf("b: rpm %d tpm %d, want 7 (entry wins) and 500", b.Params.RPM, b.Params.TPM)
	}
	if !hasDiag(cfg.Warnings, "test.yaml:8: warning: model_list[1].rpm: is 7 here and 9 in litellm_params") || len(cfg.Warnings) != 1 {
		t.Errorf("warnings: %v", cfg.Warnings)
	}
	le := parseErr(t, "model_list:\n  - model_name: a\n    rpm: many\n    litellm_params: {model: openai/gpt-4o}\n", nil)
	if !hasDiag(le.Diagnostics, "test.yaml:3: error: model_list[0].rpm: must be an integer") {
		t.Errorf("errors: %v", le.Diagnostics)
	}
}

// TestLiteLLMProxyServerConfig: LiteLLM's own proxy_server_config.yaml loads,
// with only the variables its implemented keys need; per-deployment
// num_retries is read, and LiteLLM-only params never become request defaults.
func TestLiteLLMProxyServerConfig(t *testing.T) {
	data, err := os.ReadFile("testdata/litellm_proxy_server_config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse(data, "proxy_server_config.yaml", env("OPENAI_API_KEY", "k", "ANTHROPIC_API_KEY", "k", "GROQ_API_KEY", "k",
		"GOOGLE_API_KEY", "k", "REDIS_HOST", "localhost", "REDIS_PORT", "6379", "REDIS_PASSWORD", "p", "AZURE_API_BASE", "https://x.openai.azure.com"))
	if err != nil {
		t.Fatal(err)
	}
	d := findModel(t, cfg, "fake-openai-endpoint-4")
	if d.Params.NumRetries == nil || *d.Params.NumRetries != 50 {
		t.Errorf("num_retries = %v, want 50", d.Params.NumRetries)
	}
	for _, d := range cfg.Models {
		for _, k := range []string{"num_retries", "mock_timeout", "realtime_protocol"} {
			if _, ok := d.Params.Defaults[k]; ok {
				t.Errorf("%s: %s would be sent to the provider", d.ModelName, k)
			}
		}
	}
	if !hasDiag(cfg.Warnings, "default_team_settings[0].langfuse_public_key: environment variable LANGFUSE_PROJECT1_PUBLIC is not set") ||
		!hasDiag(cfg.Warnings, "finetune_settings[0].api_key: environment variable AZURE_API_KEY is not set") {
		t.Errorf("unset variables under not-yet keys are not warnings: %v", cfg.Warnings)
	}
	if cfg.Router.RoutingStrategy != "usage-based-routing-v2" || cfg.General.MasterKey != "sk-1234" || len(cfg.Models) != 27 {
		t.Errorf("strategy %q, master key %q, %d deployments", cfg.Router.RoutingStrategy, cfg.General.MasterKey, len(cfg.Models))
	}
}

// TestUnsetEnv: an unset variable is an error under an implemented key, a
// warning under a key that is not implemented yet, and with UnsetEnvWarns a
// warning everywhere (the value reads as unset).
func TestUnsetEnv(t *testing.T) {
	yml := `model_list:
  - model_name: a
    litellm_params:
      model: openai/gpt-4o
      api_key: os.environ/NOPE_KEY
      rpm: os.environ/NOPE_RPM
      hf_model_name: os.environ/NOPE_ROLE
  - model_name: b
    litellm_params:
      model: azure/gpt-4o
litellm_settings:
  disable_hf_tokenizer_download: os.environ/NOPE_CALLBACK
`
	le := parseErr(t, yml, nil)
	for _, want := range []string{"test.yaml:5: error: model_list[0].litellm_params.api_key: environment variable NOPE_KEY is not set",
		"test.yaml:6: error: model_list[0].litellm_params.rpm: environment variable NOPE_RPM is not set", "provider azure has no default endpoint"} {
		if !hasDiag(le.Diagnostics, want) {
			t.Errorf("missing error %q: %v", want, le.Diagnostics)
		}
	}
	for _, want := range []string{"test.yaml:7: warning: model_list[0].litellm_params.hf_model_name: environment variable NOPE_ROLE is not set",
		"test.yaml:12: warning: litellm_settings.disable_hf_tokenizer_download: environment variable NOPE_CALLBACK is not set"} {
		if !hasDiag(le.Warnings, want) {
			t.Errorf("missing warning %q: %v", want, le.Warnings)
		}
	}
	cfg, err := ParseWithOptions([]byte(yml), "test.yaml", env(), Options{UnsetEnvWarns: true})
	if err != nil {
		t.Fatalf("with UnsetEnvWarns: %v", err)
	}
	for _, want := range []string{"test.yaml:5: warning: model_list[0].litellm_params.api_key: environment variable NOPE_KEY is not set",
		"test.yaml:6: warning: model_list[0].litellm_params.rpm: environment variable NOPE_RPM is not set", "--no-env"} {
		if !hasDiag(cfg.Warnings, want) {
			t.Errorf("missing warning %q: %v", want, cfg.Warnings)
		}
	}
	if a := findModel(t, cfg, "a"); a.Params.APIKey != "" || a.Params.RPM != 0 {
		t.Errorf("unset variables must read as unset: key %q rpm %d", a.Params.APIKey, a.Params.RPM)
	}
}

// TestDeploymentTags: litellm_params.tags is read (the spend logs'
// request_tags, D84), without a warning and never sent as a request default.
func TestDeploymentTags(t *testing.T) {
	cfg := mustParse(t, "model_list:\n  - model_name: a\n    litellm_params:\n      model: openai/gpt-4o\n      tags: [free, eu]\n", nil)
	d := findModel(t, cfg, "a")
	if len(d.Params.Tags) != 2 || d.Params.Tags[0] != "free" || d.Params.Tags[1] != "eu" {
		t.Errorf("tags: %v", d.Params.Tags)
	}
	if _, ok := d.Params.Defaults["tags"]; ok || len(cfg.Warnings) != 0 {
		t.Errorf("defaults %v, warnings %v", d.Params.Defaults, cfg.Warnings)
	}
}
