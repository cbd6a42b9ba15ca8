package config

import (
	"fmt"
	"strings"

	"github.com/llmgate/llmgate/internal/provider"
)

// ProviderInfo describes one provider (internal/provider holds the registry).
type ProviderInfo = provider.Info

// litellmOnlyProviders are prefixes LiteLLM knows that llmgate does not serve
// (yet). Naming one is still an error, with a clearer message than "unknown".
var litellmOnlyProviders = map[string]bool{
	"sagemaker": true, "sagemaker_chat": true, "replicate": true, "watsonx": true, "watsonx_text": true,
	"databricks": true, "ai21": true, "ai21_chat": true, "nlp_cloud": true, "aleph_alpha": true,
	"petals": true, "palm": true, "baseten": true, "predibase": true, "clarifai": true, "cloudflare": true,
	"vllm": true, "triton": true, "voyage": true, "jina_ai": true, "infinity": true, "dashscope": true,
	"moonshot": true, "volcengine": true, "friendliai": true, "nebius": true, "novita": true,
	"featherless_ai": true, "snowflake": true, "oci": true, "assemblyai": true, "elevenlabs": true,
	"deepgram": true, "azure_text": true, "codestral": true, "text-completion-codestral": true,
	"custom": true, "llamafile": true, "github": true, "github_copilot": true, "empower": true,
	"galadriel": true, "topaz": true, "anyscale": true, "datarobot": true, "bytez": true,
}

// LookupProvider returns the provider named by a model prefix.
func LookupProvider(name string) (ProviderInfo, bool) { return provider.Lookup(name) }

// IsLiteLLMProvider reports whether LiteLLM knows the model prefix as a
// provider: one llmgate serves, or one it refuses in a config because it
// does not serve it yet. A requested name with such a prefix is not
// prefixed again when matched against wildcard groups.
func IsLiteLLMProvider(prefix string) bool {
	_, ok := provider.Lookup(prefix)
	return ok || litellmOnlyProviders[prefix]
}

// ProviderNames lists the providers llmgate serves, sorted.
func ProviderNames() []string { return provider.Names() }

// SplitModel splits litellm_params.model into provider and model id, following
// LiteLLM: the part before the first '/' is the provider when it is a known one
// ("openai/facebook/opt-125m" → openai, "facebook/opt-125m"). A name without a
// '/' is inferred: gpt-*, o1*, o3*, o4*, text-embedding-*, chatgpt-*, dall-e-*,
// whisper-*, tts-* → openai; claude-* → anthropic; anything else → openai.
// A prefix that names no known provider is an error.
func SplitModel(model string) (provider, id string, err error) {
	if model == "" {
		return "", "", fmt.Errorf("model is empty")
	}
	if prefix, rest, ok := strings.Cut(model, "/"); ok {
		if _, known := LookupProvider(prefix); known {
			if rest == "" {
				return "", "", fmt.Errorf("model %q has a provider but no model id", model)
			}
			return prefix, rest, nil
		}
		if litellmOnlyProviders[prefix] {
			return "", "", fmt.Errorf("provider %q (in model %q) is a LiteLLM provider that llmgate does not serve yet", prefix, model)
		}
		msg := fmt.Sprintf("unknown provider %q in model %q", prefix, model)
		if s, ok := suggest(prefix, ProviderNames()); ok {
			msg += fmt.Sprintf("; did you mean %q?", s)
		} else {
			msg += fmt.Sprintf(" (for an OpenAI-compatible server write \"openai/%s\" and set api_base)", model)
		}
		return "", "", fmt.Errorf("%s", msg)
	}
	return inferProvider(model), model, nil
}

func inferProvider(model string) string {
	// gpt-*, o1*, o3*, o4*, text-embedding-* and every other bare name are openai.
	if strings.HasPrefix(strings.ToLower(model), "claude") {
		return "anthropic"
	}
	return "openai"
}

// APIBaseOrDefault is the deployment's api_base, else its provider's default
// endpoint (empty for providers whose endpoint is derived, e.g. bedrock).
func (d Deployment) APIBaseOrDefault() string {
	if d.Params.APIBase != "" {
		return d.Params.APIBase
	}
	p, _ := LookupProvider(d.Provider)
	return p.DefaultAPIBase
}
