package translator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/llmgate/llmgate/internal/provider"
)

// Anthropic Messages API (POST /v1/messages, anthropic-version 2023-06-01).
//
// Choices made here, following LiteLLM's AnthropicConfig:
//   - max_tokens is required by Anthropic: request max_tokens, else
//     max_completion_tokens, else Target.MaxTokensDefault, else 4096
//     (LiteLLM's DEFAULT_ANTHROPIC_CHAT_MAX_TOKENS). With thinking enabled and no
//     max_tokens from the client, max_tokens is budget_tokens + 4096 so that it
//     stays above the budget, as Anthropic requires.
//   - reasoning_effort → thinking {type: enabled, budget_tokens}: minimal 128,
//     low 1024, medium 2048, high 4096; "none" sends no thinking.
//   - response_format json_object/json_schema → a tool named "json_tool_call"
//     whose input_schema is the schema, forced with tool_choice unless thinking
//     is on. A response whose only tool call is json_tool_call comes back as
//     message content (finish_reason stop), in streams too.
//   - usage.prompt_tokens = input_tokens + cache_creation_input_tokens +
//     cache_read_input_tokens, cached_tokens = cache_read_input_tokens and
//     cache_creation_tokens = cache_creation_input_tokens (LiteLLM's
//     calculate_usage).
//   - user → metadata.user_id, except e-mail addresses and phone numbers,
//     which Anthropic rejects (LiteLLM drops them too).
//   - n is accepted only as 1. reasoning_content on assistant history is not
//     sent back: Anthropic needs the thinking signature, which OpenAI messages
//     do not carry.
//   - Non-OpenAI fields pass through only when they are Anthropic fields
//     (top_k, thinking); gateway fields (fallbacks, metadata, ...) never reach
//     the provider.
//   - created is Target.Created (0 unless the caller sets it: translators
//     have no clock), model Target.ResponseModel when set.

const (
	anthropicVersion          = "2023-06-01"
	anthropicDefaultMaxTokens = 4096
	anthropicJSONToolName     = "json_tool_call"
)

// anthropicSupportedParams are the OpenAI params the anthropic translator maps.
var anthropicSupportedParams = []string{
	"model", "messages", "stream", "stream_options", "stop", "temperature", "top_p",
	"max_tokens", "max_completion_tokens", "tools", "tool_choice", "parallel_tool_calls",
	"response_format", "user", "reasoning_effort", "n",
}

// anthropicThinkingBudget is LiteLLM's reasoning_effort → budget_tokens map.
var anthropicThinkingBudget = map[string]int{"minimal": 128, "low": 1024, "medium": 2048, "high": 4096}

func init() { Register(provider.WireAnthropic, anthropicTranslator{}) }

// anthropicTranslator translates OpenAI chat completions to the Anthropic
// Messages API and back.
type anthropicTranslator struct{}

type anthRequest struct {
	Model         string          `json:"model"`
	Messages      []anthMessage   `json:"messages"`
	System        []anthBlock     `json:"system,omitempty"`
	MaxTokens     int             `json:"max_tokens"`
	Temperature   *float64        `json:"temperature,omitempty"`
	TopP          *float64        `json:"top_p,omitempty"`
	TopK          json.RawMessage `json:"top_k,omitempty"`
	StopSequences []string        `json:"stop_sequences,omitempty"`
	Stream        bool            `json:"stream,omitempty"`
	Tools         []anthTool      `json:"tools,omitempty"`
	ToolChoice    *anthToolChoice `json:"tool_choice,omitempty"`
	Metadata      *anthMetadata   `json:"metadata,omitempty"`
	Thinking      json.RawMessage `json:"thinking,omitempty"`
}

type anthMetadata struct {
	UserID string `json:"user_id"`
}

type anthMessage struct {
	Role    string      `json:"role"`
	Content []anthBlock `json:"content"`
}

type anthBlock struct {
	Type      string          `json:"type"`
	Text      *string         `json:"text,omitempty"`
	Source    *anthSource     `json:"source,omitempty"`
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Input     json.RawMessage `json:"input,omitempty"`
	ToolUseID string          `json:"tool_use_id,omitempty"`
	Content   []anthBlock     `json:"content,omitempty"`
	Thinking  *string         `json:"thinking,omitempty"`
	Signature string          `json:"signature,omitempty"`
	Data      string          `json:"data,omitempty"`
	// CacheControl is the part's (or a string content's message's)
	// cache_control, carried as LiteLLM's transformation does (D119).
	CacheControl json.RawMessage `json:"cache_control,omitempty"`
}

type anthSource struct {
	Type      string `json:"type"` // base64 | url
	MediaType string `json:"media_type,omitempty"`
	Data      string `json:"data,omitempty"`
	URL       string `json:"url,omitempty"`
}

type anthTool struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	InputSchema json.RawMessage `json:"input_schema"`
}

type anthToolChoice struct {
	Type                   string `json:"type"`
	Name                   string `json:"name,omitempty"`
	DisableParallelToolUse *bool  `json:"disable_parallel_tool_use,omitempty"`
}

// Request implements Translator.
func (anthropicTranslator) Request(ep Endpoint, body []byte, t Target) (*UpstreamRequest, error) {
	if ep != Chat {
		return nil, NewError(400, "invalid_request_error", fmt.Sprintf("llmgate: endpoint %s not supported by provider anthropic", ep), "")
	}
	if b, stream, ok := anthropicRequestQuick(body, t); ok {
		return anthropicUpstream(b, stream, t), nil
	}
	return anthropicRequestFull(body, t)
}

// anthropicUpstream is the Messages API request of the body b.
func anthropicUpstream(b []byte, stream bool, t Target) *UpstreamRequest {
	h := map[string]string{"content-type": "application/json", "anthropic-version": anthropicVersion}
	if stream {
		h["accept"] = "text/event-stream"
	}
	return &UpstreamRequest{Method: http.MethodPost, Path: anthropicPath(t.APIBase), Headers: h, Body: b}
}

// anthropicRequestFull is Request through encoding/json: every request
// anthropicRequestQuick does not take.
func anthropicRequestFull(body []byte, t Target) (*UpstreamRequest, error) {
	req, raw, e := decodeChatRequest(body)
	if e != nil {
		return nil, e
	}
	p, e := checkRequestParams("anthropic", raw, anthropicSupportedParams, t)
	if e != nil {
		return nil, e
	}
	if p.use("n") && req.N != nil && *req.N != 1 {
		if !t.DropParams {
			return nil, NewError(400, "invalid_request_error", "llmgate: param n (other than 1) not supported by provider anthropic; set drop_params: true to drop it", "n")
		}
	}
	out := anthRequest{Model: t.Model, Stream: t.Stream || (p.use("stream") && req.Stream)}
	if out.Model == "" {
		out.Model = req.Model
	}

	mended, e := mendAnthropicMessages(req.Messages, t.ModifyParams)
	if e != nil {
		return nil, e
	}
	system, msgs, e := anthropicMessages(mended)
	if e != nil {
		return nil, e
	}
	out.System, out.Messages = system, msgs

	userMax := 0
	switch {
	case p.use("max_tokens") && req.MaxTokens != nil:
		userMax = *req.MaxTokens
	case p.use("max_completion_tokens") && req.MaxCompletionTokens != nil:
		userMax = *req.MaxCompletionTokens
	}
	out.MaxTokens = userMax
	if out.MaxTokens == 0 {
		out.MaxTokens = t.MaxTokensDefault
	}
	if out.MaxTokens == 0 {
		out.MaxTokens = anthropicDefaultMaxTokens
	}
	if p.use("temperature") {
		out.Temperature = req.Temperature
	}
	if p.use("top_p") {
		out.TopP = req.TopP
	}
	if p.use("stop") {
		for _, s := range req.Stop {
			if strings.TrimSpace(s) == "" && t.DropParams {
				continue // Anthropic rejects whitespace-only stop sequences
			}
			out.StopSequences = append(out.StopSequences, s)
		}
	}
	if p.use("user") && req.User != "" && anthropicValidUserID(req.User) {
		out.Metadata = &anthMetadata{UserID: req.User}
	}
	if p.use("top_k") {
		out.TopK = req.Extra["top_k"]
	}

	// thinking: explicit Anthropic field wins over reasoning_effort.
	budget := 0
	if p.use("thinking") {
		out.Thinking = req.Extra["thinking"]
		var th struct {
			Type         string `json:"type"`
			BudgetTokens int    `json:"budget_tokens"`
		}
		if json.Unmarshal(out.Thinking, &th) == nil && th.Type == "enabled" {
			budget = th.BudgetTokens
		}
	} else if p.use("reasoning_effort") && req.ReasoningEffort != "" && req.ReasoningEffort != "none" {
		b, ok := anthropicThinkingBudget[req.ReasoningEffort]
		if !ok {
			return nil, NewError(400, "invalid_request_error", fmt.Sprintf("llmgate: reasoning_effort %q not supported by provider anthropic (use minimal, low, medium or high)", req.ReasoningEffort), "reasoning_effort")
		}
		budget = b
		out.Thinking, _ = json.Marshal(map[string]any{"type": "enabled", "budget_tokens": b})
	}
	if budget > 0 && userMax == 0 && out.MaxTokens <= budget {
		out.MaxTokens = budget + anthropicDefaultMaxTokens
	}

	if p.use("tools") {
		for _, tl := range req.Tools {
			if tl.Type != "" && tl.Type != "function" {
				return nil, NewError(400, "invalid_request_error", fmt.Sprintf("llmgate: tool type %q not supported by provider anthropic", tl.Type), "tools")
			}
			schema := tl.Function.Parameters
			if len(bytes.TrimSpace(schema)) == 0 || string(schema) == "null" {
				schema = json.RawMessage(`{"type":"object","properties":{}}`)
			}
			out.Tools = append(out.Tools, anthTool{Name: tl.Function.Name, Description: tl.Function.Description, InputSchema: schema})
		}
	}
	if p.use("tool_choice") {
		tc, e := anthropicToolChoice(req.ToolChoice)
		if e != nil {
			return nil, e
		}
		out.ToolChoice = tc
	}
	if p.use("parallel_tool_calls") && req.ParallelToolCalls != nil && (out.ToolChoice == nil || out.ToolChoice.Type != "none") {
		if out.ToolChoice == nil {
			out.ToolChoice = &anthToolChoice{Type: "auto"}
		}
		d := !*req.ParallelToolCalls
		out.ToolChoice.DisableParallelToolUse = &d
	}
	if p.use("response_format") && req.ResponseFormat != nil && req.ResponseFormat.Type != "text" && req.ResponseFormat.Type != "" {
		schema := json.RawMessage(`{"type":"object","additionalProperties":true,"properties":{}}`)
		if req.ResponseFormat.JSONSchema != nil && len(req.ResponseFormat.JSONSchema.Schema) > 0 && string(req.ResponseFormat.JSONSchema.Schema) != "null" {
			schema = req.ResponseFormat.JSONSchema.Schema
		}
		out.Tools = append(out.Tools, anthTool{Name: anthropicJSONToolName, InputSchema: schema})
		if budget == 0 && len(out.Thinking) == 0 {
			out.ToolChoice = &anthToolChoice{Type: "tool", Name: anthropicJSONToolName}
		}
	}

	if t.ModifyParams && len(out.Thinking) > 0 && dropThinkingForToolCalls(raw["messages"]) {
		out.Thinking = nil // LiteLLM's modify_params: tool calls without their thinking blocks
	}

	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("anthropic: encode request: %w", err)
	}
	return anthropicUpstream(b, out.Stream, t), nil
}

var (
	anthEmailRe = regexp.MustCompile(`^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}$`)
	anthPhoneRe = regexp.MustCompile(`^\+?[\d\s\(\)-]{7,}$`)
)

func anthropicValidUserID(s string) bool {
	return !anthEmailRe.MatchString(s) && !anthPhoneRe.MatchString(s)
}

func anthropicToolChoice(raw json.RawMessage) (*anthToolChoice, *Error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		switch s {
		case "auto":
			return &anthToolChoice{Type: "auto"}, nil
		case "required":
			return &anthToolChoice{Type: "any"}, nil
		case "none":
			return &anthToolChoice{Type: "none"}, nil
		}
		return nil, NewError(400, "invalid_request_error", fmt.Sprintf("llmgate: tool_choice %q not supported", s), "tool_choice")
	}
	var obj struct {
		Type     string `json:"type"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil || obj.Function.Name == "" {
		return nil, NewError(400, "invalid_request_error", "llmgate: tool_choice must be auto, required, none or {\"type\":\"function\",\"function\":{\"name\":...}}", "tool_choice")
	}
	return &anthToolChoice{Type: "tool", Name: obj.Function.Name}, nil
}

// anthropicMessages lifts system messages and converts the rest, merging
// consecutive messages of the same Anthropic role. Empty texts are LiteLLM's
// placeholder (sanitizeEmptyText), and a user turn whose only user message
// has no content holds the placeholder, as LiteLLM's anthropic_messages_pt
// makes them whatever modify_params.
func anthropicMessages(in []Message) ([]anthBlock, []anthMessage, *Error) {
	var system []anthBlock
	var out []anthMessage
	add := func(role string, blocks []anthBlock) {
		if len(blocks) == 0 {
			return
		}
		if n := len(out); n > 0 && out[n-1].Role == role {
			out[n-1].Content = append(out[n-1].Content, blocks...)
			return
		}
		out = append(out, anthMessage{Role: role, Content: blocks})
	}
	// The user turn being read: whether it produced a block, and its last
	// user message without content (LiteLLM's _empty_user_turn_placeholder).
	turnBlocks, emptyUser := false, (*Message)(nil)
	endTurn := func() {
		if !turnBlocks && emptyUser != nil {
			add("user", withMessageCacheControl([]anthBlock{{Type: "text", Text: strPtr(emptyTextPlaceholder)}}, Message{CacheControl: emptyUser.CacheControl}))
		}
		turnBlocks, emptyUser = false, nil
	}
	for i := range in {
		m := sanitizeEmptyText(in[i])
		switch m.Role {
		case "system", "developer":
			system = append(system, withMessageCacheControl(anthropicTextBlocks(m.Content), m)...)
		case "user":
			blocks, e := anthropicUserBlocks(m.Content, i)
			if e != nil {
				return nil, nil, e
			}
			if m.Content.Null || (m.Content.IsParts && len(m.Content.Parts) == 0) {
				emptyUser = &in[i]
			}
			turnBlocks = turnBlocks || len(blocks) > 0
			add("user", withMessageCacheControl(blocks, m))
		case "assistant":
			endTurn()
			var blocks []anthBlock
			blocks = append(blocks, withMessageCacheControl(anthropicTextBlocks(m.Content), m)...)
			for _, tc := range m.ToolCalls {
				args := json.RawMessage(bytes.TrimSpace([]byte(tc.Function.Arguments)))
				if len(args) == 0 {
					args = json.RawMessage(`{}`)
				} else if !json.Valid(args) {
					return nil, nil, NewError(400, "invalid_request_error", fmt.Sprintf("llmgate: messages[%d].tool_calls: arguments of %q are not valid JSON", i, tc.Function.Name), "messages")
				}
				blocks = append(blocks, anthBlock{Type: "tool_use", ID: tc.ID, Name: tc.Function.Name, Input: args})
			}
			add("assistant", blocks)
		case "tool", "function":
			id := m.ToolCallID
			if m.Role == "function" && id == "" {
				id = m.Name
			}
			res := anthBlock{Type: "tool_result", ToolUseID: id}
			res.Content = anthropicTextBlocks(m.Content)
			if len(res.Content) == 0 {
				res.Content = []anthBlock{{Type: "text", Text: strPtr(".")}}
			}
			turnBlocks = true
			add("user", []anthBlock{res})
		default:
			return nil, nil, NewError(400, "invalid_request_error", fmt.Sprintf("llmgate: messages[%d]: role %q not supported by provider anthropic", i, m.Role), "messages")
		}
	}
	endTurn()
	if len(out) == 0 {
		return nil, nil, NewError(400, "invalid_request_error", "llmgate: anthropic needs at least one user or assistant message", "messages")
	}
	return system, out, nil
}

func anthropicTextBlocks(c Content) []anthBlock {
	if !c.IsParts {
		if c.Text == "" {
			return nil
		}
		return []anthBlock{{Type: "text", Text: strPtr(c.Text)}}
	}
	var out []anthBlock
	for _, p := range c.Parts {
		if p.Type == "text" && p.Text != "" {
			out = append(out, anthBlock{Type: "text", Text: strPtr(p.Text), CacheControl: p.CacheControl})
		}
	}
	return out
}

// withMessageCacheControl puts a string content's message-level
// cache_control on its text block (LiteLLM's add_cache_control_to_content).
func withMessageCacheControl(blocks []anthBlock, m Message) []anthBlock {
	if len(m.CacheControl) > 0 && string(m.CacheControl) != "null" && !m.Content.IsParts && len(blocks) == 1 {
		blocks[0].CacheControl = m.CacheControl
	}
	return blocks
}

func anthropicUserBlocks(c Content, i int) ([]anthBlock, *Error) {
	if !c.IsParts {
		return anthropicTextBlocks(c), nil
	}
	var out []anthBlock
	for _, p := range c.Parts {
		switch p.Type {
		case "text":
			if p.Text != "" {
				out = append(out, anthBlock{Type: "text", Text: strPtr(p.Text), CacheControl: p.CacheControl})
			}
		case "image_url":
			if p.ImageURL == nil {
				return nil, NewError(400, "invalid_request_error", fmt.Sprintf("llmgate: messages[%d]: image_url part without url", i), "messages")
			}
			src, e := anthropicImageSource(p.ImageURL.URL)
			if e != nil {
				return nil, e
			}
			out = append(out, anthBlock{Type: "image", Source: src, CacheControl: p.CacheControl})
		default:
			return nil, NewError(400, "invalid_request_error", fmt.Sprintf("llmgate: messages[%d]: content part type %q not supported by provider anthropic", i, p.Type), "messages")
		}
	}
	return out, nil
}

func anthropicImageSource(u string) (*anthSource, *Error) {
	if strings.HasPrefix(u, "data:") {
		media, data, ok := splitDataURL(u)
		if !ok || media == "" {
			return nil, NewError(400, "invalid_request_error", "llmgate: image data URL must be data:<media-type>;base64,<data>", "messages")
		}
		return &anthSource{Type: "base64", MediaType: media, Data: data}, nil
	}
	if strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
		return &anthSource{Type: "url", URL: u}, nil
	}
	return nil, NewError(400, "invalid_request_error", "llmgate: image_url must be an http(s) URL or a base64 data URL", "messages")
}

// anthResponse is an Anthropic Message.
type anthResponse struct {
	ID         string      `json:"id"`
	Type       string      `json:"type"`
	Model      string      `json:"model"`
	Content    []anthBlock `json:"content"`
	StopReason string      `json:"stop_reason"`
	Usage      anthUsage   `json:"usage"`
}

type anthUsage struct {
	InputTokens              int `json:"input_tokens"`
	OutputTokens             int `json:"output_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
}

func (u anthUsage) openai() Usage {
	return cacheUsage(u.InputTokens, u.CacheReadInputTokens, u.CacheCreationInputTokens, u.OutputTokens)
}

// cacheUsage is the usage of a provider that counts its prompt in three
// disjoint parts (Anthropic, Bedrock): the uncached input, the tokens read
// from its prompt cache and the tokens written to it. prompt_tokens is
// their sum, as LiteLLM's transformations make it.
func cacheUsage(input, read, creation, output int) Usage {
	input, read, creation, output = max(input, 0), max(read, 0), max(creation, 0), max(output, 0)
	p := input + read + creation
	return Usage{PromptTokens: p, CompletionTokens: output, TotalTokens: p + output, CachedTokens: read, CacheCreationTokens: creation}
}

// anthropicFinishReason maps stop_reason to an OpenAI finish_reason.
func anthropicFinishReason(s string) string {
	switch s {
	case "end_turn", "stop_sequence", "pause_turn", "":
		return "stop"
	case "max_tokens", "model_context_window_exceeded":
		return "length"
	case "tool_use":
		return "tool_calls"
	case "refusal":
		return "content_filter"
	}
	return "stop"
}

// Response implements Translator.
func (anthropicTranslator) Response(ep Endpoint, body []byte, t Target) (*Response, error) {
	if ep != Chat {
		return nil, NewError(400, "invalid_request_error", fmt.Sprintf("llmgate: endpoint %s not supported by provider anthropic", ep), "")
	}
	if r, ok := anthropicResponseQuick(body, t); ok {
		return r, nil
	}
	return anthropicResponseFull(body, t)
}

// anthropicResponseFull is Response through encoding/json: every answer
// anthropicResponseQuick does not take.
func anthropicResponseFull(body []byte, t Target) (*Response, error) {
	var r anthResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, NewError(502, "internal_server_error", "llmgate: anthropic returned an invalid message: "+err.Error(), "")
	}
	if r.Type == "error" {
		return nil, anthropicTranslator{}.Error(500, nil, body)
	}
	var text, reasoning strings.Builder
	var calls []ToolCall
	for _, b := range r.Content {
		switch b.Type {
		case "text":
			if b.Text != nil {
				text.WriteString(*b.Text)
			}
		case "thinking":
			if b.Thinking != nil {
				reasoning.WriteString(*b.Thinking)
			}
		case "tool_use":
			args := string(b.Input)
			if args == "" {
				args = "{}"
			}
			calls = append(calls, ToolCall{ID: b.ID, Type: "function", Function: FunctionCall{Name: b.Name, Arguments: args}})
		}
	}
	finish := anthropicFinishReason(r.StopReason)
	msg := ResponseMessage{Role: "assistant", ToolCalls: calls, ReasoningContent: reasoning.String()}
	if len(calls) == 1 && calls[0].Function.Name == anthropicJSONToolName {
		// JSON mode: the forced tool's input is the answer.
		msg.Content, msg.ToolCalls, finish = strPtr(calls[0].Function.Arguments), nil, "stop"
	} else if text.Len() > 0 {
		msg.Content = strPtr(text.String())
	}
	model := r.Model
	if model == "" {
		model = t.Model
	}
	if t.ResponseModel != "" {
		model = t.ResponseModel
	}
	u := r.Usage.openai()
	out := ChatResponse{
		ID: r.ID, Object: "chat.completion", Created: t.Created, Model: model,
		Choices: []Choice{{Index: 0, Message: msg, FinishReason: finish}},
		Usage:   UsageObjectFrom(u),
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("anthropic: encode response: %w", err)
	}
	return &Response{Body: b, Usage: u, FinishReason: finish}, nil
}

type anthErrorBody struct {
	Type  string `json:"type"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

// Error implements Translator.
func (anthropicTranslator) Error(status int, headers map[string]string, body []byte) *Error {
	var eb anthErrorBody
	msg, typ := "", ""
	if json.Unmarshal(body, &eb) == nil {
		msg, typ = eb.Error.Message, eb.Error.Type
	}
	return anthropicError(status, typ, msg, body, headers)
}

func anthropicError(status int, typ, msg string, body []byte, headers map[string]string) *Error {
	if status < 400 {
		status = anthropicStatusForType(typ)
	}
	if msg == "" {
		msg = providerBodySnippet(body, status)
	}
	e := NewError(status, TypeForStatus(status), msg, "")
	e.Class = ClassifyMessage(status, msg)
	if typ == "overloaded_error" || typ == "api_error" {
		e.Class = ErrInternal
	}
	e.RetryAfter = retryAfter(headers)
	return e
}

// anthropicStatusForType is the HTTP status Anthropic documents for each error
// type; used for errors that arrive inside a 200 stream.
func anthropicStatusForType(typ string) int {
	switch typ {
	case "invalid_request_error":
		return 400
	case "authentication_error":
		return 401
	case "permission_error":
		return 403
	case "not_found_error":
		return 404
	case "request_too_large":
		return 413
	case "rate_limit_error":
		return 429
	case "timeout_error":
		return 504
	case "overloaded_error":
		return 529
	}
	return 500
}

// providerBodySnippet is a short, printable form of a non-JSON error body.
func providerBodySnippet(body []byte, status int) string {
	s := strings.TrimSpace(strings.ToValidUTF8(string(body), "?"))
	if len(s) > 500 {
		s = s[:500] + "..."
	}
	if s == "" {
		s = http.StatusText(status)
		if s == "" {
			s = "provider error " + strconv.Itoa(status)
		}
	}
	return s
}

// header looks a header up case-insensitively.
func header(h map[string]string, name string) string {
	if v, ok := h[name]; ok {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// retryAfter reads Retry-After in seconds (HTTP dates are ignored: no clock).
func retryAfter(h map[string]string) time.Duration {
	v := strings.TrimSpace(header(h, "retry-after"))
	if v == "" {
		return 0
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || f > 86400 {
		return 0
	}
	return time.Duration(f * float64(time.Second))
}

// NewStream implements Translator.
func (anthropicTranslator) NewStream(ep Endpoint, t Target) Stream {
	return &anthropicStream{model: t.Model, toolIndex: map[int]int{}}
}

type anthropicStream struct {
	parser       SSEParser
	id, model    string
	respModel    string // SetResponseModel's: every chunk's model when set
	created      int64  // SetCreated's: every chunk's created
	noQuick      bool   // tests: every event through encoding/json
	includeUsage bool
	usage        anthUsage
	finish       string
	toolIndex    map[int]int // Anthropic block index → OpenAI tool_calls index
	jsonBlock    map[int]bool
	nextTool     int
	started      bool
	done         bool
	err          *Error
}

func (s *anthropicStream) SetIncludeUsage(v bool) { s.includeUsage = v }

// SetResponseModel implements ModelSetter: the chunks carry model.
func (s *anthropicStream) SetResponseModel(model string) { s.respModel = model }

// SetCreated implements CreatedSetter.
func (s *anthropicStream) SetCreated(created int64) { s.created = created }

// chunkModel is a chunk's model.
func (s *anthropicStream) chunkModel() string {
	if s.respModel != "" {
		return s.respModel
	}
	return s.model
}

func (s *anthropicStream) Usage() Usage         { return s.usage.openai() }
func (s *anthropicStream) FinishReason() string { return s.finish }
func (s *anthropicStream) Err() *Error          { return s.err }

type anthStreamEvent struct {
	Type         string          `json:"type"`
	Message      *anthResponse   `json:"message"`
	Index        int             `json:"index"`
	ContentBlock *anthBlock      `json:"content_block"`
	Delta        json.RawMessage `json:"delta"`
	Usage        *anthUsage      `json:"usage"`
	Error        *struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

type anthDelta struct {
	Type        string  `json:"type"`
	Text        string  `json:"text"`
	PartialJSON string  `json:"partial_json"`
	Thinking    string  `json:"thinking"`
	StopReason  *string `json:"stop_reason"`
}

func (s *anthropicStream) chunk(dst []byte, d Delta, finish *string) []byte {
	c := ChatChunk{ID: s.id, Object: "chat.completion.chunk", Created: s.created, Model: s.chunkModel(),
		Choices: []ChunkChoice{{Index: 0, Delta: d, FinishReason: finish}}}
	return WriteSSEJSON(dst, c)
}

func (s *anthropicStream) fail(dst []byte, e *Error) []byte {
	s.err, s.done = e, true
	return WriteSSEError(dst, e)
}

// Feed implements Stream.
func (s *anthropicStream) Feed(chunk []byte, last bool) ([]byte, error) {
	if s.done {
		return nil, nil
	}
	var out []byte
	for _, ev := range s.parser.Feed(chunk, last) {
		if s.done {
			break
		}
		out = s.event(out, ev)
	}
	if last && !s.done {
		out = s.fail(out, NewError(502, "internal_server_error", "llmgate: anthropic stream ended before message_stop", ""))
	}
	return out, nil
}

func (s *anthropicStream) event(out []byte, ev SSEEvent) []byte {
	if !s.noQuick {
		if o, ok := s.quickEvent(out, ev.Data); ok {
			return o
		}
	}
	var e anthStreamEvent
	if err := json.Unmarshal(ev.Data, &e); err != nil {
		return s.fail(out, NewError(502, "internal_server_error", "llmgate: anthropic sent an invalid stream event: "+err.Error(), ""))
	}
	typ := e.Type
	if typ == "" {
		typ = ev.Event
	}
	switch typ {
	case "message_start":
		if e.Message != nil {
			s.id = e.Message.ID
			if e.Message.Model != "" {
				s.model = e.Message.Model
			}
			s.usage = e.Message.Usage
		}
		s.started = true
		return s.chunk(out, Delta{Role: "assistant", Content: strPtr("")}, nil)
	case "content_block_start":
		b := e.ContentBlock
		if b == nil {
			return out
		}
		switch b.Type {
		case "tool_use":
			if b.Name == anthropicJSONToolName {
				if s.jsonBlock == nil {
					s.jsonBlock = map[int]bool{}
				}
				s.jsonBlock[e.Index] = true
				return out
			}
			i := s.nextTool
			s.nextTool++
			s.toolIndex[e.Index] = i
			return s.chunk(out, Delta{ToolCalls: []ToolCall{{Index: &i, ID: b.ID, Type: "function", Function: FunctionCall{Name: b.Name}}}}, nil)
		case "text":
			if b.Text != nil && *b.Text != "" {
				return s.chunk(out, Delta{Content: b.Text}, nil)
			}
		}
		return out
	case "content_block_delta":
		var d anthDelta
		if json.Unmarshal(e.Delta, &d) != nil {
			return out
		}
		switch d.Type {
		case "text_delta":
			return s.chunk(out, Delta{Content: strPtr(d.Text)}, nil)
		case "thinking_delta":
			return s.chunk(out, Delta{ReasoningContent: d.Thinking}, nil)
		case "input_json_delta":
			if d.PartialJSON == "" {
				return out
			}
			if s.jsonBlock[e.Index] {
				return s.chunk(out, Delta{Content: strPtr(d.PartialJSON)}, nil)
			}
			i, ok := s.toolIndex[e.Index]
			if !ok {
				return out
			}
			return s.chunk(out, Delta{ToolCalls: []ToolCall{{Index: &i, Function: FunctionCall{Arguments: d.PartialJSON}}}}, nil)
		}
		return out
	case "message_delta":
		var d anthDelta
		_ = json.Unmarshal(e.Delta, &d)
		if e.Usage != nil {
			s.usage.OutputTokens = e.Usage.OutputTokens
			if e.Usage.InputTokens > 0 {
				s.usage.InputTokens = e.Usage.InputTokens
			}
			if e.Usage.CacheReadInputTokens > 0 {
				s.usage.CacheReadInputTokens = e.Usage.CacheReadInputTokens
			}
			if e.Usage.CacheCreationInputTokens > 0 {
				s.usage.CacheCreationInputTokens = e.Usage.CacheCreationInputTokens
			}
		}
		if d.StopReason != nil {
			f := anthropicFinishReason(*d.StopReason)
			if len(s.jsonBlock) > 0 && f == "tool_calls" && s.nextTool == 0 {
				f = "stop"
			}
			s.finish = f
			return s.chunk(out, Delta{}, &f)
		}
		return out
	case "message_stop":
		if s.includeUsage {
			c := ChatChunk{ID: s.id, Object: "chat.completion.chunk", Created: s.created, Model: s.chunkModel(), Choices: []ChunkChoice{}, Usage: UsageObjectFrom(s.usage.openai())}
			out = WriteSSEJSON(out, c)
		}
		s.done = true
		return append(out, SSEDone...)
	case "error":
		typ, msg := "", ""
		if e.Error != nil {
			typ, msg = e.Error.Type, e.Error.Message
		}
		return s.fail(out, anthropicError(0, typ, msg, ev.Data, nil))
	}
	return out // ping and unknown events
}

// anthropicPath is the Messages API path under an api_base: LiteLLM appends
// /v1/messages unless the api_base already ends with it.
func anthropicPath(apiBase string) string {
	p := apiBasePath(apiBase)
	if strings.HasSuffix(p, "/v1/messages") {
		return p
	}
	return p + "/v1/messages"
}
