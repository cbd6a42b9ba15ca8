package translator

// Google Gemini: Google AI Studio ("gemini") and Vertex AI ("vertex_ai").
// Both speak the same generateContent body; only the URL differs.
//
//   gemini:    POST {api_base}/v1beta/models/{model}:generateContent
//              POST {api_base}/v1beta/models/{model}:streamGenerateContent?alt=sse
//              POST {api_base}/v1beta/models/{model}:batchEmbedContents
//   vertex_ai: POST {api_base}/v1/projects/{project}/locations/{location}/publishers/google/models/{model}:generateContent
//              (…:streamGenerateContent?alt=sse, …:predict for text-embedding models)
//
// Credentials (x-goog-api-key, or a Vertex OAuth2 bearer token) are added by
// the caller, never put in the path.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/llmgate/llmgate/internal/provider"
)

const (
	// GeminiDefaultAPIBase is Google AI Studio's api_base.
	GeminiDefaultAPIBase = "https://generativelanguage.googleapis.com"
)

// geminiSupportedParams are the OpenAI chat params Gemini takes (one list for
// both gemini and vertex_ai).
var geminiSupportedParams = map[string]bool{
	"temperature": true, "top_p": true, "max_tokens": true, "max_completion_tokens": true, "n": true,
	"stop": true, "seed": true, "presence_penalty": true, "frequency_penalty": true, "tools": true,
	"tool_choice": true, "parallel_tool_calls": true, "response_format": true, "reasoning_effort": true,
}

var geminiEmbeddingParams = map[string]bool{"dimensions": true}

// geminiThinkingBudgets maps reasoning_effort to a thinking budget, as LiteLLM does.
var geminiThinkingBudgets = map[string]int{"minimal": 128, "low": 1024, "medium": 2048, "high": 4096, "disable": 0, "none": 0}

// geminiThoughtSep joins a synthesized tool_call id and Gemini's thought
// signature, so that the signature comes back with the tool result (LiteLLM's scheme).
const geminiThoughtSep = "__thought__"

type geminiTranslator struct{ vertex bool }

func init() {
	Register(provider.WireGemini, geminiTranslator{})
	Register(provider.WireVertex, geminiTranslator{vertex: true})
}

func (g geminiTranslator) name() string {
	if g.vertex {
		return "vertex_ai"
	}
	return "gemini"
}

// --- wire types ---

type geminiContent struct {
	Role  string       `json:"role,omitempty"`
	Parts []geminiPart `json:"parts"`
}

type geminiPart struct {
	Text             string                  `json:"text,omitempty"`
	Thought          bool                    `json:"thought,omitempty"`
	ThoughtSignature string                  `json:"thoughtSignature,omitempty"`
	InlineData       *geminiBlob             `json:"inlineData,omitempty"`
	FileData         *geminiFileData         `json:"fileData,omitempty"`
	FunctionCall     *geminiFunctionCall     `json:"functionCall,omitempty"`
	FunctionResponse *geminiFunctionResponse `json:"functionResponse,omitempty"`
}

type geminiBlob struct {
	MimeType string `json:"mimeType"`
	Data     string `json:"data"`
}

type geminiFileData struct {
	MimeType string `json:"mimeType,omitempty"`
	FileURI  string `json:"fileUri"`
}

type geminiFunctionCall struct {
	ID   string          `json:"id,omitempty"`
	Name string          `json:"name"`
	Args json.RawMessage `json:"args,omitempty"`
}

type geminiFunctionResponse struct {
	ID       string          `json:"id,omitempty"`
	Name     string          `json:"name"`
	Response json.RawMessage `json:"response"`
}

type geminiRequest struct {
	Contents          []geminiContent            `json:"contents"`
	SystemInstruction *geminiContent             `json:"systemInstruction,omitempty"`
	Tools             []geminiTool               `json:"tools,omitempty"`
	ToolConfig        *geminiToolConfig          `json:"toolConfig,omitempty"`
	GenerationConfig  *geminiGenerationConfig    `json:"generationConfig,omitempty"`
	SafetySettings    json.RawMessage            `json:"safetySettings,omitempty"`
	CachedContent     string                     `json:"cachedContent,omitempty"`
	Labels            map[string]json.RawMessage `json:"labels,omitempty"`
}

type geminiTool struct {
	FunctionDeclarations []geminiFunctionDecl `json:"functionDeclarations,omitempty"`
}

type geminiFunctionDecl struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
}

type geminiToolConfig struct {
	FunctionCallingConfig geminiFunctionCallingConfig `json:"functionCallingConfig"`
}

type geminiFunctionCallingConfig struct {
	Mode                 string   `json:"mode"`
	AllowedFunctionNames []string `json:"allowedFunctionNames,omitempty"`
}

type geminiGenerationConfig struct {
	Temperature      *float64              `json:"temperature,omitempty"`
	TopP             *float64              `json:"topP,omitempty"`
	TopK             *float64              `json:"topK,omitempty"`
	MaxOutputTokens  *int                  `json:"maxOutputTokens,omitempty"`
	StopSequences    []string              `json:"stopSequences,omitempty"`
	CandidateCount   *int                  `json:"candidateCount,omitempty"`
	Seed             *int64                `json:"seed,omitempty"`
	PresencePenalty  *float64              `json:"presencePenalty,omitempty"`
	FrequencyPenalty *float64              `json:"frequencyPenalty,omitempty"`
	ResponseMimeType string                `json:"responseMimeType,omitempty"`
	ResponseSchema   json.RawMessage       `json:"responseSchema,omitempty"`
	ThinkingConfig   *geminiThinkingConfig `json:"thinkingConfig,omitempty"`
}

type geminiThinkingConfig struct {
	ThinkingBudget  *int `json:"thinkingBudget,omitempty"`
	IncludeThoughts bool `json:"includeThoughts,omitempty"`
}

type geminiResponse struct {
	Candidates     []geminiCandidate     `json:"candidates"`
	PromptFeedback *geminiPromptFeedback `json:"promptFeedback,omitempty"`
	UsageMetadata  *geminiUsage          `json:"usageMetadata,omitempty"`
	ModelVersion   string                `json:"modelVersion,omitempty"`
	ResponseID     string                `json:"responseId,omitempty"`
	CreateTime     string                `json:"createTime,omitempty"`
	Error          *geminiErrorObject    `json:"error,omitempty"`
}

type geminiCandidate struct {
	Content      *geminiContent `json:"content,omitempty"`
	FinishReason string         `json:"finishReason,omitempty"`
	Index        int            `json:"index"`
}

type geminiPromptFeedback struct {
	BlockReason        string `json:"blockReason,omitempty"`
	BlockReasonMessage string `json:"blockReasonMessage,omitempty"`
}

type geminiUsage struct {
	PromptTokenCount        int `json:"promptTokenCount"`
	CandidatesTokenCount    int `json:"candidatesTokenCount"`
	TotalTokenCount         int `json:"totalTokenCount"`
	CachedContentTokenCount int `json:"cachedContentTokenCount"`
	ThoughtsTokenCount      int `json:"thoughtsTokenCount"`
	ToolUsePromptTokenCount int `json:"toolUsePromptTokenCount"`
}

type geminiErrorObject struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Status  string `json:"status"`
}

// --- request ---

func (g geminiTranslator) Request(ep Endpoint, body []byte, t Target) (*UpstreamRequest, error) {
	switch ep {
	case Chat:
		return g.chatRequest(body, t)
	case Embeddings:
		return g.embeddingRequest(body, t)
	}
	return nil, unsupportedEndpoint(g.name(), ep)
}

// modelPath is the path up to and including "models/{model}".
func (g geminiTranslator) modelPath(t Target) (string, error) {
	model := strings.TrimPrefix(t.Model, "models/")
	if model == "" {
		return "", NewError(400, "invalid_request_error", g.name()+": model is empty", "model")
	}
	base := apiBasePath(t.APIBase)
	if !g.vertex {
		if !strings.HasSuffix(base, "/v1beta") && !strings.HasSuffix(base, "/v1") {
			v := t.APIVersion
			if v == "" {
				v = "v1beta"
			}
			base += "/" + v
		}
		return base + "/models/" + model, nil
	}
	if t.Project == "" {
		return "", NewError(400, "invalid_request_error", "vertex_ai: vertex_project is required", "vertex_project")
	}
	loc := t.Location
	if loc == "" {
		loc = provider.VertexDefaultLocation
	}
	v := t.APIVersion
	if v == "" {
		v = "v1"
	}
	return fmt.Sprintf("%s/%s/projects/%s/locations/%s/publishers/google/models/%s", base, v, t.Project, loc, model), nil
}

func (g geminiTranslator) chatRequest(body []byte, t Target) (*UpstreamRequest, error) {
	r, err := prepareChat(body, t, g.name(), geminiSupportedParams)
	if err != nil {
		return nil, err
	}
	req, err := g.buildRequest(r)
	if err != nil {
		return nil, err
	}
	mp, err := g.modelPath(t)
	if err != nil {
		return nil, err
	}
	out, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("%s: encode request: %w", g.name(), err)
	}
	path := mp + ":generateContent"
	if t.Stream || r.Stream {
		path = mp + ":streamGenerateContent?alt=sse"
	}
	return &UpstreamRequest{Method: "POST", Path: path, Headers: jsonHeaders(t.Stream || r.Stream), Body: out}, nil
}

func geminiBadRequest(msg, param string) error {
	return NewError(400, "invalid_request_error", msg, param)
}

func (g geminiTranslator) buildRequest(r *ChatRequest) (*geminiRequest, error) {
	req := &geminiRequest{Contents: []geminiContent{}}
	names := toolNames(r.Messages)
	for i, m := range r.Messages {
		switch m.Role {
		case "system", "developer":
			text := m.Content.AsText()
			if text == "" {
				continue
			}
			if req.SystemInstruction == nil {
				req.SystemInstruction = &geminiContent{}
			}
			req.SystemInstruction.Parts = append(req.SystemInstruction.Parts, geminiPart{Text: text})
		case "user":
			parts, err := geminiUserParts(m.Content, i)
			if err != nil {
				return nil, err
			}
			if len(parts) == 0 {
				continue
			}
			req.Contents = geminiAppend(req.Contents, "user", parts)
		case "assistant":
			var parts []geminiPart
			if text := m.Content.AsText(); text != "" {
				parts = append(parts, geminiPart{Text: text})
			}
			for _, tc := range m.ToolCalls {
				args := json.RawMessage(strings.TrimSpace(tc.Function.Arguments))
				if len(args) == 0 {
					args = json.RawMessage("{}")
				}
				if !json.Valid(args) {
					return nil, geminiBadRequest(fmt.Sprintf("messages[%d].tool_calls: arguments of %q are not valid JSON", i, tc.Function.Name), "messages")
				}
				p := geminiPart{FunctionCall: &geminiFunctionCall{Name: tc.Function.Name, Args: args}}
				if _, sig, ok := strings.Cut(tc.ID, geminiThoughtSep); ok {
					p.ThoughtSignature = sig
				}
				parts = append(parts, p)
			}
			if len(parts) == 0 {
				continue
			}
			req.Contents = geminiAppend(req.Contents, "model", parts)
		case "tool", "function":
			name := m.Name
			if n, ok := names[m.ToolCallID]; ok && n != "" {
				name = n
			}
			if name == "" {
				return nil, geminiBadRequest(fmt.Sprintf("messages[%d]: tool result %q matches no earlier tool call, and has no name", i, m.ToolCallID), "messages")
			}
			part := geminiPart{FunctionResponse: &geminiFunctionResponse{Name: name, Response: geminiToolResponse(m.Content.AsText())}}
			n := len(req.Contents)
			if n > 0 && req.Contents[n-1].Role == "user" && geminiAllFunctionResponses(req.Contents[n-1].Parts) {
				req.Contents[n-1].Parts = append(req.Contents[n-1].Parts, part)
			} else {
				req.Contents = append(req.Contents, geminiContent{Role: "user", Parts: []geminiPart{part}})
			}
		default:
			return nil, geminiBadRequest(fmt.Sprintf("messages[%d]: unknown role %q", i, m.Role), "messages")
		}
	}
	if len(req.Contents) == 0 {
		return nil, geminiBadRequest("gemini: the request needs at least one user or assistant message", "messages")
	}

	for _, tool := range r.Tools {
		if tool.Type != "" && tool.Type != "function" {
			return nil, geminiBadRequest(fmt.Sprintf("gemini: tool type %q is not supported", tool.Type), "tools")
		}
		if len(req.Tools) == 0 {
			req.Tools = []geminiTool{{}}
		}
		decl := geminiFunctionDecl{Name: tool.Function.Name, Description: tool.Function.Description}
		if rawSet(tool.Function.Parameters) {
			decl.Parameters = geminiSchema(tool.Function.Parameters)
		}
		req.Tools[0].FunctionDeclarations = append(req.Tools[0].FunctionDeclarations, decl)
	}
	if rawSet(r.ToolChoice) {
		tc, err := geminiToolChoice(r.ToolChoice)
		if err != nil {
			return nil, err
		}
		req.ToolConfig = tc
	}

	gc := &geminiGenerationConfig{
		Temperature: r.Temperature, TopP: r.TopP, MaxOutputTokens: maxTokensOf(r), StopSequences: r.Stop,
		CandidateCount: r.N, Seed: r.Seed, PresencePenalty: r.PresencePenalty, FrequencyPenalty: r.FrequencyPenalty,
	}
	if rf := r.ResponseFormat; rf != nil {
		switch rf.Type {
		case "json_object":
			gc.ResponseMimeType = "application/json"
		case "json_schema":
			gc.ResponseMimeType = "application/json"
			if rf.JSONSchema != nil && rawSet(rf.JSONSchema.Schema) {
				gc.ResponseSchema = geminiSchema(rf.JSONSchema.Schema)
			}
		case "text", "":
		default:
			return nil, geminiBadRequest(fmt.Sprintf("gemini: response_format type %q is not supported", rf.Type), "response_format")
		}
	}
	if r.ReasoningEffort != "" {
		budget, ok := geminiThinkingBudgets[r.ReasoningEffort]
		if !ok {
			return nil, geminiBadRequest(fmt.Sprintf("gemini: reasoning_effort %q is not one of minimal, low, medium, high, disable", r.ReasoningEffort), "reasoning_effort")
		}
		gc.ThinkingConfig = &geminiThinkingConfig{ThinkingBudget: &budget, IncludeThoughts: budget > 0}
	}
	// Provider-specific params LiteLLM passes through.
	if v, ok := r.Extra["top_k"]; ok && rawSet(v) {
		var k float64
		if err := json.Unmarshal(v, &k); err != nil {
			return nil, geminiBadRequest("gemini: top_k must be a number", "top_k")
		}
		gc.TopK = &k
	}
	if v, ok := r.Extra["safety_settings"]; ok && rawSet(v) {
		req.SafetySettings = v
	}
	if v, ok := r.Extra["cached_content"]; ok && rawSet(v) {
		_ = json.Unmarshal(v, &req.CachedContent)
	}
	if v, ok := r.Extra["labels"]; ok && rawSet(v) && g.vertex {
		_ = json.Unmarshal(v, &req.Labels)
	}
	if !geminiConfigEmpty(gc) {
		req.GenerationConfig = gc
	}
	return req, nil
}

func geminiConfigEmpty(gc *geminiGenerationConfig) bool {
	return gc.Temperature == nil && gc.TopP == nil && gc.TopK == nil && gc.MaxOutputTokens == nil &&
		len(gc.StopSequences) == 0 && gc.CandidateCount == nil && gc.Seed == nil && gc.PresencePenalty == nil &&
		gc.FrequencyPenalty == nil && gc.ResponseMimeType == "" && len(gc.ResponseSchema) == 0 && gc.ThinkingConfig == nil
}

func geminiAppend(cs []geminiContent, role string, parts []geminiPart) []geminiContent {
	n := len(cs)
	if n > 0 && cs[n-1].Role == role && !(role == "user" && geminiAllFunctionResponses(cs[n-1].Parts)) {
		cs[n-1].Parts = append(cs[n-1].Parts, parts...)
		return cs
	}
	return append(cs, geminiContent{Role: role, Parts: parts})
}

func geminiAllFunctionResponses(ps []geminiPart) bool {
	for _, p := range ps {
		if p.FunctionResponse == nil {
			return false
		}
	}
	return len(ps) > 0
}

// geminiToolResponse wraps a tool result: a JSON object is sent as is, any
// other text as {"content": text} (Gemini wants an object).
func geminiToolResponse(text string) json.RawMessage {
	t := strings.TrimSpace(text)
	if strings.HasPrefix(t, "{") && json.Valid([]byte(t)) {
		return json.RawMessage(t)
	}
	b, _ := json.Marshal(map[string]string{"content": text})
	return b
}

func geminiUserParts(c Content, i int) ([]geminiPart, error) {
	if !c.IsParts {
		if c.Text == "" {
			return nil, nil
		}
		return []geminiPart{{Text: c.Text}}, nil
	}
	var parts []geminiPart
	for _, p := range c.Parts {
		switch p.Type {
		case "text":
			if p.Text != "" {
				parts = append(parts, geminiPart{Text: p.Text})
			}
		case "image_url":
			if p.ImageURL == nil || p.ImageURL.URL == "" {
				return nil, geminiBadRequest(fmt.Sprintf("messages[%d]: image_url part without a url", i), "messages")
			}
			u := p.ImageURL.URL
			if mime, data, ok := splitDataURL(u); ok {
				if mime == "" {
					mime = "application/octet-stream"
				}
				parts = append(parts, geminiPart{InlineData: &geminiBlob{MimeType: mime, Data: data}})
			} else if strings.HasPrefix(u, "gs://") || strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") {
				parts = append(parts, geminiPart{FileData: &geminiFileData{MimeType: mimeFromURL(u), FileURI: u}})
			} else {
				return nil, geminiBadRequest(fmt.Sprintf("messages[%d]: image_url must be a data: URL, a gs:// URI or an https URL", i), "messages")
			}
		case "input_audio":
			if p.InputAudio == nil {
				return nil, geminiBadRequest(fmt.Sprintf("messages[%d]: input_audio part without data", i), "messages")
			}
			parts = append(parts, geminiPart{InlineData: &geminiBlob{MimeType: "audio/" + p.InputAudio.Format, Data: p.InputAudio.Data}})
		default:
			return nil, geminiBadRequest(fmt.Sprintf("messages[%d]: content part type %q is not supported by gemini", i, p.Type), "messages")
		}
	}
	return parts, nil
}

func geminiToolChoice(raw json.RawMessage) (*geminiToolConfig, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		mode := map[string]string{"none": "NONE", "auto": "AUTO", "required": "ANY"}[s]
		if mode == "" {
			return nil, geminiBadRequest(fmt.Sprintf("gemini: tool_choice %q is not one of none, auto, required", s), "tool_choice")
		}
		return &geminiToolConfig{FunctionCallingConfig: geminiFunctionCallingConfig{Mode: mode}}, nil
	}
	var obj struct {
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil || obj.Function.Name == "" {
		return nil, geminiBadRequest("gemini: tool_choice must be a string or {\"type\":\"function\",\"function\":{\"name\":...}}", "tool_choice")
	}
	return &geminiToolConfig{FunctionCallingConfig: geminiFunctionCallingConfig{Mode: "ANY", AllowedFunctionNames: []string{obj.Function.Name}}}, nil
}

// geminiSchema turns a JSON Schema into the OpenAPI subset Gemini accepts:
// local $refs are inlined and the keywords it rejects are removed.
func geminiSchema(raw json.RawMessage) json.RawMessage {
	var v any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return raw
	}
	var defs map[string]any
	if m, ok := v.(map[string]any); ok {
		if d, ok := m["$defs"].(map[string]any); ok {
			defs = d
		} else if d, ok := m["definitions"].(map[string]any); ok {
			defs = d
		}
	}
	c := geminiSchemaCleaner{defs: defs, expanding: map[string]bool{}, budget: 10000}
	out, err := json.Marshal(c.clean(v, 0))
	if err != nil {
		return raw
	}
	return out
}

var geminiDroppedSchemaKeys = map[string]bool{
	"$schema": true, "$defs": true, "definitions": true, "additionalProperties": true, "strict": true, "$id": true,
}

// geminiSchemaCleaner inlines $refs. A recursive reference (Gemini's schema
// has no $ref) becomes a plain object; budget bounds the work on hostile input.
type geminiSchemaCleaner struct {
	defs      map[string]any
	expanding map[string]bool
	budget    int
}

func (c *geminiSchemaCleaner) clean(v any, depth int) any {
	c.budget--
	if depth > 32 || c.budget < 0 {
		return map[string]any{}
	}
	switch x := v.(type) {
	case map[string]any:
		if ref, ok := x["$ref"].(string); ok {
			name := ref[strings.LastIndex(ref, "/")+1:]
			if def, ok := c.defs[name]; ok {
				if c.expanding[name] {
					return map[string]any{"type": "object"}
				}
				c.expanding[name] = true
				out := c.clean(def, depth+1)
				delete(c.expanding, name)
				return out
			}
		}
		out := make(map[string]any, len(x))
		for k, val := range x {
			if geminiDroppedSchemaKeys[k] || k == "$ref" {
				continue
			}
			out[k] = c.clean(val, depth+1)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = c.clean(e, depth+1)
		}
		return out
	}
	return v
}

// --- response ---

func (g geminiTranslator) Response(ep Endpoint, body []byte, t Target) (*Response, error) {
	switch ep {
	case Chat:
		return g.chatResponse(body, t)
	case Embeddings:
		return g.embeddingResponse(body, t)
	}
	return nil, unsupportedEndpoint(g.name(), ep)
}

// geminiFinish maps a Gemini finishReason to OpenAI's.
func geminiFinish(reason string, hasToolCalls bool) string {
	switch reason {
	case "":
		return ""
	case "MAX_TOKENS":
		return "length"
	case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY":
		return "content_filter"
	}
	if hasToolCalls {
		return "tool_calls"
	}
	return "stop"
}

func geminiUsageFrom(u *geminiUsage) Usage {
	if u == nil {
		return Usage{}
	}
	out := Usage{
		PromptTokens:     u.PromptTokenCount + u.ToolUsePromptTokenCount,
		CompletionTokens: u.CandidatesTokenCount + u.ThoughtsTokenCount,
		TotalTokens:      u.TotalTokenCount,
		CachedTokens:     u.CachedContentTokenCount,
		ReasoningTokens:  u.ThoughtsTokenCount,
	}
	if out.TotalTokens == 0 {
		out.TotalTokens = out.PromptTokens + out.CompletionTokens
	}
	return out
}

// geminiParts splits a candidate's parts into text, thought text and tool calls.
// Tool calls without a Gemini id get a stable synthesized one; a thought
// signature rides along in the id.
func geminiParts(parts []geminiPart, seed string, cand int, indexBase int) (text, thought string, calls []ToolCall) {
	var tb, rb strings.Builder
	for i, p := range parts {
		switch {
		case p.FunctionCall != nil:
			id := p.FunctionCall.ID
			if id == "" {
				id = stableID("call_", seed, fmt.Sprint(cand), fmt.Sprint(indexBase+len(calls)), fmt.Sprint(i), p.FunctionCall.Name)
			}
			if p.ThoughtSignature != "" {
				id += geminiThoughtSep + p.ThoughtSignature
			}
			args := strings.TrimSpace(string(p.FunctionCall.Args))
			if args == "" || args == "null" {
				args = "{}"
			}
			idx := indexBase + len(calls)
			calls = append(calls, ToolCall{Index: &idx, ID: id, Type: "function", Function: FunctionCall{Name: p.FunctionCall.Name, Arguments: args}})
		case p.Thought:
			rb.WriteString(p.Text)
		default:
			tb.WriteString(p.Text)
		}
	}
	return tb.String(), rb.String(), calls
}

func (g geminiTranslator) chatResponse(body []byte, t Target) (*Response, error) {
	var gr geminiResponse
	if err := json.Unmarshal(body, &gr); err != nil {
		return nil, NewError(502, "internal_server_error", fmt.Sprintf("%s: cannot parse generateContent response: %v", g.name(), err), "")
	}
	if gr.Error != nil {
		return nil, g.errorFrom(gr.Error.Code, nil, gr.Error)
	}
	model := gr.ModelVersion
	if model == "" {
		model = t.Model
	}
	id := gr.ResponseID
	if id == "" {
		id = stableID("chatcmpl-", string(body))
	}
	out := ChatResponse{ID: id, Object: "chat.completion", Created: parseTime(gr.CreateTime), Model: model, Choices: []Choice{}}
	for ci, c := range gr.Candidates {
		var parts []geminiPart
		if c.Content != nil {
			parts = c.Content.Parts
		}
		text, thought, calls := geminiParts(parts, id, ci, 0)
		for i := range calls {
			calls[i].Index = nil
		}
		msg := ResponseMessage{Role: "assistant", ReasoningContent: thought, ToolCalls: calls}
		if text != "" || len(calls) == 0 {
			msg.Content = strPtr(text)
		}
		fr := geminiFinish(c.FinishReason, len(calls) > 0)
		if fr == "" {
			fr = "stop"
		}
		out.Choices = append(out.Choices, Choice{Index: c.Index, Message: msg, FinishReason: fr})
	}
	if len(out.Choices) == 0 {
		// The prompt itself was blocked: promptFeedback.blockReason.
		fr := "stop"
		if gr.PromptFeedback != nil && gr.PromptFeedback.BlockReason != "" {
			fr = "content_filter"
		}
		out.Choices = append(out.Choices, Choice{Index: 0, Message: ResponseMessage{Role: "assistant", Content: strPtr("")}, FinishReason: fr})
	}
	u := geminiUsageFrom(gr.UsageMetadata)
	out.Usage = UsageObjectFrom(u)
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("%s: encode response: %w", g.name(), err)
	}
	return &Response{Body: b, Usage: u, FinishReason: out.Choices[0].FinishReason}, nil
}

// --- errors ---

func (g geminiTranslator) Error(status int, headers map[string]string, body []byte) *Error {
	var env struct {
		Error *geminiErrorObject `json:"error"`
	}
	b := bytes.TrimSpace(body)
	// A stream error arrives as a JSON array of one response.
	if len(b) > 0 && b[0] == '[' {
		var arr []json.RawMessage
		if json.Unmarshal(b, &arr) == nil && len(arr) > 0 {
			b = arr[0]
		}
	}
	if json.Unmarshal(b, &env) == nil && env.Error != nil {
		return g.errorFrom(status, headers, env.Error)
	}
	return providerError(g.name(), status, headers, truncateBody(body))
}

func (g geminiTranslator) errorFrom(status int, headers map[string]string, e *geminiErrorObject) *Error {
	if status == 0 {
		status = e.Code
	}
	msg := e.Message
	if e.Status != "" {
		msg = e.Status + ": " + msg
	}
	return providerError(g.name(), status, headers, msg)
}
