package config

import (
	"fmt"
	"sort"
	"strings"
)

// ProviderInfo describes one provider that a deployment's litellm_params.model
// may name with its prefix ("groq/llama3-8b-8192").
type ProviderInfo struct {
	Name           string // canonical name, as written before the first '/'
	DefaultAPIBase string // used when neither api_base nor BaseEnv is set; empty: api_base is required (or derived, e.g. bedrock/vertex_ai from region)
	KeyEnv         string // env var read when the deployment has no api_key; empty: none
	BaseEnv        string // env var read when the deployment has no api_base; empty: none
	// OpenAICompatible providers speak the OpenAI wire format at DefaultAPIBase
	// (or at the deployment's api_base).
	OpenAICompatible bool
	// VersionEnv is read when the deployment has no api_version (azure).
	VersionEnv string
	// NeedsAPIBase is true when there is no public default endpoint and none can
	// be derived: the deployment must set api_base (or BaseEnv must be set).
	NeedsAPIBase bool
}

// providers is the table of providers llmgate serves. Default endpoints are the
// providers' public ones; env var names are those LiteLLM reads.
var providers = map[string]ProviderInfo{
	"openai":                 {DefaultAPIBase: "https://api.openai.com/v1", KeyEnv: "OPENAI_API_KEY", BaseEnv: "OPENAI_API_BASE", OpenAICompatible: true},
	"text-completion-openai": {DefaultAPIBase: "https://api.openai.com/v1", KeyEnv: "OPENAI_API_KEY", BaseEnv: "OPENAI_API_BASE", OpenAICompatible: true},
	"azure":                  {KeyEnv: "AZURE_API_KEY", BaseEnv: "AZURE_API_BASE", VersionEnv: "AZURE_API_VERSION", NeedsAPIBase: true},
	"azure_ai":               {KeyEnv: "AZURE_AI_API_KEY", BaseEnv: "AZURE_AI_API_BASE", OpenAICompatible: true, NeedsAPIBase: true},
	"anthropic":              {DefaultAPIBase: "https://api.anthropic.com", KeyEnv: "ANTHROPIC_API_KEY", BaseEnv: "ANTHROPIC_API_BASE"},
	// bedrock: the endpoint is derived from aws_region_name; credentials are AWS_* (see fillFromEnv).
	"bedrock": {},
	// vertex_ai: the endpoint is derived from vertex_location; credentials are Google ADC or vertex_credentials.
	"vertex_ai":      {},
	"vertex_ai_beta": {},
	"gemini":         {DefaultAPIBase: "https://generativelanguage.googleapis.com", KeyEnv: "GEMINI_API_KEY", BaseEnv: "GEMINI_API_BASE"},
	"cohere":         {DefaultAPIBase: "https://api.cohere.com", KeyEnv: "COHERE_API_KEY", BaseEnv: "COHERE_API_BASE"},
	"cohere_chat":    {DefaultAPIBase: "https://api.cohere.com", KeyEnv: "COHERE_API_KEY", BaseEnv: "COHERE_API_BASE"},
	"huggingface":    {DefaultAPIBase: "https://router.huggingface.co/v1", KeyEnv: "HUGGINGFACE_API_KEY", BaseEnv: "HUGGINGFACE_API_BASE", OpenAICompatible: true},
	"ollama":         {DefaultAPIBase: "http://localhost:11434", KeyEnv: "OLLAMA_API_KEY", BaseEnv: "OLLAMA_API_BASE"},
	"ollama_chat":    {DefaultAPIBase: "http://localhost:11434", KeyEnv: "OLLAMA_API_KEY", BaseEnv: "OLLAMA_API_BASE"},
	"groq":           {DefaultAPIBase: "https://api.groq.com/openai/v1", KeyEnv: "GROQ_API_KEY", BaseEnv: "GROQ_API_BASE", OpenAICompatible: true},
	"mistral":        {DefaultAPIBase: "https://api.mistral.ai/v1", KeyEnv: "MISTRAL_API_KEY", BaseEnv: "MISTRAL_API_BASE", OpenAICompatible: true},
	"together_ai":    {DefaultAPIBase: "https://api.together.xyz/v1", KeyEnv: "TOGETHERAI_API_KEY", BaseEnv: "TOGETHERAI_API_BASE", OpenAICompatible: true},
	"deepseek":       {DefaultAPIBase: "https://api.deepseek.com/v1", KeyEnv: "DEEPSEEK_API_KEY", BaseEnv: "DEEPSEEK_API_BASE", OpenAICompatible: true},
	"fireworks_ai":   {DefaultAPIBase: "https://api.fireworks.ai/inference/v1", KeyEnv: "FIREWORKS_AI_API_KEY", BaseEnv: "FIREWORKS_AI_API_BASE", OpenAICompatible: true},
	"openrouter":     {DefaultAPIBase: "https://openrouter.ai/api/v1", KeyEnv: "OPENROUTER_API_KEY", BaseEnv: "OPENROUTER_API_BASE", OpenAICompatible: true},
	"perplexity":     {DefaultAPIBase: "https://api.perplexity.ai", KeyEnv: "PERPLEXITYAI_API_KEY", BaseEnv: "PERPLEXITY_API_BASE", OpenAICompatible: true},
	"xai":            {DefaultAPIBase: "https://api.x.ai/v1", KeyEnv: "XAI_API_KEY", BaseEnv: "XAI_API_BASE", OpenAICompatible: true},
	"nvidia_nim":     {DefaultAPIBase: "https://integrate.api.nvidia.com/v1", KeyEnv: "NVIDIA_NIM_API_KEY", BaseEnv: "NVIDIA_NIM_API_BASE", OpenAICompatible: true},
	"cerebras":       {DefaultAPIBase: "https://api.cerebras.ai/v1", KeyEnv: "CEREBRAS_API_KEY", BaseEnv: "CEREBRAS_API_BASE", OpenAICompatible: true},
	"deepinfra":      {DefaultAPIBase: "https://api.deepinfra.com/v1/openai", KeyEnv: "DEEPINFRA_API_KEY", BaseEnv: "DEEPINFRA_API_BASE", OpenAICompatible: true},
	"sambanova":      {DefaultAPIBase: "https://api.sambanova.ai/v1", KeyEnv: "SAMBANOVA_API_KEY", BaseEnv: "SAMBANOVA_API_BASE", OpenAICompatible: true},
	"lm_studio":      {DefaultAPIBase: "http://localhost:1234/v1", KeyEnv: "LM_STUDIO_API_KEY", BaseEnv: "LM_STUDIO_API_BASE", OpenAICompatible: true},
	"hosted_vllm":    {KeyEnv: "HOSTED_VLLM_API_KEY", BaseEnv: "HOSTED_VLLM_API_BASE", OpenAICompatible: true, NeedsAPIBase: true},
	"openai_like":    {OpenAICompatible: true, NeedsAPIBase: true},
	"custom_openai":  {OpenAICompatible: true, NeedsAPIBase: true},
	"litellm_proxy":  {KeyEnv: "LITELLM_PROXY_API_KEY", BaseEnv: "LITELLM_PROXY_API_BASE", OpenAICompatible: true, NeedsAPIBase: true},
}

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

func init() {
	for name, p := range providers {
		p.Name = name
		providers[name] = p
	}
}

// LookupProvider returns the provider named by a model prefix.
func LookupProvider(name string) (ProviderInfo, bool) {
	p, ok := providers[name]
	return p, ok
}

// ProviderNames lists the providers llmgate serves, sorted.
func ProviderNames() []string {
	out := make([]string, 0, len(providers))
	for n := range providers {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

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
		if _, known := providers[prefix]; known {
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
