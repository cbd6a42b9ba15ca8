package fakeprovider

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// OpenAI (and Azure OpenAI, which shares the bodies) wire format.

type oaMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

type oaStreamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

type oaTool struct {
	Type     string `json:"type"`
	Function struct {
		Name string `json:"name"`
	} `json:"function"`
}

type oaChatRequest struct {
	Model         string           `json:"model"`
	Messages      []oaMessage      `json:"messages"`
	Stream        bool             `json:"stream"`
	StreamOptions *oaStreamOptions `json:"stream_options"`
	Tools         []oaTool         `json:"tools"`
	ToolChoice    json.RawMessage  `json:"tool_choice"`
}

type oaUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

type oaFunctionCall struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

type oaToolCall struct {
	ID       string         `json:"id"`
	Type     string         `json:"type"`
	Function oaFunctionCall `json:"function"`
}

type oaRespMessage struct {
	Role      string       `json:"role"`
	Content   *string      `json:"content"`
	Refusal   *string      `json:"refusal"`
	ToolCalls []oaToolCall `json:"tool_calls,omitempty"`
}

type oaChoice struct {
	Index        int           `json:"index"`
	Message      oaRespMessage `json:"message"`
	Logprobs     *struct{}     `json:"logprobs"`
	FinishReason string        `json:"finish_reason"`
}

type oaChatResponse struct {
	ID                string     `json:"id"`
	Object            string     `json:"object"`
	Created           int64      `json:"created"`
	Model             string     `json:"model"`
	Choices           []oaChoice `json:"choices"`
	Usage             oaUsage    `json:"usage"`
	SystemFingerprint string     `json:"system_fingerprint"`
}

type oaToolCallDelta struct {
	Index    int    `json:"index"`
	ID       string `json:"id,omitempty"`
	Type     string `json:"type,omitempty"`
	Function struct {
		Name      string `json:"name,omitempty"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

type oaDelta struct {
	Role      string            `json:"role,omitempty"`
	Content   *string           `json:"content,omitempty"`
	ToolCalls []oaToolCallDelta `json:"tool_calls,omitempty"`
}

type oaChunkChoice struct {
	Index        int       `json:"index"`
	Delta        oaDelta   `json:"delta"`
	Logprobs     *struct{} `json:"logprobs"`
	FinishReason *string   `json:"finish_reason"`
}

type oaChunk struct {
	ID                string          `json:"id"`
	Object            string          `json:"object"`
	Created           int64           `json:"created"`
	Model             string          `json:"model"`
	SystemFingerprint string          `json:"system_fingerprint"`
	Choices           []oaChunkChoice `json:"choices"`
	// Usage is omitted without include_usage, null on content chunks with
	// it, and set on the final usage chunk.
	Usage any `json:"usage,omitempty"`
}

const fakeFingerprint = "fp_fake0001"

var jsonNull = json.RawMessage("null")

// checkOpenAIAuth checks the key of an OpenAI or Azure request and, for
// Azure, the api-version query. It writes the error and returns false on
// failure.
func (c *call) checkOpenAIAuth() bool {
	if c.provider == providerAzure {
		if c.r.URL.Query().Get("api-version") == "" {
			c.json(http.StatusBadRequest, map[string]any{"error": map[string]any{
				"code":    "MissingApiVersionParameter",
				"message": "The api-version query parameter (?api-version=) is required for all requests.",
			}})
			return false
		}
		key := c.r.Header.Get("Api-Key")
		if key == "" {
			key, _ = strings.CutPrefix(c.r.Header.Get("Authorization"), "Bearer ")
		}
		if !c.s.keyOK(key) || (key == "" && len(c.s.opts.APIKeys) > 0) {
			c.fail(http.StatusUnauthorized, "")
			return false
		}
		return true
	}
	if len(c.s.opts.APIKeys) == 0 {
		return true
	}
	auth := c.r.Header.Get("Authorization")
	key, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || key == "" {
		c.failOpenAIWith(http.StatusUnauthorized, "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).", "invalid_request_error", nil)
		return false
	}
	if !c.s.keyOK(key) {
		c.failOpenAIWith(http.StatusUnauthorized, "Incorrect API key provided: "+maskKey(key)+". You can find your API key at https://platform.openai.com/account/api-keys.", "invalid_request_error", "invalid_api_key")
		return false
	}
	return true
}

// keyOK reports whether key is accepted (any key when none configured).
func (s *Server) keyOK(key string) bool {
	if len(s.opts.APIKeys) == 0 {
		return true
	}
	return key != "" && slices.Contains(s.opts.APIKeys, key)
}

// maskKey shows only the ends of a key, as providers do in errors.
func maskKey(k string) string {
	if len(k) <= 8 {
		return "****"
	}
	return k[:3] + "*****" + k[len(k)-4:]
}

// chooseOpenAITool picks the tool to call: forced by tool_choice, or the
// first tool when the user text asks for one.
func chooseOpenAITool(tools []oaTool, choice json.RawMessage, lastUser string) string {
	if len(tools) == 0 {
		return ""
	}
	first := tools[0].Function.Name
	if len(choice) > 0 {
		switch choice[0] {
		case '"':
			var s string
			_ = json.Unmarshal(choice, &s)
			switch s {
			case "none":
				return ""
			case "required":
				return first
			}
		case '{':
			var obj struct {
				Function struct {
					Name string `json:"name"`
				} `json:"function"`
			}
			_ = json.Unmarshal(choice, &obj)
			if obj.Function.Name != "" {
				return obj.Function.Name
			}
		}
	}
	if wantsTool(lastUser) {
		return first
	}
	return ""
}

// openAIRequest checks the call's key and decodes its body into req, whose
// model field is model: an OpenAI call is answered for the model it names; a
// call that names none on another provider (Azure's deployment path) takes the
// deployment's. It answers the error itself and reports false when the call
// goes no further.
func (c *call) openAIRequest(req any, model *string) bool {
	if !c.checkOpenAIAuth() {
		return false
	}
	if err := json.Unmarshal(c.body, req); err != nil {
		c.fail(http.StatusBadRequest, "We could not parse the JSON body of your request. ("+err.Error()+")")
		return false
	}
	if c.provider == providerOpenAI {
		c.model = *model
	} else if *model == "" {
		*model = c.model
	}
	return true
}

func handleOpenAIChat(c *call) {
	var req oaChatRequest
	if !c.openAIRequest(&req, &req.Model) {
		return
	}
	if c.provider == providerOpenAI && req.Model == "" {
		c.failOpenAIWith(http.StatusBadRequest, "you must provide a model parameter", "invalid_request_error", nil)
		return
	}
	if len(req.Messages) == 0 {
		c.failOpenAIWith(http.StatusBadRequest, "[] is too short - 'messages'", "invalid_request_error", nil)
		return
	}
	c.streaming = req.Stream
	if !c.begin() {
		return
	}
	var lastUser string
	prompt := 0
	for _, m := range req.Messages {
		t := textOf(m.Content)
		prompt += countTokens(t)
		if m.Role == "user" {
			lastUser = t
		}
	}
	tool := chooseOpenAITool(req.Tools, req.ToolChoice, lastUser)
	reply := ""
	completion := 0
	if tool == "" {
		reply = c.s.replyText(lastUser)
		completion = countTokens(reply)
	} else {
		completion = max(1, countTokens(c.s.opts.ToolArguments))
	}
	usage := oaUsage{prompt, completion, prompt + completion}
	id := newID("chatcmpl-")
	created := time.Now().Unix()
	finish := c.finishReason(tool != "")

	if !req.Stream {
		msg := oaRespMessage{Role: "assistant"}
		if tool == "" {
			msg.Content = &reply
		} else {
			msg.ToolCalls = []oaToolCall{{ID: newID("call_"), Type: "function", Function: oaFunctionCall{Name: tool, Arguments: c.s.opts.ToolArguments}}}
		}
		c.json(http.StatusOK, oaChatResponse{
			ID: id, Object: "chat.completion", Created: created, Model: req.Model,
			Choices:           []oaChoice{{Index: 0, Message: msg, FinishReason: finish}},
			Usage:             usage,
			SystemFingerprint: fakeFingerprint,
		})
		return
	}

	includeUsage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	chunk := oaChunk{ID: id, Object: "chat.completion.chunk", Created: created, Model: req.Model, SystemFingerprint: fakeFingerprint}
	if includeUsage {
		chunk.Usage = jsonNull
	}
	emit := func(d oaDelta, finish *string) {
		chunk.Choices = []oaChunkChoice{{Index: 0, Delta: d, FinishReason: finish}}
		c.sseJSON("", chunk)
	}
	c.startStream("text/event-stream")
	if tool == "" {
		empty := ""
		emit(oaDelta{Role: "assistant", Content: &empty}, nil)
		for _, piece := range splitChunks(reply, c.s.opts.StreamChunks) {
			emit(oaDelta{Content: &piece}, nil)
		}
	} else {
		first := oaToolCallDelta{Index: 0, ID: newID("call_"), Type: "function"}
		first.Function.Name = tool
		emit(oaDelta{Role: "assistant", ToolCalls: []oaToolCallDelta{first}}, nil)
		for _, frag := range c.s.toolArgFragments() {
			d := oaToolCallDelta{Index: 0}
			d.Function.Arguments = frag
			emit(oaDelta{ToolCalls: []oaToolCallDelta{d}}, nil)
		}
	}
	emit(oaDelta{}, &finish)
	if includeUsage {
		chunk.Choices = []oaChunkChoice{}
		chunk.Usage = usage
		c.sseJSON("", chunk)
	}
	c.sse("", []byte("[DONE]"))
}

type oaCompletionRequest struct {
	Model         string           `json:"model"`
	Prompt        json.RawMessage  `json:"prompt"`
	Stream        bool             `json:"stream"`
	StreamOptions *oaStreamOptions `json:"stream_options"`
}

type oaCompletionChoice struct {
	Text         string    `json:"text"`
	Index        int       `json:"index"`
	Logprobs     *struct{} `json:"logprobs"`
	FinishReason *string   `json:"finish_reason"`
}

type oaCompletionResponse struct {
	ID                string               `json:"id"`
	Object            string               `json:"object"`
	Created           int64                `json:"created"`
	Model             string               `json:"model"`
	SystemFingerprint string               `json:"system_fingerprint"`
	Choices           []oaCompletionChoice `json:"choices"`
	Usage             any                  `json:"usage,omitempty"`
}

// promptText reads a legacy completions prompt: a string or an array of
// strings (token arrays are counted, not echoed).
func promptText(raw json.RawMessage) (text string, tokens int) {
	if len(raw) == 0 {
		return "", 0
	}
	if raw[0] == '"' {
		_ = json.Unmarshal(raw, &text)
		return text, countTokens(text)
	}
	var strs []string
	if json.Unmarshal(raw, &strs) == nil {
		for _, s := range strs {
			tokens += countTokens(s)
		}
		if len(strs) > 0 {
			text = strs[len(strs)-1]
		}
		return text, tokens
	}
	var ints []int
	if json.Unmarshal(raw, &ints) == nil {
		return "", len(ints)
	}
	return "", 0
}

func handleOpenAICompletion(c *call) {
	var req oaCompletionRequest
	if !c.openAIRequest(&req, &req.Model) {
		return
	}
	c.streaming = req.Stream
	if !c.begin() {
		return
	}
	text, prompt := promptText(req.Prompt)
	reply := c.s.replyText(text)
	completion := countTokens(reply)
	usage := oaUsage{prompt, completion, prompt + completion}
	finish := c.finishReason(false)
	resp := oaCompletionResponse{ID: newID("cmpl-"), Object: "text_completion", Created: time.Now().Unix(), Model: req.Model, SystemFingerprint: fakeFingerprint}
	if !req.Stream {
		resp.Choices = []oaCompletionChoice{{Text: reply, FinishReason: &finish}}
		resp.Usage = usage
		c.json(http.StatusOK, resp)
		return
	}
	includeUsage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	if includeUsage {
		resp.Usage = jsonNull
	}
	c.startStream("text/event-stream")
	for _, piece := range splitChunks(reply, c.s.opts.StreamChunks) {
		resp.Choices = []oaCompletionChoice{{Text: piece}}
		c.sseJSON("", resp)
	}
	resp.Choices = []oaCompletionChoice{{Text: "", FinishReason: &finish}}
	c.sseJSON("", resp)
	if includeUsage {
		resp.Choices = []oaCompletionChoice{}
		resp.Usage = usage
		c.sseJSON("", resp)
	}
	c.sse("", []byte("[DONE]"))
}

type oaEmbeddingRequest struct {
	Model          string          `json:"model"`
	Input          json.RawMessage `json:"input"`
	Dimensions     int             `json:"dimensions"`
	EncodingFormat string          `json:"encoding_format"`
}

type oaEmbedding struct {
	Object    string `json:"object"`
	Index     int    `json:"index"`
	Embedding any    `json:"embedding"`
}

// embeddingInputs reads an embeddings input: a string, an array of
// strings, an array of tokens, or an array of token arrays.
func embeddingInputs(raw json.RawMessage) ([]string, bool) {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, true
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil && len(many) > 0 {
		return many, true
	}
	var tokens []int
	if json.Unmarshal(raw, &tokens) == nil && len(tokens) > 0 {
		return []string{intsText(tokens)}, true
	}
	var tokenLists [][]int
	if json.Unmarshal(raw, &tokenLists) == nil && len(tokenLists) > 0 {
		out := make([]string, len(tokenLists))
		for i, t := range tokenLists {
			out[i] = intsText(t)
		}
		return out, true
	}
	return nil, false
}

func intsText(ints []int) string {
	b := make([]byte, 0, len(ints)*4)
	for i, n := range ints {
		if i > 0 {
			b = append(b, ' ')
		}
		b = strconv.AppendInt(b, int64(n), 10)
	}
	return string(b)
}

func handleOpenAIEmbeddings(c *call) {
	var req oaEmbeddingRequest
	if !c.openAIRequest(&req, &req.Model) {
		return
	}
	inputs, ok := embeddingInputs(req.Input)
	if !ok {
		c.failOpenAIWith(http.StatusBadRequest, "'input' is a required property", "invalid_request_error", nil)
		return
	}
	if !c.begin() {
		return
	}
	dims := c.s.opts.EmbeddingDims
	if req.Dimensions > 0 {
		dims = req.Dimensions
	}
	data := make([]oaEmbedding, len(inputs))
	tokens := 0
	for i, in := range inputs {
		tokens += countTokens(in)
		vec := embedding(in, dims)
		var v any = vec
		if req.EncodingFormat == "base64" {
			buf := make([]byte, 4*len(vec))
			for j, f := range vec {
				binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(float32(f)))
			}
			v = base64.StdEncoding.EncodeToString(buf)
		}
		data[i] = oaEmbedding{Object: "embedding", Index: i, Embedding: v}
	}
	c.json(http.StatusOK, map[string]any{
		"object": "list",
		"data":   data,
		"model":  req.Model,
		"usage":  map[string]int{"prompt_tokens": tokens, "total_tokens": tokens},
	})
}

func handleOpenAIModels(c *call) {
	if !c.checkOpenAIAuth() {
		return
	}
	if !c.begin() {
		return
	}
	type model struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		OwnedBy string `json:"owned_by"`
	}
	data := make([]model, len(c.s.opts.Models))
	for i, m := range c.s.opts.Models {
		data[i] = model{ID: m, Object: "model", Created: 1700000000, OwnedBy: "fakeprovider"}
	}
	c.json(http.StatusOK, map[string]any{"object": "list", "data": data})
}

// openAIErrorKind is the error type and code OpenAI uses for a status and
// message.
func openAIErrorKind(status int, msg string) (typ string, code any) {
	lower := strings.ToLower(msg)
	switch {
	case status == http.StatusUnauthorized:
		return "invalid_request_error", "invalid_api_key"
	case status == http.StatusTooManyRequests:
		return "requests", "rate_limit_exceeded"
	case status >= 500:
		return "server_error", nil
	case strings.Contains(lower, "context length") || strings.Contains(lower, "context_length") || strings.Contains(lower, "too many tokens"):
		return "invalid_request_error", "context_length_exceeded"
	case strings.Contains(lower, "content") && (strings.Contains(lower, "policy") || strings.Contains(lower, "filter") || strings.Contains(lower, "safety")):
		return "invalid_request_error", "content_policy_violation"
	case status == http.StatusNotFound:
		return "invalid_request_error", "model_not_found"
	}
	return "invalid_request_error", nil
}

func defaultErrorMessage(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "Incorrect API key provided."
	case http.StatusTooManyRequests:
		return "Rate limit reached for requests. Please try again later."
	case http.StatusInternalServerError:
		return "The server had an error while processing your request. Sorry about that!"
	case http.StatusServiceUnavailable:
		return "The engine is currently overloaded, please try again later."
	}
	if t := http.StatusText(status); t != "" {
		return "fake provider: " + strings.ToLower(t)
	}
	return "fake provider error " + strconv.Itoa(status)
}

func (c *call) failOpenAI(status int, msg string) {
	if msg == "" {
		msg = defaultErrorMessage(status)
	}
	typ, code := openAIErrorKind(status, msg)
	c.failOpenAIWith(status, msg, typ, code)
}

func (c *call) failOpenAIWith(status int, msg, typ string, code any) {
	c.json(status, map[string]any{"error": map[string]any{
		"message": msg,
		"type":    typ,
		"param":   nil,
		"code":    code,
	}})
}

// failAzure writes Azure OpenAI's error shape: like OpenAI's, with the
// code as a string and, for content filtering, the innererror Azure adds.
func (c *call) failAzure(status int, msg string) {
	if status == http.StatusUnauthorized {
		if msg == "" {
			msg = "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."
		}
		c.json(status, map[string]any{"error": map[string]any{"code": "401", "message": msg}})
		return
	}
	if msg == "" {
		msg = defaultErrorMessage(status)
	}
	typ, code := openAIErrorKind(status, msg)
	e := map[string]any{"message": msg, "type": typ, "param": nil, "code": code, "status": status}
	switch {
	case code == "content_policy_violation":
		e["code"] = "content_filter"
		e["param"] = "prompt"
		e["innererror"] = map[string]any{
			"code": "ResponsibleAIPolicyViolation",
			"content_filter_result": map[string]any{
				"hate":      map[string]any{"filtered": true, "severity": "high"},
				"self_harm": map[string]any{"filtered": false, "severity": "safe"},
				"sexual":    map[string]any{"filtered": false, "severity": "safe"},
				"violence":  map[string]any{"filtered": false, "severity": "safe"},
			},
		}
	case code == nil:
		e["code"] = strconv.Itoa(status)
	}
	c.json(status, map[string]any{"error": e})
}
