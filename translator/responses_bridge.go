package translator

import (
	"encoding/json"
	"strings"
)

// The Responses API through a provider's chat translator (D137), as
// LiteLLM's litellm_completion_transformation bridge maps it.

// responsesAdapter is the bridge for providers without a Responses API.
func responsesAdapter(inner Translator) Translator {
	return chatBridge{inner: inner, toChat: ResponsesToChat, fromChat: ChatToResponse,
		stream: func(in Stream, t Target) Stream {
			s := &responsesStream{bridgeStream: bridgeStream{inner: in}, t: t}
			s.ev = s
			return s
		}}
}

// respRequest is the part of a Responses request the bridge maps.
type respRequest struct {
	Model             string          `json:"model"`
	Input             json.RawMessage `json:"input"`
	Instructions      string          `json:"instructions"`
	MaxOutputTokens   *int            `json:"max_output_tokens"`
	Temperature       *float64        `json:"temperature"`
	TopP              *float64        `json:"top_p"`
	Stream            bool            `json:"stream"`
	User              string          `json:"user"`
	ParallelToolCalls *bool           `json:"parallel_tool_calls"`
	ToolChoice        json.RawMessage `json:"tool_choice"`
	Tools             []struct {
		Type        string          `json:"type"`
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Parameters  json.RawMessage `json:"parameters"`
		Strict      *bool           `json:"strict"`
	} `json:"tools"`
	Reasoning *struct {
		Effort string `json:"effort"`
	} `json:"reasoning"`
	Text *struct {
		Format *struct {
			Type   string          `json:"type"`
			Name   string          `json:"name"`
			Schema json.RawMessage `json:"schema"`
			Strict *bool           `json:"strict"`
		} `json:"format"`
	} `json:"text"`
}

// respItem is one input item: a message (role and content) or a function
// call or its output.
type respItem struct {
	Type      string          `json:"type"`
	Role      string          `json:"role"`
	Content   json.RawMessage `json:"content"`
	CallID    string          `json:"call_id"`
	Name      string          `json:"name"`
	Arguments string          `json:"arguments"`
	Output    json.RawMessage `json:"output"`
}

// respPart is one content part of an input message.
type respPart struct {
	Type     string          `json:"type"`
	Text     string          `json:"text"`
	ImageURL json.RawMessage `json:"image_url"`
	Detail   string          `json:"detail"`
}

// ResponsesToChat is a Responses request as a chat completions request.
func ResponsesToChat(body []byte) ([]byte, *Error) {
	var r respRequest
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, NewError(400, "invalid_request_error", "Invalid JSON in request body: "+err.Error(), "")
	}
	c := ChatRequest{Model: r.Model, MaxTokens: r.MaxOutputTokens, Temperature: r.Temperature, TopP: r.TopP, Stream: r.Stream, User: r.User, ParallelToolCalls: r.ParallelToolCalls}
	if r.Stream {
		c.StreamOptions = &StreamOptions{IncludeUsage: true}
	}
	if r.Instructions != "" {
		c.Messages = append(c.Messages, Message{Role: "system", Content: Content{Text: r.Instructions}})
	}
	msgs, e := respInput(r.Input)
	if e != nil {
		return nil, e
	}
	c.Messages = append(c.Messages, msgs...)
	for _, tl := range r.Tools {
		if tl.Type != "function" {
			continue // OpenAI's hosted tools (web_search, file_search, …) have no chat form
		}
		c.Tools = append(c.Tools, Tool{Type: "function", Function: FunctionDecl{Name: tl.Name, Description: tl.Description, Parameters: tl.Parameters, Strict: tl.Strict}})
	}
	if len(r.ToolChoice) > 0 && r.ToolChoice[0] == '{' {
		var tc struct {
			Type string `json:"type"`
			Name string `json:"name"`
		}
		if json.Unmarshal(r.ToolChoice, &tc) == nil && tc.Type == "function" {
			c.ToolChoice, _ = json.Marshal(map[string]any{"type": "function", "function": map[string]string{"name": tc.Name}})
		}
	} else if len(r.ToolChoice) > 0 && string(r.ToolChoice) != "null" {
		c.ToolChoice = r.ToolChoice // "auto", "none", "required"
	}
	if r.Reasoning != nil {
		c.ReasoningEffort = r.Reasoning.Effort
	}
	if r.Text != nil && r.Text.Format != nil {
		switch f := r.Text.Format; f.Type {
		case "json_schema":
			c.ResponseFormat = &ResponseFormat{Type: "json_schema", JSONSchema: &JSONSchema{Name: f.Name, Schema: f.Schema, Strict: f.Strict}}
		case "json_object":
			c.ResponseFormat = &ResponseFormat{Type: "json_object"}
		}
	}
	out, err := json.Marshal(c)
	if err != nil {
		return nil, NewError(400, "invalid_request_error", "llmgate: "+err.Error(), "")
	}
	return out, nil
}

// respInput is a Responses input (a string, or a list of items) as chat
// messages: consecutive function calls become one assistant message's
// tool_calls, a call's output a tool message.
func respInput(raw json.RawMessage) ([]Message, *Error) {
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, NewError(400, "invalid_request_error", "input: "+err.Error(), "input")
		}
		return []Message{{Role: "user", Content: Content{Text: s}}}, nil
	}
	var items []respItem
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, NewError(400, "invalid_request_error", "input must be a string or a list of input items: "+err.Error(), "input")
	}
	var out []Message
	for _, it := range items {
		switch it.Type {
		case "function_call":
			tc := ToolCall{ID: it.CallID, Type: "function", Function: FunctionCall{Name: it.Name, Arguments: it.Arguments}}
			if n := len(out); n > 0 && out[n-1].Role == "assistant" && len(out[n-1].ToolCalls) > 0 {
				out[n-1].ToolCalls = append(out[n-1].ToolCalls, tc)
			} else {
				out = append(out, Message{Role: "assistant", Content: Content{Null: true}, ToolCalls: []ToolCall{tc}})
			}
		case "function_call_output":
			out = append(out, Message{Role: "tool", ToolCallID: it.CallID, Content: Content{Text: respOutputText(it.Output)}})
		case "", "message":
			m, e := respMessage(it)
			if e != nil {
				return nil, e
			}
			out = append(out, m)
		}
		// Other items (reasoning, hosted tool calls) have no chat form.
	}
	return out, nil
}

// respMessage is an input message as a chat message (developer → system).
func respMessage(it respItem) (Message, *Error) {
	role := it.Role
	if role == "developer" {
		role = "system"
	}
	m := Message{Role: role}
	if len(it.Content) > 0 && it.Content[0] == '"' {
		_ = json.Unmarshal(it.Content, &m.Content.Text)
		return m, nil
	}
	var parts []respPart
	if err := json.Unmarshal(it.Content, &parts); err != nil {
		return m, NewError(400, "invalid_request_error", "input message content: "+err.Error(), "input")
	}
	m.Content.IsParts = true
	for _, p := range parts {
		switch p.Type {
		case "input_text", "output_text", "text":
			m.Content.Parts = append(m.Content.Parts, ContentPart{Type: "text", Text: p.Text})
		case "input_image":
			var url string
			if json.Unmarshal(p.ImageURL, &url) != nil {
				var o struct {
					URL string `json:"url"`
				}
				_ = json.Unmarshal(p.ImageURL, &o)
				url = o.URL
			}
			if url != "" {
				m.Content.Parts = append(m.Content.Parts, ContentPart{Type: "image_url", ImageURL: &ImageURL{URL: url, Detail: p.Detail}})
			}
		}
	}
	if role != "user" {
		// Only user messages take parts on every provider: the others' text joined.
		m.Content = Content{Text: m.Content.AsText()}
	}
	return m, nil
}

// respOutputText is a function_call_output's output (a string, or text parts).
func respOutputText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []respPart
	if json.Unmarshal(raw, &parts) == nil {
		var b strings.Builder
		for _, p := range parts {
			b.WriteString(p.Text)
		}
		return b.String()
	}
	return string(raw)
}

// respAnswer is a Response object as the bridge writes it.
type respAnswer struct {
	ID                string           `json:"id"`
	Object            string           `json:"object"`
	CreatedAt         int64            `json:"created_at"`
	Status            string           `json:"status"`
	Error             *json.RawMessage `json:"error"`
	IncompleteDetails *respIncomplete  `json:"incomplete_details"`
	Model             string           `json:"model"`
	Output            []map[string]any `json:"output"`
	ParallelToolCalls bool             `json:"parallel_tool_calls"`
	ToolChoice        string           `json:"tool_choice"`
	Tools             []any            `json:"tools"`
	Usage             *responsesUsage  `json:"usage,omitempty"`
}

type respIncomplete struct {
	Reason string `json:"reason"`
}

// respStatus is a chat finish reason as a Response's status and
// incomplete_details (length → incomplete, max_output_tokens).
func respStatus(finish string) (string, *respIncomplete) {
	switch finish {
	case "length":
		return "incomplete", &respIncomplete{Reason: "max_output_tokens"}
	case "content_filter":
		return "incomplete", &respIncomplete{Reason: "content_filter"}
	}
	return "completed", nil
}

// respMessageItem is an output message item holding text.
func respMessageItem(id, status, text string) map[string]any {
	content := []map[string]any{}
	if status == "completed" || text != "" {
		content = append(content, respTextPart(text))
	}
	return map[string]any{"type": "message", "id": id, "status": status, "role": "assistant", "content": content}
}

func respTextPart(text string) map[string]any {
	return map[string]any{"type": "output_text", "text": text, "annotations": []any{}}
}

func respCallItem(id, callID, name, args, status string) map[string]any {
	return map[string]any{"type": "function_call", "id": id, "call_id": callID, "name": name, "arguments": args, "status": status}
}

func respReasoningItem(id, text string) map[string]any {
	return map[string]any{"type": "reasoning", "id": id, "summary": []map[string]any{{"type": "summary_text", "text": text}}}
}

// ChatToResponse is a chat completion as a Response object; t.ResponseModel,
// when set, is its model, and its id is LiteLLM's (EncodeResponseID).
func ChatToResponse(body []byte, t Target) ([]byte, *Error) {
	var c ChatResponse
	if err := json.Unmarshal(body, &c); err != nil {
		return nil, NewError(502, "internal_server_error", "llmgate: cannot read the provider's response: "+err.Error(), "")
	}
	model := t.ResponseModel
	if model == "" {
		model = c.Model
	}
	u := responsesUsageOf(UsageFrom(c.Usage))
	r := respAnswer{ID: EncodeResponseID(t.Provider, t.DeploymentID, respChatID(c.ID)), Object: "response", CreatedAt: createdAt(t), Status: "completed",
		Model: model, Output: []map[string]any{}, ParallelToolCalls: true, ToolChoice: "auto", Tools: []any{}, Usage: &u}
	if len(c.Choices) > 0 {
		ch := c.Choices[0]
		r.Status, r.IncompleteDetails = respStatus(ch.FinishReason)
		if ch.Message.ReasoningContent != "" {
			r.Output = append(r.Output, respReasoningItem("rs_"+c.ID, ch.Message.ReasoningContent))
		}
		if ch.Message.Content != nil && *ch.Message.Content != "" {
			r.Output = append(r.Output, respMessageItem("msg_"+c.ID, "completed", *ch.Message.Content))
		}
		for _, tc := range ch.Message.ToolCalls {
			r.Output = append(r.Output, respCallItem("fc_"+tc.ID, tc.ID, tc.Function.Name, tc.Function.Arguments, "completed"))
		}
	}
	out, err := json.Marshal(r)
	if err != nil {
		return nil, NewError(500, "internal_server_error", "llmgate: "+err.Error(), "")
	}
	return out, nil
}

// respChatID is the provider's id of a bridged answer ("" from some providers).
func respChatID(id string) string {
	if id == "" {
		return "resp_llmgate"
	}
	return id
}
