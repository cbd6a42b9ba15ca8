package translator

import "time"

// Endpoint is the API the client called: OpenAI's, or Anthropic's Messages API.
type Endpoint int

const (
	// Chat is /v1/chat/completions.
	Chat Endpoint = iota
	// Completions is /v1/completions (legacy text completions).
	Completions
	// Embeddings is /v1/embeddings.
	Embeddings
	// Messages is Anthropic's /v1/messages (D129): sent natively to an
	// Anthropic deployment, translated to and from chat for the others.
	Messages
	// Moderations is /v1/moderations.
	Moderations
	// ImageGenerations is /v1/images/generations.
	ImageGenerations
	// AudioSpeech is /v1/audio/speech (a binary answer).
	AudioSpeech
	// AudioTranscriptions is /v1/audio/transcriptions (a multipart/form-data request).
	AudioTranscriptions
	// Rerank is /v1/rerank (Cohere's rerank API, as LiteLLM serves it).
	Rerank
	// Responses is OpenAI's /v1/responses (D137): sent natively to an
	// OpenAI or Azure deployment, translated to and from chat for the others.
	Responses
	// ImageEdits is /v1/images/edits (a multipart/form-data request, D160).
	ImageEdits
	// GenerateContent is Google's /v1beta/models/{model}:generateContent
	// (and :streamGenerateContent, D160): sent natively to a Gemini or
	// Vertex AI deployment, translated to and from chat for the others.
	GenerateContent
	// BedrockPassThrough is LiteLLM's /bedrock/model/{model}/{action}
	// pass-through for a model_list group (D160): the body sent as it is
	// to the group's Bedrock deployment, signed with its credentials.
	BedrockPassThrough
)

func (e Endpoint) String() string {
	switch e {
	case Chat:
		return "chat"
	case Completions:
		return "completions"
	case Embeddings:
		return "embeddings"
	case Messages:
		return "messages"
	case Moderations:
		return "moderations"
	case ImageGenerations:
		return "image_generation"
	case AudioSpeech:
		return "speech"
	case AudioTranscriptions:
		return "transcription"
	case Rerank:
		return "rerank"
	case Responses:
		return "responses"
	case ImageEdits:
		return "image_edit"
	case GenerateContent:
		return "generate_content"
	case BedrockPassThrough:
		return "bedrock_passthrough"
	}
	return "unknown"
}

// Target is the deployment a request is translated for. It holds no secret:
// credentials are applied after translation (see internal/backendauth).
type Target struct {
	Provider   string // canonical provider name, e.g. "anthropic"
	Model      string // provider model id, without the provider prefix
	APIBase    string // scheme://host[:port][/base path]; the provider default when the config leaves it empty
	APIVersion string
	Region     string // AWS region (bedrock)
	Project    string // vertex_ai project
	Location   string // vertex_ai location
	Stream     bool   // the client asked for stream: true
	// Action is a Bedrock pass-through's action (converse, converse-stream,
	// invoke, invoke-with-response-stream; bedrockpass.go, D160).
	Action string
	// ContentType is the client's content-type of a multipart request
	// (audio transcriptions: its boundary), "" for JSON.
	ContentType string
	// DropParams drops OpenAI params the provider does not support instead of failing with 400.
	DropParams bool
	// AdditionalDropParams are always removed from the request.
	AdditionalDropParams []string
	// ModifyParams is litellm_settings.modify_params: the request is mended
	// as LiteLLM mends it for the provider (modify_params.go) instead of
	// refused or sent as it is.
	ModifyParams bool
	// MaxTokensDefault is used by providers that require max_tokens (anthropic) when the request has none.
	MaxTokensDefault int
	// Created is the answer's "created" (Unix seconds) and ResponseModel
	// its "model" ("": the provider's), for the translators that write
	// them (anthropic); the others leave them to the caller (stampCreated,
	// SetResponseModel), which then has nothing to rewrite.
	Created       int64
	ResponseModel string
	// DeploymentID is the deployment's model_info.id, which the Responses
	// endpoint writes into the ids it answers (EncodeResponseID, D137).
	DeploymentID string
}

// UpstreamRequest is what the attempt filter sends to the provider.
type UpstreamRequest struct {
	Method  string            // "POST"
	Path    string            // path and query, e.g. "/v1/messages" or "/model/x/converse-stream"
	Headers map[string]string // provider headers other than credentials (content-type, anthropic-version, accept, ...)
	Body    []byte
}

// Usage is token usage in OpenAI terms.
type Usage struct {
	PromptTokens     int
	CompletionTokens int
	TotalTokens      int
	CachedTokens     int // prompt_tokens_details.cached_tokens
	// CacheCreationTokens are the prompt tokens written to the provider's
	// prompt cache (prompt_tokens_details.cache_creation_tokens: Anthropic's
	// cache_creation_input_tokens, Bedrock's cacheWriteInputTokens); they are
	// part of PromptTokens and priced at cache_creation_input_token_cost.
	CacheCreationTokens int `json:",omitempty"`
	ReasoningTokens     int // completion_tokens_details.reasoning_tokens
	// Units are what the routes priced by something other than tokens
	// count (images, characters, seconds of audio, search units).
	Units Units `json:",omitzero"`
}

// Units are the non-token quantities LiteLLM prices: per image
// (output_cost_per_image, or input_cost_per_pixel × Pixels), per character
// of a speech input, per second of transcribed audio, per rerank search unit.
type Units struct {
	Images       int
	Pixels       int64 // width × height × images, for input_cost_per_pixel
	Characters   int
	AudioSeconds float64
	SearchUnits  int
}

// Priced reports whether u holds anything a price applies to.
func (u Usage) Priced() bool {
	return u.PromptTokens > 0 || u.CompletionTokens > 0 || u.Units != (Units{})
}

// ErrorClass tags provider errors so that the router can pick retries, cooldowns and fallbacks.
type ErrorClass int

const (
	// ErrNone is not an error.
	ErrNone ErrorClass = iota
	// ErrBadRequest is a 400 that is neither context-window nor content-policy.
	ErrBadRequest
	// ErrAuthentication is 401/403.
	ErrAuthentication
	// ErrNotFound is 404.
	ErrNotFound
	// ErrTimeout is 408 or an upstream timeout.
	ErrTimeout
	// ErrRateLimit is 429.
	ErrRateLimit
	// ErrContextWindow is a context-window-exceeded error (any status).
	ErrContextWindow
	// ErrContentPolicy is a content-policy violation (any status), or finish_reason content_filter.
	ErrContentPolicy
	// ErrInternal is 5xx.
	ErrInternal
)

// Error is an error in OpenAI format, ready to be written to the client.
type Error struct {
	Status  int // HTTP status for the client
	Message string
	Type    string // OpenAI error type, e.g. "invalid_request_error"
	Param   string
	Code    string
	Class   ErrorClass
	// RetryAfter is the provider's Retry-After, when it sent one.
	RetryAfter time.Duration
}

func (e *Error) Error() string { return e.Message }

// Response is a translated, non-streamed provider response.
type Response struct {
	Body  []byte // OpenAI-format JSON
	Usage Usage
	// FinishReason of the first choice (OpenAI value), used to detect content_filter.
	FinishReason string
}

// Translator turns OpenAI-format requests into one provider's format and the
// provider's answers back into OpenAI format. Implementations are pure: no I/O,
// no clock, no randomness except through arguments.
type Translator interface {
	// Request translates an OpenAI request body for the endpoint. It returns an
	// *Error (status 400) for a param the provider cannot take when DropParams is false.
	Request(ep Endpoint, body []byte, t Target) (*UpstreamRequest, error)
	// Response translates a complete provider response with a 2xx status.
	Response(ep Endpoint, body []byte, t Target) (*Response, error)
	// Error translates a provider error response (status >= 400) into an OpenAI error,
	// keeping the provider's status and classifying it.
	Error(status int, headers map[string]string, body []byte) *Error
	// NewStream returns a decoder for a streamed provider response.
	NewStream(ep Endpoint, t Target) Stream
}

// Stream converts a provider stream into OpenAI SSE bytes ("data: {...}\n\n",
// ending with "data: [DONE]\n\n"). Chunk boundaries are arbitrary: an event split
// across Feed calls must be reassembled. Output is produced as soon as a whole
// event has arrived; nothing is held back longer than needed.
type Stream interface {
	// Feed takes the next bytes of the provider body; last is true on the final call.
	// It returns the OpenAI SSE bytes ready to send (possibly none).
	Feed(chunk []byte, last bool) ([]byte, error)
	// Usage is the usage seen so far (complete once the stream ended).
	Usage() Usage
	// FinishReason is the last finish_reason seen.
	FinishReason() string
}
