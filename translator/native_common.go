package translator

// Helpers shared by the translators that build a provider's own request
// and response bodies (gemini, vertex_ai, cohere, ollama, huggingface):
// parameter rules, request preparation, ids, data URLs, provider errors,
// the line chunker of their streams.

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// paramRule says whether an OpenAI chat param is set on a request and how to clear it.
type paramRule struct {
	set   func(r *ChatRequest) bool
	clear func(r *ChatRequest)
}

// openAIChatParams are the OpenAI chat params that drop_params governs. Fields
// that are not OpenAI params (provider-specific extras) are not checked here.
var openAIChatParams = map[string]paramRule{
	"temperature":           {func(r *ChatRequest) bool { return r.Temperature != nil }, func(r *ChatRequest) { r.Temperature = nil }},
	"top_p":                 {func(r *ChatRequest) bool { return r.TopP != nil }, func(r *ChatRequest) { r.TopP = nil }},
	"n":                     {func(r *ChatRequest) bool { return r.N != nil }, func(r *ChatRequest) { r.N = nil }},
	"stop":                  {func(r *ChatRequest) bool { return len(r.Stop) > 0 }, func(r *ChatRequest) { r.Stop = nil }},
	"max_tokens":            {func(r *ChatRequest) bool { return r.MaxTokens != nil }, func(r *ChatRequest) { r.MaxTokens = nil }},
	"max_completion_tokens": {func(r *ChatRequest) bool { return r.MaxCompletionTokens != nil }, func(r *ChatRequest) { r.MaxCompletionTokens = nil }},
	"presence_penalty":      {func(r *ChatRequest) bool { return r.PresencePenalty != nil }, func(r *ChatRequest) { r.PresencePenalty = nil }},
	"frequency_penalty":     {func(r *ChatRequest) bool { return r.FrequencyPenalty != nil }, func(r *ChatRequest) { r.FrequencyPenalty = nil }},
	"logit_bias":            {func(r *ChatRequest) bool { return len(r.LogitBias) > 0 }, func(r *ChatRequest) { r.LogitBias = nil }},
	"logprobs":              {func(r *ChatRequest) bool { return r.Logprobs != nil && *r.Logprobs }, func(r *ChatRequest) { r.Logprobs = nil }},
	"top_logprobs":          {func(r *ChatRequest) bool { return r.TopLogprobs != nil }, func(r *ChatRequest) { r.TopLogprobs = nil }},
	"seed":                  {func(r *ChatRequest) bool { return r.Seed != nil }, func(r *ChatRequest) { r.Seed = nil }},
	"tools":                 {func(r *ChatRequest) bool { return len(r.Tools) > 0 }, func(r *ChatRequest) { r.Tools = nil }},
	"tool_choice":           {func(r *ChatRequest) bool { return rawSet(r.ToolChoice) }, func(r *ChatRequest) { r.ToolChoice = nil }},
	"parallel_tool_calls":   {func(r *ChatRequest) bool { return r.ParallelToolCalls != nil }, func(r *ChatRequest) { r.ParallelToolCalls = nil }},
	"response_format":       {func(r *ChatRequest) bool { return r.ResponseFormat != nil }, func(r *ChatRequest) { r.ResponseFormat = nil }},
	"reasoning_effort":      {func(r *ChatRequest) bool { return r.ReasoningEffort != "" }, func(r *ChatRequest) { r.ReasoningEffort = "" }},
	"user":                  {func(r *ChatRequest) bool { return r.User != "" }, func(r *ChatRequest) { r.User = "" }},
}

// openAIExtraParams are OpenAI params that ChatRequest keeps in Extra.
var openAIExtraParams = []string{
	"functions", "function_call", "modalities", "audio", "prediction", "web_search_options", "service_tier",
}

// silentParams are OpenAI params that no provider here forwards and that are
// dropped without an error: they only carry end-user or storage metadata.
var silentParams = map[string]bool{"user": true, "store": true, "metadata": true, "service_tier": true}

func rawSet(b json.RawMessage) bool {
	s := strings.TrimSpace(string(b))
	return s != "" && s != "null"
}

// prepareChat decodes an OpenAI chat request and applies drop_params:
// Target.AdditionalDropParams are always removed; any other OpenAI param not in
// supported fails with 400 unless Target.DropParams, in which case it is removed.
func prepareChat(body []byte, t Target, provider string, supported map[string]bool) (*ChatRequest, error) {
	var r ChatRequest
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, NewError(400, "invalid_request_error", fmt.Sprintf("%s: request body is not a valid chat completions request: %v", provider, err), "")
	}
	for _, name := range t.AdditionalDropParams {
		clearParam(&r, name)
	}
	check := func(name string, set bool) error {
		if !set || supported[name] {
			return nil
		}
		if t.DropParams || silentParams[name] {
			clearParam(&r, name)
			return nil
		}
		return NewError(400, "invalid_request_error",
			fmt.Sprintf("%s is not supported by %s (model %s); set drop_params: true to drop it", name, provider, t.Model), name)
	}
	for _, name := range sortedParamNames {
		if err := check(name, openAIChatParams[name].set(&r)); err != nil {
			return nil, err
		}
	}
	for _, name := range openAIExtraParams {
		_, ok := r.Extra[name]
		if ok && !rawSet(r.Extra[name]) {
			delete(r.Extra, name)
			ok = false
		}
		if err := check(name, ok); err != nil {
			return nil, err
		}
	}
	if len(r.Messages) == 0 {
		return nil, NewError(400, "invalid_request_error", provider+": messages must not be empty", "messages")
	}
	return &r, nil
}

// sortedParamNames fixes the order in which params are checked, so that the
// error for a request with several unsupported params is deterministic.
var sortedParamNames = []string{
	"frequency_penalty", "logit_bias", "logprobs", "max_completion_tokens", "max_tokens", "n",
	"parallel_tool_calls", "presence_penalty", "reasoning_effort", "response_format", "seed", "stop",
	"temperature", "tool_choice", "tools", "top_logprobs", "top_p", "user",
}

func clearParam(r *ChatRequest, name string) {
	if p, ok := openAIChatParams[name]; ok {
		p.clear(r)
		return
	}
	delete(r.Extra, name)
}

// maxTokensOf is max_completion_tokens, else max_tokens.
func maxTokensOf(r *ChatRequest) *int {
	if r.MaxCompletionTokens != nil {
		return r.MaxCompletionTokens
	}
	return r.MaxTokens
}

// prepareEmbedding decodes an OpenAI embeddings request; token-array inputs
// are refused because none of these providers takes them.
func prepareEmbedding(body []byte, t Target, provider string, supported map[string]bool) (*EmbeddingRequest, error) {
	var r EmbeddingRequest
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, NewError(400, "invalid_request_error", fmt.Sprintf("%s: request body is not a valid embeddings request: %v", provider, err), "")
	}
	if len(r.Input) == 0 {
		return nil, NewError(400, "invalid_request_error", provider+": input must be a string or a non-empty list of strings", "input")
	}
	for _, name := range t.AdditionalDropParams {
		switch name {
		case "dimensions":
			r.Dimensions = nil
		case "encoding_format":
			r.EncodingFormat = ""
		case "input_type":
			r.InputType = ""
		}
	}
	if r.EncodingFormat == "float" {
		r.EncodingFormat = ""
	}
	for name, set := range map[string]bool{"dimensions": r.Dimensions != nil, "encoding_format": r.EncodingFormat != ""} {
		if !set || supported[name] {
			continue
		}
		if !t.DropParams {
			return nil, NewError(400, "invalid_request_error",
				fmt.Sprintf("%s is not supported by %s (model %s); set drop_params: true to drop it", name, provider, t.Model), name)
		}
		if name == "dimensions" {
			r.Dimensions = nil
		} else {
			r.EncodingFormat = ""
		}
	}
	return &r, nil
}

// unsupportedEndpoint is the 400 for an endpoint a provider does not serve.
func unsupportedEndpoint(provider string, ep Endpoint) error {
	return NewError(400, "invalid_request_error", fmt.Sprintf("%s does not support the %s endpoint", provider, ep), "")
}

// apiBasePath is the path part of an api_base URL, without a trailing
// slash. A missing scheme means https, as internal/upstream reads api_base
// (so "example.com/v1" has the base path /v1). Every translator builds its
// upstream path on it.
func apiBasePath(apiBase string) string {
	if v, ok := apiBasePaths.Load(apiBase); ok {
		return v.(string)
	}
	p := parseAPIBasePath(apiBase)
	if len(apiBase) <= 512 && apiBasePathsN.Add(1) <= apiBasePathsMax {
		apiBasePaths.Store(apiBase, p)
	}
	return p
}

// apiBasePaths keeps apiBasePath's results by api_base (D116: a
// deployment's api_base was parsed on every try), at most apiBasePathsMax
// of them, each at most 512 bytes (config reloads may bring new ones: past
// the bound they are parsed each time).
var (
	apiBasePaths    sync.Map
	apiBasePathsN   atomic.Int64
	apiBasePathsMax = int64(4096)
)

// parseAPIBasePath is apiBasePath without the cache.
func parseAPIBasePath(apiBase string) string {
	if apiBase != "" && !strings.Contains(apiBase, "://") {
		apiBase = "https://" + apiBase
	}
	if u, err := url.Parse(apiBase); err == nil && u.Host != "" {
		return strings.TrimRight(u.EscapedPath(), "/")
	}
	return ""
}

// jsonHeaders are the headers of a JSON POST.
func jsonHeaders(stream bool) map[string]string {
	h := map[string]string{"content-type": "application/json"}
	if stream {
		h["accept"] = "text/event-stream"
	} else {
		h["accept"] = "application/json"
	}
	return h
}

// stableID derives a deterministic id from the given parts (translators have
// no randomness of their own).
func stableID(prefix string, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return prefix + hex.EncodeToString(h.Sum(nil))[:24]
}

// splitDataURL splits a base64 data: URL (data:<media>;base64,<data>) into
// its media type, as written (possibly empty), and its payload.
func splitDataURL(u string) (media, data string, ok bool) {
	rest, found := strings.CutPrefix(u, "data:")
	if !found {
		return "", "", false
	}
	head, data, found := strings.Cut(rest, ",")
	if !found {
		return "", "", false
	}
	media, isB64 := strings.CutSuffix(head, ";base64")
	if !isB64 {
		return "", "", false
	}
	return media, data, true
}

// mimeFromURL guesses a media type from a URL's file extension.
func mimeFromURL(u string) string {
	p := u
	if pu, err := url.Parse(u); err == nil {
		p = pu.Path
	}
	p = strings.ToLower(p)
	for ext, m := range map[string]string{
		".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp",
		".gif": "image/gif", ".heic": "image/heic", ".heif": "image/heif", ".pdf": "application/pdf",
		".mp3": "audio/mp3", ".wav": "audio/wav", ".mp4": "video/mp4", ".txt": "text/plain",
	} {
		if strings.HasSuffix(p, ext) {
			return m
		}
	}
	return "image/jpeg"
}

// retryAfterOf reads a Retry-After header given in seconds.
func retryAfterOf(headers map[string]string) time.Duration {
	for k, v := range headers {
		if strings.EqualFold(k, "retry-after") {
			if s, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && s >= 0 && s < 86400 {
				return time.Duration(s * float64(time.Second))
			}
		}
	}
	return 0
}

// providerError builds the OpenAI error for a provider status and message.
func providerError(provider string, status int, headers map[string]string, message string) *Error {
	if status < 400 {
		status = 500
	}
	if message == "" {
		message = fmt.Sprintf("%s returned HTTP %d", provider, status)
	}
	e := NewError(status, TypeForStatus(status), provider+": "+message, "")
	e.Class = ClassifyMessage(status, message)
	e.RetryAfter = retryAfterOf(headers)
	return e
}

// truncateBody shortens a raw body quoted in an error message.
func truncateBody(b []byte) string {
	const max = 512
	s := strings.TrimSpace(string(b))
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}

// strPtr is a pointer to a copy of s.
func strPtr(s string) *string { return &s }

// lineChunker writes OpenAI chat.completion.chunk events. It sends the
// assistant role on the first delta of each choice.
type lineChunker struct {
	id      string
	model   string
	created int64
	roleOut map[int]bool
}

func (c *lineChunker) write(dst []byte, index int, d Delta, finish string, usage *UsageObject) []byte {
	if c.roleOut == nil {
		c.roleOut = map[int]bool{}
	}
	if !c.roleOut[index] {
		d.Role = "assistant"
		c.roleOut[index] = true
	}
	ch := ChatChunk{ID: c.id, Object: "chat.completion.chunk", Created: c.created, Model: c.model,
		Choices: []ChunkChoice{{Index: index, Delta: d}}, Usage: usage}
	if finish != "" {
		ch.Choices[0].FinishReason = strPtr(finish)
	}
	return WriteSSEJSON(dst, ch)
}

// writeUsage writes a usage-only chunk (no choices), as OpenAI does for
// stream_options.include_usage.
func (c *lineChunker) writeUsage(dst []byte, u Usage) []byte {
	ch := ChatChunk{ID: c.id, Object: "chat.completion.chunk", Created: c.created, Model: c.model,
		Choices: []ChunkChoice{}, Usage: UsageObjectFrom(u)}
	return WriteSSEJSON(dst, ch)
}

// parseTime reads an RFC 3339 timestamp as Unix seconds, or 0.
func parseTime(s string) int64 {
	if s == "" {
		return 0
	}
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0
	}
	return ts.Unix()
}

// toolNames maps tool_call ids of earlier assistant messages to their function
// names, so that tool results can be sent by name to providers that need it.
func toolNames(msgs []Message) map[string]string {
	out := map[string]string{}
	for _, m := range msgs {
		for _, tc := range m.ToolCalls {
			if tc.ID != "" {
				out[tc.ID] = tc.Function.Name
			}
		}
	}
	return out
}

// sseWriteError appends an OpenAI error event for a stream.
func streamErrorEvent(dst []byte, e *Error) []byte {
	return WriteSSEError(dst, e)
}
