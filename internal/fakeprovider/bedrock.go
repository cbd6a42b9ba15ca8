package fakeprovider

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// AWS Bedrock runtime wire format: Converse, ConverseStream (eventstream
// framing) and InvokeModel for embeddings. Every request must carry a
// valid SigV4 signature.

const (
	bedrockConverse       = "converse"
	bedrockConverseStream = "converse-stream"
	bedrockInvoke         = "invoke"
)

type brContent struct {
	Text string `json:"text"`
}

type brConverseRequest struct {
	Messages []struct {
		Role    string      `json:"role"`
		Content []brContent `json:"content"`
	} `json:"messages"`
	System     []brContent `json:"system"`
	ToolConfig *struct {
		Tools []struct {
			ToolSpec *struct {
				Name string `json:"name"`
			} `json:"toolSpec"`
		} `json:"tools"`
		ToolChoice map[string]struct {
			Name string `json:"name"`
		} `json:"toolChoice"`
	} `json:"toolConfig"`
}

type brUsage struct {
	InputTokens  int `json:"inputTokens"`
	OutputTokens int `json:"outputTokens"`
	TotalTokens  int `json:"totalTokens"`
}

type brToolUse struct {
	ToolUseID string          `json:"toolUseId"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
}

type brBlock struct {
	Text    *string    `json:"text,omitempty"`
	ToolUse *brToolUse `json:"toolUse,omitempty"`
}

// bedrockStopReason maps an OpenAI-words finish reason to Bedrock's.
func bedrockStopReason(finish string) string {
	switch finish {
	case "stop":
		return "end_turn"
	case "length":
		return "max_tokens"
	case "tool_calls":
		return "tool_use"
	case "content_filter":
		return "content_filtered"
	}
	return finish
}

// bedrockAuth verifies the SigV4 signature and writes the 403 on failure.
func (c *call) bedrockAuth() bool {
	err := c.s.verifySigV4(c.r, c.body, c.model, time.Now())
	if err == nil {
		return true
	}
	var se *sigV4Error
	if errors.As(err, &se) {
		c.w.Header().Set("X-Amzn-Errortype", se.exception)
		c.json(http.StatusForbidden, map[string]string{"message": se.message})
		return false
	}
	c.fail(http.StatusInternalServerError, err.Error())
	return false
}

func handleBedrockConverse(c *call) {
	c.w.Header().Set("X-Amzn-Requestid", newID(""))
	if !c.bedrockAuth() {
		return
	}
	var req brConverseRequest
	if err := json.Unmarshal(c.body, &req); err != nil {
		c.fail(http.StatusBadRequest, "Malformed input request: "+err.Error())
		return
	}
	if len(req.Messages) == 0 {
		c.fail(http.StatusBadRequest, "A conversation must start with a user message. Try again with a conversation that starts with a user message.")
		return
	}
	stream := c.extra == bedrockConverseStream
	c.streaming = stream
	if !c.begin() {
		return
	}
	prompt := 0
	for _, b := range req.System {
		prompt += countTokens(b.Text)
	}
	var lastUser string
	for _, m := range req.Messages {
		var parts []string
		for _, b := range m.Content {
			prompt += countTokens(b.Text)
			if b.Text != "" {
				parts = append(parts, b.Text)
			}
		}
		if m.Role == "user" {
			lastUser = strings.Join(parts, " ")
		}
	}
	tool := ""
	if tc := req.ToolConfig; tc != nil && len(tc.Tools) > 0 && tc.Tools[0].ToolSpec != nil {
		first := tc.Tools[0].ToolSpec.Name
		if named, ok := tc.ToolChoice["tool"]; ok && named.Name != "" {
			tool = named.Name
		} else if _, ok := tc.ToolChoice["any"]; ok {
			tool = first
		} else if wantsTool(lastUser) {
			tool = first
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
	usage := brUsage{prompt, output, prompt + output}
	stop := bedrockStopReason(c.finishReason(tool != ""))
	toolID := ""
	if tool != "" {
		toolID = newID("tooluse_")
	}

	if !stream {
		block := brBlock{Text: &reply}
		if tool != "" {
			block = brBlock{ToolUse: &brToolUse{ToolUseID: toolID, Name: tool, Input: c.s.toolInput()}}
		}
		c.json(http.StatusOK, map[string]any{
			"output":     map[string]any{"message": map[string]any{"role": "assistant", "content": []brBlock{block}}},
			"stopReason": stop,
			"usage":      usage,
			"metrics":    map[string]int64{"latencyMs": time.Since(c.start).Milliseconds()},
		})
		return
	}

	enc := eventstream.NewEncoder()
	var buf bytes.Buffer
	event := func(eventType string, payload any) {
		b, err := json.Marshal(payload)
		if err != nil {
			c.abort()
		}
		var msg eventstream.Message
		msg.Headers.Set(":event-type", eventstream.StringValue(eventType))
		msg.Headers.Set(":content-type", eventstream.StringValue("application/json"))
		msg.Headers.Set(":message-type", eventstream.StringValue("event"))
		msg.Payload = b
		buf.Reset()
		if err := enc.Encode(&buf, msg); err != nil {
			c.abort()
		}
		c.chunk(buf.Bytes())
	}
	c.startStream("application/vnd.amazon.eventstream")
	event("messageStart", map[string]string{"role": "assistant"})
	if tool == "" {
		for _, piece := range splitChunks(reply, c.s.opts.StreamChunks) {
			event("contentBlockDelta", map[string]any{"contentBlockIndex": 0, "delta": map[string]string{"text": piece}})
		}
	} else {
		event("contentBlockStart", map[string]any{"contentBlockIndex": 0, "start": map[string]any{"toolUse": map[string]string{"toolUseId": toolID, "name": tool}}})
		for _, frag := range c.s.toolArgFragments() {
			event("contentBlockDelta", map[string]any{"contentBlockIndex": 0, "delta": map[string]any{"toolUse": map[string]string{"input": frag}}})
		}
	}
	event("contentBlockStop", map[string]int{"contentBlockIndex": 0})
	event("messageStop", map[string]string{"stopReason": stop})
	event("metadata", map[string]any{"usage": usage, "metrics": map[string]int64{"latencyMs": time.Since(c.start).Milliseconds()}})
}

// handleBedrockInvoke answers InvokeModel for the embedding models:
// Amazon Titan ({"inputText"}) and Cohere ({"texts"}).
func handleBedrockInvoke(c *call) {
	c.w.Header().Set("X-Amzn-Requestid", newID(""))
	if !c.bedrockAuth() {
		return
	}
	var req struct {
		InputText  *string  `json:"inputText"`
		Dimensions int      `json:"dimensions"`
		Texts      []string `json:"texts"`
	}
	if err := json.Unmarshal(c.body, &req); err != nil {
		c.fail(http.StatusBadRequest, "Malformed input request: "+err.Error())
		return
	}
	if req.InputText == nil && len(req.Texts) == 0 {
		c.fail(http.StatusBadRequest, "Malformed input request: the fake provider's InvokeModel supports Titan (inputText) and Cohere (texts) embeddings only")
		return
	}
	if !c.begin() {
		return
	}
	dims := c.s.opts.EmbeddingDims
	if req.Dimensions > 0 {
		dims = req.Dimensions
	}
	if req.InputText != nil {
		c.json(http.StatusOK, map[string]any{
			"embedding":           embedding(*req.InputText, dims),
			"inputTextTokenCount": countTokens(*req.InputText),
		})
		return
	}
	vecs := make([][]float64, len(req.Texts))
	for i, t := range req.Texts {
		vecs[i] = embedding(t, dims)
	}
	c.json(http.StatusOK, map[string]any{
		"id":            newID(""),
		"embeddings":    vecs,
		"response_type": "embeddings_floats",
		"texts":         req.Texts,
	})
}

// bedrockException is the exception name Bedrock answers a status with.
func bedrockException(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "ValidationException"
	case http.StatusForbidden:
		return "AccessDeniedException"
	case http.StatusNotFound:
		return "ResourceNotFoundException"
	case http.StatusRequestTimeout:
		return "ModelTimeoutException"
	case http.StatusFailedDependency:
		return "ModelErrorException"
	case http.StatusTooManyRequests:
		return "ThrottlingException"
	case http.StatusServiceUnavailable:
		return "ServiceUnavailableException"
	}
	return "InternalServerException"
}

func bedrockDefaultMessage(status int) string {
	switch status {
	case http.StatusTooManyRequests:
		return "Too many requests, please wait before trying again."
	case http.StatusServiceUnavailable:
		return "Bedrock is unable to process your request."
	case http.StatusBadRequest:
		return "The provided request is not valid"
	}
	return "The server encountered an internal error while processing the request."
}

func (c *call) failBedrock(status int, msg string) {
	if msg == "" {
		msg = bedrockDefaultMessage(status)
	}
	c.w.Header().Set("X-Amzn-Errortype", bedrockException(status))
	c.json(status, map[string]string{"message": msg})
}

// bedrockExceptionFrame is an eventstream exception message, as
// ConverseStream sends for errors after the stream has started.
func bedrockExceptionFrame(status int, msg string) []byte {
	if msg == "" {
		msg = bedrockDefaultMessage(status)
	}
	name := bedrockException(status)
	if status == http.StatusFailedDependency {
		name = "ModelStreamErrorException"
	}
	name = strings.ToLower(name[:1]) + name[1:]
	payload, _ := json.Marshal(map[string]string{"message": msg})
	var m eventstream.Message
	m.Headers.Set(":exception-type", eventstream.StringValue(name))
	m.Headers.Set(":content-type", eventstream.StringValue("application/json"))
	m.Headers.Set(":message-type", eventstream.StringValue("exception"))
	m.Payload = payload
	var buf bytes.Buffer
	_ = eventstream.NewEncoder().Encode(&buf, m)
	return buf.Bytes()
}
