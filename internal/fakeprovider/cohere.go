package fakeprovider

import (
	"encoding/json"
	"net/http"
	"strings"
)

// Cohere v2 wire format: /v2/chat (JSON and SSE) and /v2/embed.

type coRequest struct {
	Model    string      `json:"model"`
	Messages []oaMessage `json:"messages"`
	Stream   bool        `json:"stream"`
	Tools    []oaTool    `json:"tools"`
	// ToolChoice is "REQUIRED" or "NONE".
	ToolChoice string `json:"tool_choice"`
}

type coUsage struct {
	BilledUnits struct {
		InputTokens  int `json:"input_tokens"`
		OutputTokens int `json:"output_tokens"`
	} `json:"billed_units"`
	Tokens struct {
		InputTokens  int `json:"input_tokens"`
		OutputTokens int `json:"output_tokens"`
	} `json:"tokens"`
}

func newCoUsage(in, out int) coUsage {
	var u coUsage
	u.BilledUnits.InputTokens, u.BilledUnits.OutputTokens = in, out
	u.Tokens.InputTokens, u.Tokens.OutputTokens = in, out
	return u
}

// cohereFinishReason maps an OpenAI-words finish reason to Cohere's.
func cohereFinishReason(finish string) string {
	switch finish {
	case "stop":
		return "COMPLETE"
	case "length":
		return "MAX_TOKENS"
	case "tool_calls":
		return "TOOL_CALL"
	case "content_filter":
		return "ERROR"
	}
	return finish
}

func (c *call) bearerAuth() bool {
	if len(c.s.opts.APIKeys) == 0 {
		return true
	}
	// The scheme is case-insensitive (RFC 7235): LiteLLM's Cohere
	// pass-through route sends "bearer <key>".
	auth := c.r.Header.Get("Authorization")
	key := ""
	if len(auth) > 7 && strings.EqualFold(auth[:7], "bearer ") {
		key = auth[7:]
	}
	if !c.s.keyOK(key) {
		c.fail(http.StatusUnauthorized, "invalid api token")
		return false
	}
	return true
}

func handleCohereChat(c *call) {
	if !c.bearerAuth() {
		return
	}
	var req coRequest
	if err := json.Unmarshal(c.body, &req); err != nil {
		c.fail(http.StatusBadRequest, "invalid request: "+err.Error())
		return
	}
	c.model = req.Model
	if req.Model == "" || len(req.Messages) == 0 {
		c.fail(http.StatusBadRequest, "invalid request: model and messages are required")
		return
	}
	c.streaming = req.Stream
	if !c.begin() {
		return
	}
	prompt := 0
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
		switch strings.ToUpper(req.ToolChoice) {
		case "REQUIRED":
			tool = req.Tools[0].Function.Name
		case "NONE":
		default:
			if wantsTool(lastUser) {
				tool = req.Tools[0].Function.Name
			}
		}
	}
	var reply string
	output := 0
	if tool == "" {
		reply = c.s.replyText(lastUser)
		output = countTokens(reply)
	} else {
		output = max(1, countTokens(c.s.opts.ToolArguments))
	}
	usage := newCoUsage(prompt, output)
	finish := cohereFinishReason(c.finishReason(tool != ""))
	id := newID("")
	toolID := ""
	toolPlan := ""
	if tool != "" {
		toolID = newID(tool + "_")
		toolPlan = "I will call " + tool + "."
	}

	if !req.Stream {
		msg := map[string]any{"role": "assistant"}
		if tool == "" {
			msg["content"] = []map[string]string{{"type": "text", "text": reply}}
		} else {
			msg["tool_plan"] = toolPlan
			msg["tool_calls"] = []oaToolCall{{ID: toolID, Type: "function", Function: oaFunctionCall{Name: tool, Arguments: c.s.opts.ToolArguments}}}
		}
		c.json(http.StatusOK, map[string]any{"id": id, "finish_reason": finish, "message": msg, "usage": usage})
		return
	}

	type m = map[string]any
	c.startStream("text/event-stream")
	c.sseJSON("message-start", m{"id": id, "type": "message-start", "delta": m{"message": m{
		"role": "assistant", "content": []any{}, "tool_plan": "", "tool_calls": []any{}, "citations": []any{},
	}}})
	if tool == "" {
		c.sseJSON("content-start", m{"type": "content-start", "index": 0, "delta": m{"message": m{"content": m{"type": "text", "text": ""}}}})
		for _, piece := range splitChunks(reply, c.s.opts.StreamChunks) {
			c.sseJSON("content-delta", m{"type": "content-delta", "index": 0, "delta": m{"message": m{"content": m{"text": piece}}}})
		}
		c.sseJSON("content-end", m{"type": "content-end", "index": 0})
	} else {
		c.sseJSON("tool-plan-delta", m{"type": "tool-plan-delta", "delta": m{"message": m{"tool_plan": toolPlan}}})
		c.sseJSON("tool-call-start", m{"type": "tool-call-start", "index": 0, "delta": m{"message": m{"tool_calls": m{
			"id": toolID, "type": "function", "function": m{"name": tool, "arguments": ""},
		}}}})
		for _, frag := range c.s.toolArgFragments() {
			c.sseJSON("tool-call-delta", m{"type": "tool-call-delta", "index": 0, "delta": m{"message": m{"tool_calls": m{"function": m{"arguments": frag}}}}})
		}
		c.sseJSON("tool-call-end", m{"type": "tool-call-end", "index": 0})
	}
	c.sseJSON("message-end", m{"type": "message-end", "delta": m{"finish_reason": finish, "usage": usage}})
}

func handleCohereEmbed(c *call) {
	if !c.bearerAuth() {
		return
	}
	var req struct {
		Model          string   `json:"model"`
		Texts          []string `json:"texts"`
		InputType      string   `json:"input_type"`
		EmbeddingTypes []string `json:"embedding_types"`
		OutputDim      int      `json:"output_dimension"`
	}
	if err := json.Unmarshal(c.body, &req); err != nil {
		c.fail(http.StatusBadRequest, "invalid request: "+err.Error())
		return
	}
	c.model = req.Model
	if len(req.Texts) == 0 {
		c.fail(http.StatusBadRequest, "invalid request: texts must not be empty")
		return
	}
	if !c.begin() {
		return
	}
	dims := c.s.opts.EmbeddingDims
	if req.OutputDim > 0 {
		dims = req.OutputDim
	}
	vecs := make([][]float64, len(req.Texts))
	tokens := 0
	for i, t := range req.Texts {
		vecs[i] = embedding(t, dims)
		tokens += countTokens(t)
	}
	c.json(http.StatusOK, map[string]any{
		"id":            newID(""),
		"embeddings":    map[string]any{"float": vecs},
		"texts":         req.Texts,
		"meta":          map[string]any{"api_version": map[string]string{"version": "2"}, "billed_units": map[string]int{"input_tokens": tokens}},
		"response_type": "embeddings_by_type",
	})
}

func (c *call) failCohere(status int, msg string) {
	if msg == "" {
		switch status {
		case http.StatusTooManyRequests:
			msg = "You are using a Trial key, which is limited to 10 API calls / minute."
		case http.StatusUnauthorized:
			msg = "invalid api token"
		default:
			msg = "internal server error, this has been reported to our developers"
			if status < 500 {
				msg = strings.ToLower(http.StatusText(status))
			}
		}
	}
	c.json(status, map[string]string{"id": newID(""), "message": msg})
}
