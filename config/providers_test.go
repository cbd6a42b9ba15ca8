package config

import (
	"strings"
	"testing"

	"github.com/llmgate/llmgate/internal/provider"
)

func TestSplitModel(t *testing.T) {
	tests := []struct {
		model, provider, id string
		errSub              string
	}{
		{model: "openai/gpt-4o", provider: "openai", id: "gpt-4o"},
		{model: "openai/facebook/opt-125m", provider: "openai", id: "facebook/opt-125m"},
		{model: "azure/gpt-turbo-small-eu", provider: "azure", id: "gpt-turbo-small-eu"},
		{model: "bedrock/anthropic.claude-3-haiku-20240307-v1:0", provider: "bedrock", id: "anthropic.claude-3-haiku-20240307-v1:0"},
		{model: "huggingface/HuggingFaceH4/zephyr-7b-beta", provider: "huggingface", id: "HuggingFaceH4/zephyr-7b-beta"},
		{model: "ollama_chat/llama3", provider: "ollama_chat", id: "llama3"},
		{model: "vertex_ai/gemini-1.5-pro", provider: "vertex_ai", id: "gemini-1.5-pro"},
		{model: "text-completion-openai/gpt-3.5-turbo-instruct", provider: "text-completion-openai", id: "gpt-3.5-turbo-instruct"},
		{model: "anthropic/*", provider: "anthropic", id: "*"},
		{model: "groq/*", provider: "groq", id: "*"},
		{model: "gpt-4o", provider: "openai", id: "gpt-4o"},
		{model: "o1-mini", provider: "openai", id: "o1-mini"},
		{model: "o3", provider: "openai", id: "o3"},
		{model: "o4-mini", provider: "openai", id: "o4-mini"},
		{model: "text-embedding-3-small", provider: "openai", id: "text-embedding-3-small"},
		{model: "claude-3-5-sonnet-20240620", provider: "anthropic", id: "claude-3-5-sonnet-20240620"},
		{model: "some-local-model", provider: "openai", id: "some-local-model"},
		{model: "meta-llama/Llama-3-8b", errSub: `unknown provider "meta-llama"`},
		{model: "opneai/gpt-4o", errSub: `did you mean "openai"?`},
		{model: "replicate/meta/llama", errSub: "does not serve yet"},
		{model: "openai/", errSub: "no model id"},
		{model: "", errSub: "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			p, id, err := SplitModel(tt.model)
			if tt.errSub != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errSub) {
					t.Fatalf("SplitModel(%q) err = %v, want containing %q", tt.model, err, tt.errSub)
				}
				return
			}
			if err != nil || p != tt.provider || id != tt.id {
				t.Errorf("SplitModel(%q) = %q, %q, %v; want %q, %q", tt.model, p, id, err, tt.provider, tt.id)
			}
		})
	}
}

func TestProviderTable(t *testing.T) {
	tests := []struct {
		name, base, keyEnv string
		compat             bool
	}{
		{"openai", "https://api.openai.com/v1", "OPENAI_API_KEY", true},
		{"anthropic", "https://api.anthropic.com", "ANTHROPIC_API_KEY", false},
		{"groq", "https://api.groq.com/openai/v1", "GROQ_API_KEY", true},
		{"mistral", "https://api.mistral.ai/v1", "MISTRAL_API_KEY", true},
		{"together_ai", "https://api.together.xyz/v1", "TOGETHERAI_API_KEY", true},
		{"deepseek", "https://api.deepseek.com/v1", "DEEPSEEK_API_KEY", true},
		{"fireworks_ai", "https://api.fireworks.ai/inference/v1", "FIREWORKS_AI_API_KEY", true},
		{"openrouter", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY", true},
		{"perplexity", "https://api.perplexity.ai", "PERPLEXITYAI_API_KEY", true},
		{"xai", "https://api.x.ai/v1", "XAI_API_KEY", true},
		{"gemini", "https://generativelanguage.googleapis.com", "GEMINI_API_KEY", false},
		{"cohere", "https://api.cohere.com", "COHERE_API_KEY", false},
		{"ollama", "http://localhost:11434", "OLLAMA_API_KEY", false},
		{"azure", "", "AZURE_API_KEY", false},
		{"huggingface", "https://router.huggingface.co/v1", "HUGGINGFACE_API_KEY", false}, // its own wire format
	}
	for _, tt := range tests {
		p, ok := LookupProvider(tt.name)
		if !ok {
			t.Errorf("LookupProvider(%q) not found", tt.name)
			continue
		}
		if p.Name != tt.name || p.DefaultAPIBase != tt.base || p.KeyEnv != tt.keyEnv || (p.Wire == provider.WireOpenAI) != tt.compat {
			t.Errorf("%s = %+v", tt.name, p)
		}
	}
	if _, ok := LookupProvider("nope"); ok {
		t.Errorf("LookupProvider(nope) found")
	}
	az, _ := LookupProvider("azure")
	if az.BaseEnv != "AZURE_API_BASE" || az.VersionEnv != "AZURE_API_VERSION" || !az.NeedsAPIBase {
		t.Errorf("azure = %+v", az)
	}
	for name := range litellmOnlyProviders {
		if _, ok := LookupProvider(name); ok {
			t.Errorf("%q is both served and LiteLLM-only", name)
		}
	}
}

func TestSuggest(t *testing.T) {
	keys := []string{"model_list", "litellm_settings", "router_settings", "rpm", "tpm", "api_base"}
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"model_lst", "model_list", true},
		{"rmp", "rpm", true},
		{"API_BASE", "api_base", true},
		{"litelm_setings", "litellm_settings", true},
		{"completely_else", "", false},
		{"foo", "", false},
	}
	for _, tt := range tests {
		got, ok := suggest(tt.in, keys)
		if ok != tt.ok || got != tt.want {
			t.Errorf("suggest(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	if d := editDistance("ab", "ba"); d != 1 {
		t.Errorf("transposition distance = %d, want 1", d)
	}
	if d := editDistance("kitten", "sitting"); d != 3 {
		t.Errorf("editDistance(kitten, sitting) = %d, want 3", d)
	}
}

// TestBedrockFederatedParams: a Bedrock deployment's aws_role_name,
// aws_session_name, aws_web_identity_token, aws_sts_endpoint,
// aws_profile_name and aws_external_id are read without a warning, and each
// one not set is read from its name in upper case (LiteLLM's
// get_credentials).
func TestBedrockFederatedParams(t *testing.T) {
	cfg := mustParse(t, `
model_list:
  - model_name: a
    litellm_params: {model: bedrock/anthropic.claude-3-haiku-20240307-v1:0, aws_role_name: arn:role/a, aws_session_name: s, aws_external_id: x}
  - model_name: b
    litellm_params: {model: bedrock/anthropic.claude-3-haiku-20240307-v1:0}
`, env("AWS_ROLE_NAME", "arn:role/env", "AWS_WEB_IDENTITY_TOKEN", "tok", "AWS_STS_ENDPOINT", "https://sts.eu-west-1.amazonaws.com",
		"AWS_PROFILE_NAME", "prof", "AWS_SESSION_NAME", "envsess", "AWS_EXTERNAL_ID", "envx"))
	a, b := cfg.Models[0].Params, cfg.Models[1].Params
	if a.AWSRoleName != "arn:role/a" || a.AWSSessionName != "s" || a.AWSExternalID != "x" || a.AWSWebIdentityToken != "tok" {
		t.Errorf("a: %+v", a)
	}
	if b.AWSRoleName != "arn:role/env" || b.AWSSessionName != "envsess" || b.AWSSTSEndpoint != "https://sts.eu-west-1.amazonaws.com" ||
		b.AWSProfileName != "prof" || b.AWSExternalID != "envx" || b.AWSWebIdentityToken != "tok" {
		t.Errorf("b: %+v", b)
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("warnings: %v", cfg.Warnings)
	}
}

// TestAzureEntraParams: an Azure deployment's Entra ID parameters are read
// without a warning, each one not set from its AZURE_* variable, the scope
// defaults to LiteLLM's, and the authentication follows LiteLLM's order: a
// static azure_ad_token, the api key, client credentials, a user's password.
func TestAzureEntraParams(t *testing.T) {
	cfg := mustParse(t, `
model_list:
  - model_name: cc
    litellm_params: {model: azure/gpt-4o, api_base: "https://x.example", tenant_id: t1, client_id: c1, client_secret: s1}
  - model_name: env
    litellm_params: {model: azure/gpt-4o, api_base: "https://x.example", client_id: c2}
  - model_name: key-wins
    litellm_params: {model: azure/gpt-4o, api_base: "https://x.example", api_key: k, tenant_id: t1, client_id: c1, client_secret: s1}
  - model_name: token-wins
    litellm_params: {model: azure/gpt-4o, api_base: "https://x.example", api_key: k, azure_ad_token: tok}
`, env("AZURE_USERNAME", "alice", "AZURE_PASSWORD", "pw", "AZURE_SCOPE", "api://x/.default", "AZURE_AUTHORITY_HOST", "https://login.example"))
	want := []AzureAuth{AzureClientSecret, AzureUserPassword, AzureAPIKey, AzureStaticToken}
	for i, w := range want {
		if got := cfg.Models[i].Params.AzureAuthKind(); got != w {
			t.Errorf("%s: %v, want %v", cfg.Models[i].ModelName, got, w)
		}
	}
	p := cfg.Models[1].Params
	if p.AzureUsername != "alice" || p.AzurePassword != "pw" || p.AzureScope != "api://x/.default" || p.AzureAuthorityHost != "https://login.example" {
		t.Errorf("env: %+v", p)
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("warnings: %v", cfg.Warnings)
	}
	cfg = mustParse(t, "model_list:\n  - model_name: a\n    litellm_params: {model: azure/gpt-4o, api_base: \"https://x.example\", tenant_id: t, client_id: c, client_secret: s}\n", nil)
	if p := cfg.Models[0].Params; p.AzureScope != DefaultAzureScope || p.AzureAuthorityHost != DefaultAzureAuthorityHost {
		t.Errorf("defaults: scope %q host %q", p.AzureScope, p.AzureAuthorityHost)
	}
}
