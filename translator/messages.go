package translator

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/llmgate/llmgate/internal/provider"
)

// Anthropic's Messages API in (POST /v1/messages, D129), as LiteLLM's
// /v1/messages serves it:
//   - an Anthropic deployment gets the client's body natively (its model id
//     set, LiteLLM's own fields removed; the body's metadata is Anthropic's
//     metadata.user_id there and stays), and its answer and events back as
//     they are, the model restamped as on chat;
//   - every other provider gets it translated into a chat completion (what
//     LiteLLM's LiteLLMAnthropicMessagesAdapter does: system → a system
//     message, tool_result blocks → tool messages, tool_use → tool_calls,
//     images → image_url parts, stop_sequences → stop, tools and tool_choice
//     → function tools, metadata.user_id → user, thinking → reasoning_effort),
//     which that provider's own
//     translator then carries; the chat answer comes back as an Anthropic
//     message (finish_reason stop → end_turn, length → max_tokens,
//     tool_calls → tool_use, anything else end_turn) and a chat stream as
//     Anthropic's events (message_start, content_block_start/delta/stop,
//     message_delta with the usage, message_stop).

// ForMessages is the translator of the Messages endpoint for a provider, nil
// for a provider llmgate does not serve.
func ForMessages(name string) Translator {
	p, ok := provider.Lookup(name)
	if !ok {
		return nil
	}
	if p.Wire == provider.WireAnthropic {
		return messagesNative{}
	}
	inner := For(name)
	if inner == nil {
		return nil
	}
	return messagesAdapter(inner)
}

// messagesAdapter is the bridge for providers other than Anthropic.
func messagesAdapter(inner Translator) Translator {
	return chatBridge{inner: inner, toChat: MessagesToChat,
		fromChat: func(chat []byte, t Target) ([]byte, *Error) { return ChatToMessage(chat, t.ResponseModel) },
		stream: func(in Stream, _ Target) Stream {
			s := &messagesStream{bridgeStream: bridgeStream{inner: in}}
			s.ev = s
			return s
		}}
}

// MessagesRequired is LiteLLM's check of a /v1/messages body before any
// call: max_tokens and messages are required (a 400 naming the first
// missing one, as LiteLLM's anthropic_messages raises it).
func MessagesRequired(body []byte) *Error {
	for _, k := range []string{"max_tokens", "messages"} {
		if v := gjson.GetBytes(body, k); !v.Exists() || v.Type == gjson.Null {
			return NewError(400, "invalid_request_error", "anthropic_messages: Missing required parameter: '"+k+"'.", k)
		}
	}
	return nil
}

// messagesNative sends the body to an Anthropic deployment as it is.
type messagesNative struct{}

func (messagesNative) Request(ep Endpoint, body []byte, t Target) (*UpstreamRequest, error) {
	if !gjson.ValidBytes(body) || !isObject(body) {
		return nil, NewError(400, "invalid_request_error", "request body is not a valid JSON object", "")
	}
	out, err := sjson.SetBytes(append([]byte(nil), body...), "model", t.Model)
	if err != nil {
		return nil, err
	}
	var drop []string
	gjson.ParseBytes(out).ForEach(func(k, _ gjson.Result) bool {
		// metadata is Anthropic's own field on this route (LiteLLM reads
		// its own as litellm_metadata there).
		if name := k.String(); name != "metadata" && IsLiteLLMOnly(name) || containsString(t.AdditionalDropParams, name) {
			drop = append(drop, name)
		}
		return true
	})
	for _, p := range drop {
		for i := 0; i < 64 && gjson.GetBytes(out, gjsonKey(p)).Exists(); i++ {
			if out, err = sjson.DeleteBytes(out, gjsonKey(p)); err != nil {
				return nil, err
			}
		}
	}
	return anthropicUpstream(out, t.Stream, t), nil
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func (messagesNative) Response(ep Endpoint, body []byte, t Target) (*Response, error) {
	var r anthResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, NewError(502, "internal_server_error", "llmgate: anthropic returned an invalid message: "+err.Error(), "")
	}
	if r.Type == "error" {
		return nil, anthropicTranslator{}.Error(500, nil, body)
	}
	return &Response{Body: SetResponseModel(body, t.ResponseModel), Usage: r.Usage.openai(), FinishReason: anthropicFinishReason(r.StopReason)}, nil
}

func (messagesNative) Error(status int, headers map[string]string, body []byte) *Error {
	return anthropicTranslator{}.Error(status, headers, body)
}

func (messagesNative) NewStream(ep Endpoint, t Target) Stream { return &messagesNativeStream{} }

// messagesNativeStream passes Anthropic's events on as they came, reading
// the usage, the stop reason and an error event, and restamping
// message_start's model.
type messagesNativeStream struct {
	p      SSEParser
	model  string
	usage  anthUsage
	finish string
	err    *Error
	done   bool
}

func (s *messagesNativeStream) SetResponseModel(m string) { s.model = m }
func (s *messagesNativeStream) Usage() Usage              { return s.usage.openai() }
func (s *messagesNativeStream) FinishReason() string      { return s.finish }
func (s *messagesNativeStream) Err() *Error               { return s.err }

func (s *messagesNativeStream) Feed(chunk []byte, last bool) ([]byte, error) {
	var out []byte
	for _, ev := range s.p.Feed(chunk, last) {
		data := ev.Data
		var e anthStreamEvent
		if json.Unmarshal(data, &e) == nil {
			typ := e.Type
			if typ == "" {
				typ = ev.Event
			}
			switch typ {
			case "message_start":
				if e.Message != nil {
					s.usage = e.Message.Usage
				}
				if s.model != "" {
					if d, err := sjson.SetBytes(data, "message.model", s.model); err == nil {
						data = d
					}
				}
			case "message_delta":
				if e.Usage != nil {
					s.usage.merge(*e.Usage)
				}
				var d anthDelta
				if json.Unmarshal(e.Delta, &d) == nil && d.StopReason != nil {
					s.finish = anthropicFinishReason(*d.StopReason)
				}
			case "message_stop":
				s.done = true
			case "error":
				typ, msg := "", ""
				if e.Error != nil {
					typ, msg = e.Error.Type, e.Error.Message
				}
				s.err, s.done = anthropicError(0, typ, msg, data, nil), true
			}
		}
		out = WriteSSE(out, ev.Event, data)
	}
	if last && !s.done {
		s.err = NewError(502, "internal_server_error", "llmgate: anthropic stream ended before message_stop", "")
		s.done = true
		out = WriteSSE(out, "error", anthropicErrorEvent(s.err))
	}
	return out, nil
}

// merge takes a message_delta's usage: its output tokens, and the input
// and cache counts when it has them.
func (u *anthUsage) merge(d anthUsage) {
	u.OutputTokens = d.OutputTokens
	if d.InputTokens > 0 {
		u.InputTokens = d.InputTokens
	}
	if d.CacheReadInputTokens > 0 {
		u.CacheReadInputTokens = d.CacheReadInputTokens
	}
	if d.CacheCreationInputTokens > 0 {
		u.CacheCreationInputTokens = d.CacheCreationInputTokens
	}
}

// anthropicErrorEvent is Anthropic's error event payload for e.
func anthropicErrorEvent(e *Error) []byte {
	b, _ := json.Marshal(map[string]any{"type": "error", "error": map[string]string{"type": anthropicErrorType(e.Status), "message": e.Message}})
	return b
}

// anthropicErrorType is Anthropic's error type for a status.
func anthropicErrorType(status int) string {
	switch {
	case status == 400 || status == 422:
		return "invalid_request_error"
	case status == 401:
		return "authentication_error"
	case status == 403:
		return "permission_error"
	case status == 404:
		return "not_found_error"
	case status == 413:
		return "request_too_large"
	case status == 429:
		return "rate_limit_error"
	case status == 529:
		return "overloaded_error"
	}
	return "api_error"
}

// msgsRequest is the part of a Messages request the adapter maps.
type msgsRequest struct {
	Model         string          `json:"model"`
	Messages      []msgsMessage   `json:"messages"`
	System        json.RawMessage `json:"system"`
	MaxTokens     *int            `json:"max_tokens"`
	Temperature   *float64        `json:"temperature"`
	TopP          *float64        `json:"top_p"`
	StopSequences []string        `json:"stop_sequences"`
	Stream        bool            `json:"stream"`
	Tools         []msgsTool      `json:"tools"`
	ToolChoice    *anthToolChoice `json:"tool_choice"`
	Metadata      *anthMetadata   `json:"metadata"`
	Thinking      *struct {
		Type         string `json:"type"`
		BudgetTokens int    `json:"budget_tokens"`
	} `json:"thinking"`
}

// msgsReasoningEffort is LiteLLM's thinking → reasoning_effort: disabled →
// none, adaptive → medium, enabled by budget_tokens (≥ 10000 high, ≥ 5000
// medium, ≥ 2000 low, else minimal).
func msgsReasoningEffort(typ string, budget int) string {
	switch typ {
	case "disabled":
		return "none"
	case "adaptive":
		return "medium"
	case "enabled":
		switch {
		case budget >= 10000:
			return "high"
		case budget >= 5000:
			return "medium"
		case budget >= 2000:
			return "low"
		}
		return "minimal"
	}
	return ""
}

type msgsMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

type msgsBlock struct {
	Type      string          `json:"type"`
	Text      string          `json:"text"`
	Source    *anthSource     `json:"source"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
	ToolUseID string          `json:"tool_use_id"`
	Content   json.RawMessage `json:"content"`
	Thinking  string          `json:"thinking"`
}

type msgsTool struct {
	Type        string          `json:"type"`
	Name        string          `json:"name"`
	Description string          `json:"description"`
	InputSchema json.RawMessage `json:"input_schema"`
}

// MessagesToChat is a Messages request as a chat completions request.
func MessagesToChat(body []byte) ([]byte, *Error) {
	var r msgsRequest
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, NewError(400, "invalid_request_error", "Invalid JSON in request body: "+err.Error(), "")
	}
	c := ChatRequest{Model: r.Model, MaxTokens: r.MaxTokens, Temperature: r.Temperature, TopP: r.TopP, Stream: r.Stream}
	if len(r.StopSequences) > 0 {
		c.Stop = r.StopSequences
	}
	if r.Metadata != nil && r.Metadata.UserID != "" {
		c.User = r.Metadata.UserID
	}
	if r.Thinking != nil {
		c.ReasoningEffort = msgsReasoningEffort(r.Thinking.Type, r.Thinking.BudgetTokens)
	}
	if sys, e := msgsSystem(r.System); e != nil {
		return nil, e
	} else if sys != nil {
		c.Messages = append(c.Messages, *sys)
	}
	for i, m := range r.Messages {
		ms, e := msgsToChat(m, i)
		if e != nil {
			return nil, e
		}
		c.Messages = append(c.Messages, ms...)
	}
	for _, tl := range r.Tools {
		if tl.Type != "" && tl.Type != "custom" {
			continue // Anthropic's server tools (web_search_…) have no chat form
		}
		c.Tools = append(c.Tools, Tool{Type: "function", Function: FunctionDecl{Name: tl.Name, Description: tl.Description, Parameters: tl.InputSchema}})
	}
	if tc := r.ToolChoice; tc != nil {
		switch tc.Type {
		case "auto":
			c.ToolChoice = json.RawMessage(`"auto"`)
		case "any":
			c.ToolChoice = json.RawMessage(`"required"`)
		case "none":
			c.ToolChoice = json.RawMessage(`"none"`)
		case "tool":
			b, _ := json.Marshal(map[string]any{"type": "function", "function": map[string]string{"name": tc.Name}})
			c.ToolChoice = b
		}
		if tc.DisableParallelToolUse != nil && *tc.DisableParallelToolUse && len(c.Tools) > 0 {
			f := false
			c.ParallelToolCalls = &f
		}
	}
	out, err := json.Marshal(c)
	if err != nil {
		return nil, NewError(400, "invalid_request_error", "llmgate: "+err.Error(), "")
	}
	return out, nil
}

// msgsSystem is the system prompt (a string or text blocks) as a system message.
func msgsSystem(raw json.RawMessage) (*Message, *Error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, NewError(400, "invalid_request_error", "system: "+err.Error(), "system")
		}
		return &Message{Role: "system", Content: Content{Text: s}}, nil
	}
	var blocks []msgsBlock
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return nil, NewError(400, "invalid_request_error", "system: "+err.Error(), "system")
	}
	var parts []ContentPart
	for _, b := range blocks {
		if b.Type == "text" {
			parts = append(parts, ContentPart{Type: "text", Text: b.Text})
		}
	}
	if len(parts) == 0 {
		return nil, nil
	}
	return &Message{Role: "system", Content: Content{Parts: parts, IsParts: true}}, nil
}

// msgsToChat is one Messages message as chat messages: a user message's
// tool_result blocks become tool messages (first, as LiteLLM orders them),
// an assistant's tool_use blocks its tool_calls.
func msgsToChat(m msgsMessage, i int) ([]Message, *Error) {
	raw := bytes.TrimSpace(m.Content)
	if m.Role != "user" && m.Role != "assistant" {
		return nil, NewError(400, "invalid_request_error", "messages."+itoa(i)+".role: Input should be 'user' or 'assistant'", "messages")
	}
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, NewError(400, "invalid_request_error", "messages."+itoa(i)+".content: "+err.Error(), "messages")
		}
		return []Message{{Role: m.Role, Content: Content{Text: s}}}, nil
	}
	var blocks []msgsBlock
	if err := json.Unmarshal(raw, &blocks); err != nil {
		return nil, NewError(400, "invalid_request_error", "messages."+itoa(i)+".content: "+err.Error(), "messages")
	}
	var out []Message
	if m.Role == "assistant" {
		msg := Message{Role: "assistant", Content: Content{Null: true}}
		var text strings.Builder
		hasText := false
		for _, b := range blocks {
			switch b.Type {
			case "text":
				text.WriteString(b.Text)
				hasText = true
			case "thinking":
				msg.ReasoningContent += b.Thinking
			case "tool_use":
				args := "{}"
				if in := bytes.TrimSpace(b.Input); len(in) > 0 {
					args = string(in)
				}
				msg.ToolCalls = append(msg.ToolCalls, ToolCall{ID: b.ID, Type: "function", Function: FunctionCall{Name: b.Name, Arguments: args}})
			}
		}
		if hasText {
			msg.Content = Content{Text: text.String()}
		}
		return append(out, msg), nil
	}
	var parts []ContentPart
	for _, b := range blocks {
		switch b.Type {
		case "text":
			parts = append(parts, ContentPart{Type: "text", Text: b.Text})
		case "image":
			if u := msgsImageURL(b.Source); u != "" {
				parts = append(parts, ContentPart{Type: "image_url", ImageURL: &ImageURL{URL: u}})
			}
		case "tool_result":
			out = append(out, Message{Role: "tool", ToolCallID: b.ToolUseID, Content: Content{Text: msgsToolResultText(b.Content)}})
		}
	}
	if len(parts) > 0 {
		out = append(out, Message{Role: "user", Content: Content{Parts: parts, IsParts: true}})
	}
	return out, nil
}

// msgsImageURL is an image block's source as an image_url: a data URL for
// base64, the URL for a url source.
func msgsImageURL(s *anthSource) string {
	if s == nil {
		return ""
	}
	switch s.Type {
	case "base64":
		return "data:" + s.MediaType + ";base64," + s.Data
	case "url":
		return s.URL
	}
	return ""
}

// msgsToolResultText is a tool_result's content (a string or text blocks) as text.
func msgsToolResultText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	if raw[0] == '"' {
		var s string
		_ = json.Unmarshal(raw, &s)
		return s
	}
	var blocks []msgsBlock
	if json.Unmarshal(raw, &blocks) != nil {
		return string(raw)
	}
	var b strings.Builder
	for _, bl := range blocks {
		if bl.Type == "text" {
			b.WriteString(bl.Text)
		}
	}
	return b.String()
}

func itoa(i int) string { return strconv.Itoa(i) }

// msgsFinish is LiteLLM's finish_reason → stop_reason.
func msgsFinish(f string) string {
	switch f {
	case "length":
		return "max_tokens"
	case "tool_calls":
		return "tool_use"
	}
	return "end_turn"
}

// msgsAnswer is an Anthropic message as the adapter writes it.
type msgsAnswer struct {
	ID           string           `json:"id"`
	Type         string           `json:"type"`
	Role         string           `json:"role"`
	Model        string           `json:"model"`
	Content      []map[string]any `json:"content"`
	StopReason   string           `json:"stop_reason"`
	StopSequence *string          `json:"stop_sequence"`
	Usage        msgsUsage        `json:"usage"`
}

type msgsUsage struct {
	InputTokens              int `json:"input_tokens"`
	OutputTokens             int `json:"output_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens,omitempty"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens,omitempty"`
}

// msgsUsageOf is usage in Anthropic's terms: input_tokens without the
// cached ones, which cache_read_input_tokens and
// cache_creation_input_tokens count.
func msgsUsageOf(u Usage) msgsUsage {
	return msgsUsage{InputTokens: max(u.PromptTokens-u.CachedTokens-u.CacheCreationTokens, 0), OutputTokens: u.CompletionTokens,
		CacheCreationInputTokens: u.CacheCreationTokens, CacheReadInputTokens: u.CachedTokens}
}

// ChatToMessage is a chat completion as an Anthropic message; model, when
// set, is the message's model.
func ChatToMessage(body []byte, model string) ([]byte, *Error) {
	var c ChatResponse
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, NewError(502, "internal_server_error", "llmgate: cannot read the provider's response: "+err.Error(), "")
	}
	if model == "" {
		model = c.Model
	}
	m := msgsAnswer{ID: c.ID, Type: "message", Role: "assistant", Model: model, Content: []map[string]any{}, StopReason: "end_turn", Usage: msgsUsageOf(UsageFrom(c.Usage))}
	if len(c.Choices) > 0 {
		ch := c.Choices[0]
		m.StopReason = msgsFinish(ch.FinishReason)
		if ch.Message.ReasoningContent != "" {
			m.Content = append(m.Content, map[string]any{"type": "thinking", "thinking": ch.Message.ReasoningContent, "signature": ""})
		}
		if ch.Message.Content != nil && *ch.Message.Content != "" {
			m.Content = append(m.Content, map[string]any{"type": "text", "text": *ch.Message.Content})
		}
		for _, tc := range ch.Message.ToolCalls {
			m.Content = append(m.Content, map[string]any{"type": "tool_use", "id": tc.ID, "name": tc.Function.Name, "input": toolInput(tc.Function.Arguments)})
		}
	}
	out, err := json.Marshal(m)
	if err != nil {
		return nil, NewError(500, "internal_server_error", "llmgate: "+err.Error(), "")
	}
	return out, nil
}

// toolInput is a tool call's arguments as the tool_use input: the JSON
// object, {} when they are empty or not an object.
func toolInput(args string) json.RawMessage {
	b := bytes.TrimSpace([]byte(args))
	if len(b) == 0 || b[0] != '{' || !json.Valid(b) {
		return json.RawMessage(`{}`)
	}
	return b
}
