package fakeprovider

import (
	"encoding/json"
	"net/http"
	"time"
)

// Ollama wire format: /api/chat and /api/generate (NDJSON streams unless
// "stream": false), /api/embed, /api/embeddings, GET /api/tags.

type olDone struct {
	Done               bool   `json:"done"`
	DoneReason         string `json:"done_reason,omitempty"`
	TotalDuration      int64  `json:"total_duration,omitempty"`
	LoadDuration       int64  `json:"load_duration,omitempty"`
	PromptEvalCount    int    `json:"prompt_eval_count,omitempty"`
	PromptEvalDuration int64  `json:"prompt_eval_duration,omitempty"`
	EvalCount          int    `json:"eval_count,omitempty"`
	EvalDuration       int64  `json:"eval_duration,omitempty"`
}

type olMessage struct {
	Role      string       `json:"role"`
	Content   string       `json:"content"`
	ToolCalls []olToolCall `json:"tool_calls,omitempty"`
}

type olToolCall struct {
	Function struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	} `json:"function"`
}

type olChatChunk struct {
	Model     string     `json:"model"`
	CreatedAt string     `json:"created_at"`
	Message   *olMessage `json:"message,omitempty"`
	Response  *string    `json:"response,omitempty"`
	Context   []int      `json:"context,omitempty"`
	olDone
}

// ollamaDoneReason maps an OpenAI-words finish reason to Ollama's.
func ollamaDoneReason(finish string) string {
	switch finish {
	case "tool_calls":
		return "stop"
	}
	return finish
}

func handleOllama(c *call) {
	var req struct {
		Model    string          `json:"model"`
		Messages []oaMessage     `json:"messages"`
		Prompt   string          `json:"prompt"`
		Stream   *bool           `json:"stream"`
		Tools    []oaTool        `json:"tools"`
		Input    json.RawMessage `json:"input"`
	}
	if err := json.Unmarshal(c.body, &req); err != nil {
		c.fail(http.StatusBadRequest, "invalid character in request body: "+err.Error())
		return
	}
	c.model = req.Model
	if req.Model == "" {
		c.fail(http.StatusBadRequest, "model is required")
		return
	}
	if c.extra == "embed" || c.extra == "embeddings" {
		handleOllamaEmbed(c, req.Input, req.Prompt)
		return
	}
	stream := req.Stream == nil || *req.Stream
	c.streaming = stream
	if !c.begin() {
		return
	}
	chat := c.extra == "chat"
	prompt := countTokens(req.Prompt)
	lastUser := req.Prompt
	for _, m := range req.Messages {
		t := textOf(m.Content)
		prompt += countTokens(t)
		if m.Role == "user" {
			lastUser = t
		}
	}
	tool := ""
	if chat && len(req.Tools) > 0 && wantsTool(lastUser) {
		tool = req.Tools[0].Function.Name
	}
	var reply string
	output := 0
	if tool == "" {
		reply = c.s.replyText(lastUser)
		output = countTokens(reply)
	} else {
		output = max(1, countTokens(c.s.opts.ToolArguments))
	}
	doneReason := ollamaDoneReason(c.finishReason(tool != ""))
	now := func() string { return time.Now().UTC().Format(time.RFC3339Nano) }
	elapsed := time.Since(c.start).Nanoseconds()
	done := olDone{Done: true, DoneReason: doneReason, TotalDuration: elapsed + 1000, LoadDuration: 1000,
		PromptEvalCount: prompt, PromptEvalDuration: 1000, EvalCount: output, EvalDuration: elapsed + 1}
	chunk := func(text string, calls []olToolCall) olChatChunk {
		out := olChatChunk{Model: req.Model, CreatedAt: now()}
		if chat {
			out.Message = &olMessage{Role: "assistant", Content: text, ToolCalls: calls}
		} else {
			out.Response = &text
		}
		return out
	}
	var calls []olToolCall
	if tool != "" {
		var tc olToolCall
		tc.Function.Name = tool
		tc.Function.Arguments = c.s.toolInput()
		calls = []olToolCall{tc}
	}
	if !stream {
		out := chunk(reply, calls)
		out.olDone = done
		if !chat {
			out.Context = []int{1, 2, 3}
		}
		c.json(http.StatusOK, out)
		return
	}
	line := func(v any) {
		b, err := json.Marshal(v)
		if err != nil {
			c.abort()
		}
		c.chunk(append(b, '\n'))
	}
	c.startStream("application/x-ndjson")
	if tool != "" {
		line(chunk("", calls))
	}
	for _, piece := range splitChunks(reply, c.s.opts.StreamChunks) {
		line(chunk(piece, nil))
	}
	final := chunk("", nil)
	final.olDone = done
	if !chat {
		final.Context = []int{1, 2, 3}
	}
	line(final)
}

func handleOllamaEmbed(c *call, input json.RawMessage, prompt string) {
	if !c.begin() {
		return
	}
	if c.extra == "embeddings" { // legacy single-prompt endpoint
		c.json(http.StatusOK, map[string]any{"embedding": embedding(prompt, c.s.opts.EmbeddingDims)})
		return
	}
	inputs, ok := embeddingInputs(input)
	if !ok {
		c.fail(http.StatusBadRequest, "invalid input type")
		return
	}
	vecs := make([][]float64, len(inputs))
	tokens := 0
	for i, in := range inputs {
		vecs[i] = embedding(in, c.s.opts.EmbeddingDims)
		tokens += countTokens(in)
	}
	c.json(http.StatusOK, map[string]any{
		"model":             c.model,
		"embeddings":        vecs,
		"total_duration":    time.Since(c.start).Nanoseconds(),
		"load_duration":     1000,
		"prompt_eval_count": tokens,
	})
}

func handleOllamaTags(c *call) {
	if !c.begin() {
		return
	}
	models := make([]map[string]any, len(c.s.opts.Models))
	for i, name := range c.s.opts.Models {
		models[i] = map[string]any{"name": name, "model": name, "modified_at": "2024-01-01T00:00:00Z", "size": 1 << 30,
			"digest": "sha256:fake", "details": map[string]any{"format": "gguf", "family": "fake", "parameter_size": "7B", "quantization_level": "Q4_0"}}
	}
	c.json(http.StatusOK, map[string]any{"models": models})
}

func (c *call) failOllama(status int, msg string) {
	if msg == "" {
		msg = "fake provider: " + http.StatusText(status)
		if status == http.StatusNotFound {
			msg = `model "` + c.model + `" not found, try pulling it first`
		}
	}
	c.json(status, map[string]string{"error": msg})
}
