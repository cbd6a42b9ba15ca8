package fakeprovider

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Anthropic Messages API wire format.

type anMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

type anRequest struct {
	Model     string          `json:"model"`
	MaxTokens *int            `json:"max_tokens"`
	Messages  []anMessage     `json:"messages"`
	System    json.RawMessage `json:"system"`
	Stream    bool            `json:"stream"`
	Thinking  *struct {
		Type string `json:"type"`
	} `json:"thinking"`
	Tools []struct {
		Name string `json:"name"`
	} `json:"tools"`
	ToolChoice *struct {
		Type string `json:"type"`
		Name string `json:"name"`
	} `json:"tool_choice"`
}

type anUsage struct {
	InputTokens              int `json:"input_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
	OutputTokens             int `json:"output_tokens"`
}

type anBlock struct {
	Type      string          `json:"type"`
	Text      *string         `json:"text,omitempty"`
	Thinking  *string         `json:"thinking,omitempty"`
	Signature string          `json:"signature,omitempty"`
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Input     json.RawMessage `json:"input,omitempty"`
}

type anResponse struct {
	ID           string    `json:"id"`
	Type         string    `json:"type"`
	Role         string    `json:"role"`
	Model        string    `json:"model"`
	Content      []anBlock `json:"content"`
	StopReason   *string   `json:"stop_reason"`
	StopSequence *string   `json:"stop_sequence"`
	Usage        anUsage   `json:"usage"`
}

// anthropicStopReason maps an OpenAI-words finish reason to Anthropic's.
func anthropicStopReason(finish string) string {
	switch finish {
	case "stop":
		return "end_turn"
	case "length":
		return "max_tokens"
	case "tool_calls":
		return "tool_use"
	case "content_filter":
		return "refusal"
	}
	return finish
}

// fakeSignature is the signature of the fake's thinking blocks.
const fakeSignature = "fake-signature"

func handleAnthropicMessages(c *call) {
	if c.r.Header.Get("Anthropic-Version") == "" {
		c.fail(http.StatusBadRequest, "anthropic-version: header is required")
		return
	}
	key := c.r.Header.Get("X-Api-Key")
	if key == "" {
		c.fail(http.StatusUnauthorized, "x-api-key header is required")
		return
	}
	if !c.s.keyOK(key) {
		c.fail(http.StatusUnauthorized, "invalid x-api-key")
		return
	}
	var req anRequest
	if err := json.Unmarshal(c.body, &req); err != nil {
		c.fail(http.StatusBadRequest, "There was an error parsing the body: "+err.Error())
		return
	}
	c.model = req.Model
	switch {
	case req.Model == "":
		c.fail(http.StatusBadRequest, "model: Field required")
		return
	case req.MaxTokens == nil:
		c.fail(http.StatusBadRequest, "max_tokens: Field required")
		return
	case len(req.Messages) == 0:
		c.fail(http.StatusBadRequest, "messages: at least one message is required")
		return
	}
	c.streaming = req.Stream
	if !c.begin() {
		return
	}
	prompt := countTokens(textOf(req.System))
	var lastUser string
	for _, m := range req.Messages {
		t := textOf(m.Content)
		prompt += countTokens(t)
		if m.Role == "user" {
			lastUser = t
		}
	}
	tool := ""
	if len(req.Tools) > 0 {
		first := req.Tools[0].Name
		switch {
		case req.ToolChoice != nil && req.ToolChoice.Type == "tool" && req.ToolChoice.Name != "":
			tool = req.ToolChoice.Name
		case req.ToolChoice != nil && req.ToolChoice.Type == "any":
			tool = first
		case req.ToolChoice != nil && req.ToolChoice.Type == "none":
		case wantsTool(lastUser):
			tool = first
		}
	}
	var reply string
	var output int
	if tool == "" {
		reply = c.s.replyText(lastUser)
		output = countTokens(reply)
	} else {
		output = max(1, countTokens(c.s.opts.ToolArguments))
	}
	stop := anthropicStopReason(c.finishReason(tool != ""))
	id := newID("msg_")
	toolID := ""
	if tool != "" {
		toolID = newID("toolu_")
	}

	thinking := ""
	if req.Thinking != nil && req.Thinking.Type == "enabled" {
		thinking = c.s.opts.Thinking
	}
	read, write := c.s.anthropicPromptCache(&req)
	usage := anUsage{InputTokens: max(prompt-read-write, 0), CacheReadInputTokens: read, CacheCreationInputTokens: write, OutputTokens: output}
	if !req.Stream {
		resp := anResponse{ID: id, Type: "message", Role: "assistant", Model: req.Model, StopReason: &stop, Usage: usage}
		if thinking != "" {
			resp.Content = append(resp.Content, anBlock{Type: "thinking", Thinking: &thinking, Signature: fakeSignature})
		}
		if tool == "" {
			resp.Content = append(resp.Content, anBlock{Type: "text", Text: &reply})
		} else {
			resp.Content = append(resp.Content, anBlock{Type: "tool_use", ID: toolID, Name: tool, Input: c.s.toolInput()})
		}
		c.json(http.StatusOK, resp)
		return
	}

	c.startStream("text/event-stream")
	c.sseJSON("message_start", map[string]any{"type": "message_start", "message": anResponse{
		ID: id, Type: "message", Role: "assistant", Model: req.Model, Content: []anBlock{},
		Usage: anUsage{InputTokens: usage.InputTokens, CacheReadInputTokens: read, CacheCreationInputTokens: write, OutputTokens: 1},
	}})
	type delta struct {
		Type        string `json:"type"`
		Text        string `json:"text,omitempty"`
		PartialJSON string `json:"partial_json,omitempty"`
		Thinking    string `json:"thinking,omitempty"`
		Signature   string `json:"signature,omitempty"`
	}
	type deltaEvent struct {
		Type  string `json:"type"`
		Index int    `json:"index"`
		Delta delta  `json:"delta"`
	}
	index := 0
	if thinking != "" {
		empty := ""
		c.sseJSON("content_block_start", map[string]any{"type": "content_block_start", "index": 0, "content_block": anBlock{Type: "thinking", Thinking: &empty}})
		for _, piece := range splitChunks(thinking, c.s.opts.StreamChunks) {
			c.sseJSON("content_block_delta", deltaEvent{"content_block_delta", 0, delta{Type: "thinking_delta", Thinking: piece}})
		}
		c.sseJSON("content_block_delta", deltaEvent{"content_block_delta", 0, delta{Type: "signature_delta", Signature: fakeSignature}})
		c.sse("content_block_stop", []byte(`{"type":"content_block_stop","index":0}`))
		index = 1
	}
	if tool == "" {
		empty := ""
		c.sseJSON("content_block_start", map[string]any{"type": "content_block_start", "index": index, "content_block": anBlock{Type: "text", Text: &empty}})
	} else {
		c.sseJSON("content_block_start", map[string]any{"type": "content_block_start", "index": index, "content_block": anBlock{Type: "tool_use", ID: toolID, Name: tool, Input: json.RawMessage("{}")}})
	}
	c.sse("ping", []byte(`{"type": "ping"}`))
	if tool == "" {
		for _, piece := range splitChunks(reply, c.s.opts.StreamChunks) {
			c.sseJSON("content_block_delta", deltaEvent{"content_block_delta", index, delta{Type: "text_delta", Text: piece}})
		}
	} else {
		for _, frag := range c.s.toolArgFragments() {
			c.sseJSON("content_block_delta", deltaEvent{"content_block_delta", index, delta{Type: "input_json_delta", PartialJSON: frag}})
		}
	}
	c.sse("content_block_stop", fmt.Appendf(nil, `{"type":"content_block_stop","index":%d}`, index))
	c.sseJSON("message_delta", map[string]any{
		"type":  "message_delta",
		"delta": map[string]any{"stop_reason": stop, "stop_sequence": nil},
		"usage": map[string]int{"output_tokens": output},
	})
	c.sse("message_stop", []byte(`{"type":"message_stop"}`))
}

// anthropicErrorType is Anthropic's error type for an HTTP status.
func anthropicErrorType(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "invalid_request_error"
	case http.StatusUnauthorized:
		return "authentication_error"
	case http.StatusForbidden:
		return "permission_error"
	case http.StatusNotFound:
		return "not_found_error"
	case http.StatusRequestEntityTooLarge:
		return "request_too_large"
	case http.StatusTooManyRequests:
		return "rate_limit_error"
	case 529, http.StatusServiceUnavailable:
		return "overloaded_error"
	}
	if status >= 500 {
		return "api_error"
	}
	return "invalid_request_error"
}

func (c *call) failAnthropic(status int, msg string) {
	typ := anthropicErrorType(status)
	if msg == "" {
		msg = anthropicDefaultMessage(typ, status)
	}
	c.json(status, map[string]any{
		"type":       "error",
		"error":      map[string]string{"type": typ, "message": msg},
		"request_id": newID("req_"),
	})
}

func anthropicDefaultMessage(typ string, status int) string {
	switch typ {
	case "overloaded_error":
		return "Overloaded"
	case "rate_limit_error":
		return "Number of request tokens has exceeded your per-minute rate limit"
	case "api_error":
		return "Internal server error"
	}
	return strings.ToLower(http.StatusText(status))
}
