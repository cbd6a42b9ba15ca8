package translator

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// This file holds the OpenAI wire types every translator reads and writes.
// Unknown request fields are kept in Extra so that nothing a client sends is lost
// on a pass-through.

// ChatRequest is an OpenAI chat completions request.
type ChatRequest struct {
	Model               string          `json:"model"`
	Messages            []Message       `json:"messages"`
	Temperature         *float64        `json:"temperature,omitempty"`
	TopP                *float64        `json:"top_p,omitempty"`
	N                   *int            `json:"n,omitempty"`
	Stream              bool            `json:"stream,omitempty"`
	StreamOptions       *StreamOptions  `json:"stream_options,omitempty"`
	Stop                StringList      `json:"stop,omitempty"`
	MaxTokens           *int            `json:"max_tokens,omitempty"`
	MaxCompletionTokens *int            `json:"max_completion_tokens,omitempty"`
	PresencePenalty     *float64        `json:"presence_penalty,omitempty"`
	FrequencyPenalty    *float64        `json:"frequency_penalty,omitempty"`
	LogitBias           map[string]int  `json:"logit_bias,omitempty"`
	Logprobs            *bool           `json:"logprobs,omitempty"`
	TopLogprobs         *int            `json:"top_logprobs,omitempty"`
	User                string          `json:"user,omitempty"`
	Seed                *int64          `json:"seed,omitempty"`
	Tools               []Tool          `json:"tools,omitempty"`
	ToolChoice          json.RawMessage `json:"tool_choice,omitempty"` // "none" | "auto" | "required" | {"type":"function","function":{"name":...}}
	ParallelToolCalls   *bool           `json:"parallel_tool_calls,omitempty"`
	ResponseFormat      *ResponseFormat `json:"response_format,omitempty"`
	ReasoningEffort     string          `json:"reasoning_effort,omitempty"`
	// Extra holds every other top-level field, as sent.
	Extra map[string]json.RawMessage `json:"-"`
}

// StreamOptions is stream_options.
type StreamOptions struct {
	IncludeUsage bool `json:"include_usage,omitempty"`
}

// Message is one chat message. Content is a string or a list of parts.
type Message struct {
	Role       string     `json:"role"`
	Content    Content    `json:"content"`
	Name       string     `json:"name,omitempty"`
	ToolCalls  []ToolCall `json:"tool_calls,omitempty"`
	ToolCallID string     `json:"tool_call_id,omitempty"`
	// ReasoningContent carries provider "thinking" text on assistant messages (LiteLLM's reasoning_content).
	ReasoningContent string `json:"reasoning_content,omitempty"`
	// CacheControl is Anthropic's prompt-caching mark on a message whose
	// content is a string (a client's, or cache_control_injection_points', D119).
	CacheControl json.RawMessage `json:"cache_control,omitempty"`
}

// Content is message content: either Text (a plain string) or Parts.
type Content struct {
	Text  string
	Parts []ContentPart
	// IsParts is true when the wire form was an array.
	IsParts bool
	// Null is true when the wire form was null or absent.
	Null bool
}

// ContentPart is one part of a multi-part message.
type ContentPart struct {
	Type       string      `json:"type"` // "text" | "image_url" | "input_audio" | "file"
	Text       string      `json:"text,omitempty"`
	ImageURL   *ImageURL   `json:"image_url,omitempty"`
	InputAudio *InputAudio `json:"input_audio,omitempty"`
	// CacheControl is Anthropic's prompt-caching mark on this part (D119).
	CacheControl json.RawMessage `json:"cache_control,omitempty"`
}

// ImageURL is an image_url part: an https URL or a data: URL.
type ImageURL struct {
	URL    string `json:"url"`
	Detail string `json:"detail,omitempty"`
}

// InputAudio is an input_audio part.
type InputAudio struct {
	Data   string `json:"data"`
	Format string `json:"format"`
}

// AsText joins the text of the content (string, or every text part).
func (c Content) AsText() string {
	if !c.IsParts {
		return c.Text
	}
	var b strings.Builder
	for _, p := range c.Parts {
		if p.Type == "text" {
			b.WriteString(p.Text)
		}
	}
	return b.String()
}

// MarshalJSON writes a string, an array of parts, or null.
func (c Content) MarshalJSON() ([]byte, error) {
	if c.IsParts {
		return json.Marshal(c.Parts)
	}
	if c.Null {
		return []byte("null"), nil
	}
	return json.Marshal(c.Text)
}

// UnmarshalJSON reads a string, an array of parts, or null.
func (c *Content) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	*c = Content{}
	switch {
	case len(b) == 0 || bytes.Equal(b, []byte("null")):
		c.Null = true
		return nil
	case b[0] == '"':
		if s, ok := plainJSONString(b); ok {
			c.Text = s
			return nil
		}
		return json.Unmarshal(b, &c.Text)
	default:
		c.IsParts = true
		return json.Unmarshal(b, &c.Parts)
	}
}

// plainJSONString reads a JSON string literal that needs no decoding — no
// escape, no control character, valid UTF-8 — as json.Unmarshal would,
// without a second validation of it (D95); ok false for any other literal.
func plainJSONString(b []byte) (string, bool) {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return "", false
	}
	in := b[1 : len(b)-1]
	for _, c := range in {
		if c < 0x20 || c == '"' || c == '\\' {
			return "", false
		}
	}
	if !utf8.Valid(in) {
		return "", false
	}
	return string(in), true
}

// StringList is a JSON string or array of strings (for stop, input, ...).
type StringList []string

// UnmarshalJSON reads a string or an array of strings.
func (s *StringList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*s = nil
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var one string
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*s = StringList{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*s = many
	return nil
}

// Tool is a tool definition (only "function" tools exist in chat completions).
type Tool struct {
	Type     string       `json:"type"`
	Function FunctionDecl `json:"function"`
}

// FunctionDecl declares a function tool.
type FunctionDecl struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
	Strict      *bool           `json:"strict,omitempty"`
}

// ToolCall is a call the model made.
type ToolCall struct {
	Index    *int         `json:"index,omitempty"` // set in stream deltas only
	ID       string       `json:"id,omitempty"`
	Type     string       `json:"type,omitempty"`
	Function FunctionCall `json:"function"`
}

// FunctionCall is the function part of a tool call; Arguments is a JSON string.
type FunctionCall struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

// ResponseFormat is response_format.
type ResponseFormat struct {
	Type       string      `json:"type"` // "text" | "json_object" | "json_schema"
	JSONSchema *JSONSchema `json:"json_schema,omitempty"`
}

// JSONSchema is response_format.json_schema.
type JSONSchema struct {
	Name   string          `json:"name"`
	Schema json.RawMessage `json:"schema,omitempty"`
	Strict *bool           `json:"strict,omitempty"`
}

// ChatResponse is a non-streamed chat completion.
type ChatResponse struct {
	ID                string       `json:"id"`
	Object            string       `json:"object"` // "chat.completion"
	Created           int64        `json:"created"`
	Model             string       `json:"model"`
	SystemFingerprint string       `json:"system_fingerprint,omitempty"`
	Choices           []Choice     `json:"choices"`
	Usage             *UsageObject `json:"usage,omitempty"`
}

// Choice is one choice of a chat completion.
type Choice struct {
	Index        int             `json:"index"`
	Message      ResponseMessage `json:"message"`
	FinishReason string          `json:"finish_reason"`
	Logprobs     json.RawMessage `json:"logprobs,omitempty"`
}

// ResponseMessage is the assistant message of a choice.
type ResponseMessage struct {
	Role             string     `json:"role"`
	Content          *string    `json:"content"`
	ToolCalls        []ToolCall `json:"tool_calls,omitempty"`
	ReasoningContent string     `json:"reasoning_content,omitempty"`
	Refusal          *string    `json:"refusal,omitempty"`
}

// UsageObject is OpenAI's usage object.
type UsageObject struct {
	PromptTokens            int                      `json:"prompt_tokens"`
	CompletionTokens        int                      `json:"completion_tokens"`
	TotalTokens             int                      `json:"total_tokens"`
	PromptTokensDetails     *PromptTokensDetails     `json:"prompt_tokens_details,omitempty"`
	CompletionTokensDetails *CompletionTokensDetails `json:"completion_tokens_details,omitempty"`
}

// PromptTokensDetails is usage.prompt_tokens_details.
type PromptTokensDetails struct {
	CachedTokens        int `json:"cached_tokens"`
	CacheCreationTokens int `json:"cache_creation_tokens,omitempty"`
}

// CompletionTokensDetails is usage.completion_tokens_details.
type CompletionTokensDetails struct {
	ReasoningTokens int `json:"reasoning_tokens"`
}

// UsageObjectFrom builds the wire usage object.
func UsageObjectFrom(u Usage) *UsageObject {
	o := &UsageObject{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, TotalTokens: u.TotalTokens}
	if o.TotalTokens == 0 {
		o.TotalTokens = u.PromptTokens + u.CompletionTokens
	}
	if u.CachedTokens > 0 || u.CacheCreationTokens > 0 {
		o.PromptTokensDetails = &PromptTokensDetails{CachedTokens: u.CachedTokens, CacheCreationTokens: u.CacheCreationTokens}
	}
	if u.ReasoningTokens > 0 {
		o.CompletionTokensDetails = &CompletionTokensDetails{ReasoningTokens: u.ReasoningTokens}
	}
	return o
}

// UsageFrom reads the wire usage object.
func UsageFrom(o *UsageObject) Usage {
	if o == nil {
		return Usage{}
	}
	u := Usage{PromptTokens: o.PromptTokens, CompletionTokens: o.CompletionTokens, TotalTokens: o.TotalTokens}
	if o.PromptTokensDetails != nil {
		u.CachedTokens = o.PromptTokensDetails.CachedTokens
		u.CacheCreationTokens = o.PromptTokensDetails.CacheCreationTokens
	}
	if o.CompletionTokensDetails != nil {
		u.ReasoningTokens = o.CompletionTokensDetails.ReasoningTokens
	}
	return u
}

// ChatChunk is one streamed chat.completion.chunk.
type ChatChunk struct {
	ID                string        `json:"id"`
	Object            string        `json:"object"` // "chat.completion.chunk"
	Created           int64         `json:"created"`
	Model             string        `json:"model"`
	SystemFingerprint string        `json:"system_fingerprint,omitempty"`
	Choices           []ChunkChoice `json:"choices"`
	Usage             *UsageObject  `json:"usage,omitempty"`
}

// ChunkChoice is one choice of a chunk.
type ChunkChoice struct {
	Index        int     `json:"index"`
	Delta        Delta   `json:"delta"`
	FinishReason *string `json:"finish_reason"`
}

// Delta is the incremental message of a chunk.
type Delta struct {
	Role             string     `json:"role,omitempty"`
	Content          *string    `json:"content,omitempty"`
	ToolCalls        []ToolCall `json:"tool_calls,omitempty"`
	ReasoningContent string     `json:"reasoning_content,omitempty"`
}

// EmbeddingRequest is an OpenAI embeddings request. Input is a string, a list of
// strings, or token arrays; Input keeps the strings form.
type EmbeddingRequest struct {
	Model          string          `json:"model"`
	Input          StringList      `json:"input"`
	EncodingFormat string          `json:"encoding_format,omitempty"`
	Dimensions     *int            `json:"dimensions,omitempty"`
	User           string          `json:"user,omitempty"`
	InputType      string          `json:"input_type,omitempty"` // LiteLLM extension (cohere)
	RawInput       json.RawMessage `json:"-"`
}

// EmbeddingResponse is an OpenAI embeddings response.
type EmbeddingResponse struct {
	Object string          `json:"object"` // "list"
	Data   []EmbeddingData `json:"data"`
	Model  string          `json:"model"`
	Usage  *UsageObject    `json:"usage,omitempty"`
}

// EmbeddingData is one embedding.
type EmbeddingData struct {
	Object    string    `json:"object"` // "embedding"
	Index     int       `json:"index"`
	Embedding []float64 `json:"embedding"`
}

// ErrorBody is OpenAI's error envelope.
type ErrorBody struct {
	Error ErrorObject `json:"error"`
}

// ErrorObject is the inside of ErrorBody. Code is a string here; LiteLLM sends the status as a string.
type ErrorObject struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// knownChatFields are the fields ChatRequest decodes itself.
var knownChatFields = map[string]bool{
	"model": true, "messages": true, "temperature": true, "top_p": true, "n": true, "stream": true,
	"stream_options": true, "stop": true, "max_tokens": true, "max_completion_tokens": true,
	"presence_penalty": true, "frequency_penalty": true, "logit_bias": true, "logprobs": true,
	"top_logprobs": true, "user": true, "seed": true, "tools": true, "tool_choice": true,
	"parallel_tool_calls": true, "response_format": true, "reasoning_effort": true,
}

type chatRequestAlias ChatRequest

// UnmarshalJSON decodes known fields and keeps the others in Extra.
func (r *ChatRequest) UnmarshalJSON(b []byte) error {
	var a chatRequestAlias
	if err := json.Unmarshal(b, &a); err != nil {
		return err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return err
	}
	for k, v := range all {
		if !knownChatFields[k] {
			if a.Extra == nil {
				a.Extra = map[string]json.RawMessage{}
			}
			a.Extra[k] = v
		}
	}
	*r = ChatRequest(a)
	return nil
}

// MarshalJSON writes known fields and Extra.
func (r ChatRequest) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(chatRequestAlias(r))
	if err != nil || len(r.Extra) == 0 {
		return b, err
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, err
	}
	for k, v := range r.Extra {
		if _, ok := all[k]; !ok {
			all[k] = v
		}
	}
	return json.Marshal(all)
}

type embeddingRequestAlias EmbeddingRequest

// UnmarshalJSON accepts string, []string and token-array inputs; token arrays are
// kept in RawInput only.
func (r *EmbeddingRequest) UnmarshalJSON(b []byte) error {
	var raw struct {
		embeddingRequestAlias
		Input json.RawMessage `json:"input"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*r = EmbeddingRequest(raw.embeddingRequestAlias)
	r.RawInput = raw.Input
	var sl StringList
	if err := json.Unmarshal(raw.Input, &sl); err == nil {
		r.Input = sl
	}
	return nil
}

// NewError builds an OpenAI-format error.
func NewError(status int, typ, message, param string) *Error {
	return &Error{Status: status, Type: typ, Message: message, Param: param, Code: strconv.Itoa(status), Class: ClassForStatus(status)}
}

// ClassForStatus is the error class implied by an HTTP status alone.
func ClassForStatus(status int) ErrorClass {
	switch {
	case status < 400:
		return ErrNone
	case status == 401 || status == 403:
		return ErrAuthentication
	case status == 404:
		return ErrNotFound
	case status == 408:
		return ErrTimeout
	case status == 429:
		return ErrRateLimit
	case status >= 500:
		return ErrInternal
	}
	return ErrBadRequest
}

// TypeForStatus is the OpenAI error type LiteLLM uses for a status.
func TypeForStatus(status int) string {
	switch {
	case status == 401 || status == 403:
		return "authentication_error"
	case status == 404:
		return "not_found_error"
	case status == 408:
		return "timeout_error"
	case status == 429:
		return "rate_limit_error"
	case status >= 500:
		return "internal_server_error"
	}
	return "invalid_request_error"
}

// JSON renders the error as OpenAI error JSON.
func (e *Error) JSON() []byte {
	obj := ErrorObject{Message: e.Message, Type: e.Type}
	if obj.Type == "" {
		obj.Type = TypeForStatus(e.Status)
	}
	if e.Param != "" {
		p := e.Param
		obj.Param = &p
	}
	code := e.Code
	if code == "" {
		code = strconv.Itoa(e.Status)
	}
	obj.Code = &code
	b, _ := json.Marshal(ErrorBody{Error: obj})
	return b
}

// contextWindowMarkers and contentPolicyMarkers are the provider messages LiteLLM
// recognises (see LITELLM_SEMANTICS.md, Fallbacks).
var contextWindowMarkers = []string{
	"maximum context length", "context_length_exceeded", "input is too long",
	"exceeds the maximum number of tokens", "prompt is too long", "too many tokens",
	"context window",
}

var contentPolicyMarkers = []string{
	"content_policy_violation", "responsibleaipolicyviolation", "safety system", "content_filter",
	"content management policy",
}

// ClassifyMessage refines a status-based class with the provider's message:
// context-window and content-policy errors are recognised from their text.
func ClassifyMessage(status int, message string) ErrorClass {
	m := strings.ToLower(message)
	for _, s := range contextWindowMarkers {
		if strings.Contains(m, s) {
			return ErrContextWindow
		}
	}
	for _, s := range contentPolicyMarkers {
		if strings.Contains(m, s) {
			return ErrContentPolicy
		}
	}
	return ClassForStatus(status)
}
