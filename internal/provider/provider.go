package provider

import "sort"

// Wire is the wire format a provider speaks; it names the translator
// (translator.For) that serves it.
type Wire string

// The wire formats, one per translator.
const (
	WireOpenAI      Wire = "openai"      // OpenAI's API as is (pass-through)
	WireAzure       Wire = "azure"       // OpenAI's bodies on Azure's deployment paths
	WireAnthropic   Wire = "anthropic"   // Messages API
	WireBedrock     Wire = "bedrock"     // Converse API
	WireGemini      Wire = "gemini"      // Google AI Studio generateContent
	WireVertex      Wire = "vertex_ai"   // Vertex AI generateContent
	WireCohere      Wire = "cohere"      // Cohere v2 chat
	WireOllama      Wire = "ollama"      // /api/generate
	WireOllamaChat  Wire = "ollama_chat" // /api/chat
	WireHuggingFace Wire = "huggingface" // router.huggingface.co
)

// PassThrough reports whether bodies of this wire format are OpenAI's, so
// only the model id and dropped params change.
func (w Wire) PassThrough() bool { return w == WireOpenAI || w == WireAzure }

// Auth is how a request is authenticated with the provider (one
// internal/backendauth injector each).
type Auth int

// The credential kinds.
const (
	AuthBearer    Auth = iota + 1 // Authorization: Bearer <api_key>
	AuthAzureKey                  // api-key: <api_key>
	AuthAnthropic                 // x-api-key and anthropic-version
	AuthGoogleKey                 // x-goog-api-key
	AuthSigV4                     // AWS SigV4 (bedrock)
	AuthGoogleADC                 // Google OAuth token from vertex_credentials or ADC
)

// Base is how a deployment without api_base gets its endpoint.
type Base int

// The endpoint rules.
const (
	// BaseDefault: DefaultAPIBase (or BaseEnv); none means api_base is required.
	BaseDefault Base = iota
	// BaseAWSRegion: aws_bedrock_runtime_endpoint, else bedrock-runtime.<aws_region_name>.
	BaseAWSRegion
	// BaseVertexLocation: <vertex_location>-aiplatform.googleapis.com
	// (location us-central1 when unset; "global" → aiplatform.googleapis.com).
	BaseVertexLocation
)

// Capability is an OpenAI API feature a provider serves.
type Capability uint8

// The capabilities.
const (
	Chat Capability = 1 << iota
	Stream
	Tools
	Embeddings
	Completions
)

// Info describes one provider a deployment's litellm_params.model may name
// with its prefix ("groq/llama3-8b-8192").
type Info struct {
	Name string // the model prefix, as written before the first '/'
	Wire Wire
	Auth Auth
	Base Base
	// DefaultAPIBase is used when neither api_base nor BaseEnv is set (Base
	// BaseDefault); empty: api_base is required (NeedsAPIBase).
	DefaultAPIBase string
	KeyEnv         string // env var read when the deployment has no api_key
	BaseEnv        string // env var read when the deployment has no api_base
	VersionEnv     string // env var read when the deployment has no api_version (azure)
	// NeedsAPIBase: there is no public default endpoint and none can be
	// derived: the deployment must set api_base (or BaseEnv must be set).
	NeedsAPIBase bool
	Caps         Capability
}

// Has reports whether the provider serves every capability of c.
func (i Info) Has(c Capability) bool { return i.Caps&c == c }

// Capability sets of the wire formats (what their translators serve).
const (
	openAICaps = Chat | Stream | Tools | Embeddings | Completions
	chatCaps   = Chat | Stream | Tools
)

// openAICompatible declares a provider that speaks OpenAI's API at its
// default endpoint (or at the deployment's api_base).
func openAICompatible(base, keyEnv, baseEnv string) Info {
	return Info{Wire: WireOpenAI, Auth: AuthBearer, DefaultAPIBase: base, KeyEnv: keyEnv, BaseEnv: baseEnv,
		NeedsAPIBase: base == "", Caps: openAICaps}
}

// registry is every provider llmgate serves. Default endpoints are the
// providers' public ones; env var names are those LiteLLM reads.
var registry = map[string]Info{
	"openai":                 openAICompatible("https://api.openai.com/v1", "OPENAI_API_KEY", "OPENAI_API_BASE"),
	"text-completion-openai": openAICompatible("https://api.openai.com/v1", "OPENAI_API_KEY", "OPENAI_API_BASE"),
	"azure": {Wire: WireAzure, Auth: AuthAzureKey, KeyEnv: "AZURE_API_KEY", BaseEnv: "AZURE_API_BASE", VersionEnv: "AZURE_API_VERSION",
		NeedsAPIBase: true, Caps: openAICaps},
	"azure_ai":  openAICompatible("", "AZURE_AI_API_KEY", "AZURE_AI_API_BASE"),
	"anthropic": {Wire: WireAnthropic, Auth: AuthAnthropic, DefaultAPIBase: "https://api.anthropic.com", KeyEnv: "ANTHROPIC_API_KEY", BaseEnv: "ANTHROPIC_API_BASE", Caps: chatCaps},
	// bedrock: credentials are AWS_* (config fills them from the environment).
	"bedrock": {Wire: WireBedrock, Auth: AuthSigV4, Base: BaseAWSRegion, Caps: chatCaps | Embeddings},
	// vertex_ai: credentials are vertex_credentials or Google ADC.
	"vertex_ai":      {Wire: WireVertex, Auth: AuthGoogleADC, Base: BaseVertexLocation, Caps: chatCaps | Embeddings},
	"vertex_ai_beta": {Wire: WireVertex, Auth: AuthGoogleADC, Base: BaseVertexLocation, Caps: chatCaps | Embeddings},
	"gemini": {Wire: WireGemini, Auth: AuthGoogleKey, DefaultAPIBase: "https://generativelanguage.googleapis.com", KeyEnv: "GEMINI_API_KEY", BaseEnv: "GEMINI_API_BASE",
		Caps: chatCaps | Embeddings},
	"cohere":      {Wire: WireCohere, Auth: AuthBearer, DefaultAPIBase: "https://api.cohere.com", KeyEnv: "COHERE_API_KEY", BaseEnv: "COHERE_API_BASE", Caps: chatCaps | Embeddings},
	"cohere_chat": {Wire: WireCohere, Auth: AuthBearer, DefaultAPIBase: "https://api.cohere.com", KeyEnv: "COHERE_API_KEY", BaseEnv: "COHERE_API_BASE", Caps: chatCaps | Embeddings},
	"huggingface": {Wire: WireHuggingFace, Auth: AuthBearer, DefaultAPIBase: "https://router.huggingface.co/v1", KeyEnv: "HUGGINGFACE_API_KEY", BaseEnv: "HUGGINGFACE_API_BASE",
		Caps: chatCaps | Embeddings},
	"ollama":        {Wire: WireOllama, Auth: AuthBearer, DefaultAPIBase: "http://localhost:11434", KeyEnv: "OLLAMA_API_KEY", BaseEnv: "OLLAMA_API_BASE", Caps: chatCaps | Embeddings},
	"ollama_chat":   {Wire: WireOllamaChat, Auth: AuthBearer, DefaultAPIBase: "http://localhost:11434", KeyEnv: "OLLAMA_API_KEY", BaseEnv: "OLLAMA_API_BASE", Caps: chatCaps | Embeddings},
	"groq":          openAICompatible("https://api.groq.com/openai/v1", "GROQ_API_KEY", "GROQ_API_BASE"),
	"mistral":       openAICompatible("https://api.mistral.ai/v1", "MISTRAL_API_KEY", "MISTRAL_API_BASE"),
	"together_ai":   openAICompatible("https://api.together.xyz/v1", "TOGETHERAI_API_KEY", "TOGETHERAI_API_BASE"),
	"deepseek":      openAICompatible("https://api.deepseek.com/v1", "DEEPSEEK_API_KEY", "DEEPSEEK_API_BASE"),
	"fireworks_ai":  openAICompatible("https://api.fireworks.ai/inference/v1", "FIREWORKS_AI_API_KEY", "FIREWORKS_AI_API_BASE"),
	"openrouter":    openAICompatible("https://openrouter.ai/api/v1", "OPENROUTER_API_KEY", "OPENROUTER_API_BASE"),
	"perplexity":    openAICompatible("https://api.perplexity.ai", "PERPLEXITYAI_API_KEY", "PERPLEXITY_API_BASE"),
	"xai":           openAICompatible("https://api.x.ai/v1", "XAI_API_KEY", "XAI_API_BASE"),
	"nvidia_nim":    openAICompatible("https://integrate.api.nvidia.com/v1", "NVIDIA_NIM_API_KEY", "NVIDIA_NIM_API_BASE"),
	"cerebras":      openAICompatible("https://api.cerebras.ai/v1", "CEREBRAS_API_KEY", "CEREBRAS_API_BASE"),
	"deepinfra":     openAICompatible("https://api.deepinfra.com/v1/openai", "DEEPINFRA_API_KEY", "DEEPINFRA_API_BASE"),
	"sambanova":     openAICompatible("https://api.sambanova.ai/v1", "SAMBANOVA_API_KEY", "SAMBANOVA_API_BASE"),
	"lm_studio":     openAICompatible("http://localhost:1234/v1", "LM_STUDIO_API_KEY", "LM_STUDIO_API_BASE"),
	"hosted_vllm":   openAICompatible("", "HOSTED_VLLM_API_KEY", "HOSTED_VLLM_API_BASE"),
	"openai_like":   openAICompatible("", "", ""),
	"custom_openai": openAICompatible("", "", ""),
	"litellm_proxy": openAICompatible("", "LITELLM_PROXY_API_KEY", "LITELLM_PROXY_API_BASE"),
}

func init() {
	for name, p := range registry {
		p.Name = name
		registry[name] = p
	}
}

// Lookup returns the provider named by a model prefix.
func Lookup(name string) (Info, bool) {
	p, ok := registry[name]
	return p, ok
}

// Names lists the providers llmgate serves, sorted.
func Names() []string {
	out := make([]string, 0, len(registry))
	for n := range registry {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
