package translator

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"slices"
	"strings"

	"github.com/llmgate/llmgate/internal/provider"
)

// AWS Bedrock Runtime: Converse (POST /model/{modelId}/converse), ConverseStream
// (POST /model/{modelId}/converse-stream, an application/vnd.amazon.eventstream
// body) and InvokeModel for embeddings (POST /model/{modelId}/invoke).
//
// Choices made here:
//   - The model id is escaped as one path segment with every byte outside
//     A-Z a-z 0-9 - _ . ~ percent-encoded (so "v1:0" → "v1%3A0", ARNs keep no
//     '/'), as the AWS SDKs send it; SigV4 signs that escaped path.
//   - Images must be base64 data: URLs: Converse takes bytes (or S3), and a
//     translator does no I/O, so an https image URL is a 400.
//   - tool_choice: auto → {auto}, required → {any}, function → {tool}; "none"
//     has no Converse form and sends no toolChoice. toolChoice is only sent to
//     model families that accept it (Anthropic, Mistral, Nova); for the others
//     required/function is a 400 unless drop_params.
//   - response_format json_object/json_schema → a tool "json_tool_call" (as for
//     anthropic); a reply whose only toolUse is json_tool_call is content.
//   - reasoning_effort (Anthropic models) → additionalModelRequestFields.thinking
//     with LiteLLM's budgets; top_k → additionalModelRequestFields (top_k for
//     Anthropic, inferenceConfig.topK for Nova). A client's
//     additionalModelRequestFields object is merged in as sent.
//   - Bedrock responses carry no id: the chat id is "chatcmpl-" plus a hash of
//     the response bytes (pure, stable for the same bytes).
//   - usage.prompt_tokens = inputTokens + cacheReadInputTokens +
//     cacheWriteInputTokens, cached_tokens = cacheReadInputTokens,
//     cache_creation_tokens = cacheWriteInputTokens, as for anthropic.
//   - Embeddings: Titan takes one inputText per call. Several inputs are a 400
//     (a pure translator cannot fan out calls). Cohere takes texts[] with
//     input_type (default "search_document", as LiteLLM); Bedrock's Cohere
//     response has no token count, so usage is 0 there.

// bedrockSupportedParams are the OpenAI params the bedrock chat translator maps.
var bedrockSupportedParams = []string{
	"model", "messages", "stream", "stream_options", "stop", "temperature", "top_p",
	"max_tokens", "max_completion_tokens", "tools", "tool_choice", "response_format",
	"reasoning_effort", "n",
}

func init() { Register(provider.WireBedrock, bedrockTranslator{}) }

// bedrockTranslator translates OpenAI requests to AWS Bedrock Converse and
// InvokeModel (embeddings) and back.
type bedrockTranslator struct{}

// bedrockFamily names the model family of a Bedrock model id, inference
// profile id ("us.anthropic...") or ARN: anthropic, meta, mistral, amazon
// (Titan), nova, cohere, ai21, deepseek, or "" when unknown.
func bedrockFamily(model string) string {
	m := strings.ToLower(model)
	switch {
	case strings.Contains(m, "anthropic.") || strings.Contains(m, "claude"):
		return "anthropic"
	case strings.Contains(m, "amazon.nova") || strings.Contains(m, "nova-"):
		return "nova"
	case strings.Contains(m, "amazon.titan"):
		return "amazon"
	case strings.Contains(m, "meta.") || strings.Contains(m, "llama"):
		return "meta"
	case strings.Contains(m, "mistral."):
		return "mistral"
	case strings.Contains(m, "cohere."):
		return "cohere"
	case strings.Contains(m, "ai21."):
		return "ai21"
	case strings.Contains(m, "deepseek."):
		return "deepseek"
	}
	return ""
}

func bedrockToolChoiceSupported(family string) bool {
	return family == "anthropic" || family == "mistral" || family == "nova"
}

// bedrockModelPath escapes a model id as one path segment.
func bedrockModelPath(model, action string) string {
	var b strings.Builder
	b.WriteString("/model/")
	for i := 0; i < len(model); i++ {
		c := model[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	b.WriteString("/")
	b.WriteString(action)
	return b.String()
}

type brkRequest struct {
	Messages                     []brkMessage               `json:"messages"`
	System                       []brkBlock                 `json:"system,omitempty"`
	InferenceConfig              *brkInferenceConfig        `json:"inferenceConfig,omitempty"`
	ToolConfig                   *brkToolConfig             `json:"toolConfig,omitempty"`
	AdditionalModelRequestFields map[string]json.RawMessage `json:"additionalModelRequestFields,omitempty"`
}

type brkInferenceConfig struct {
	MaxTokens     *int     `json:"maxTokens,omitempty"`
	Temperature   *float64 `json:"temperature,omitempty"`
	TopP          *float64 `json:"topP,omitempty"`
	StopSequences []string `json:"stopSequences,omitempty"`
}

type brkToolConfig struct {
	Tools      []brkTool       `json:"tools"`
	ToolChoice json.RawMessage `json:"toolChoice,omitempty"`
}

type brkTool struct {
	ToolSpec brkToolSpec `json:"toolSpec"`
}

type brkToolSpec struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	InputSchema struct {
		JSON json.RawMessage `json:"json"`
	} `json:"inputSchema"`
}

type brkMessage struct {
	Role    string     `json:"role"`
	Content []brkBlock `json:"content"`
}

type brkBlock struct {
	Text             *string              `json:"text,omitempty"`
	Image            *brkImage            `json:"image,omitempty"`
	ToolUse          *brkToolUse          `json:"toolUse,omitempty"`
	ToolResult       *brkToolResult       `json:"toolResult,omitempty"`
	ReasoningContent *brkReasoningContent `json:"reasoningContent,omitempty"`
}

type brkImage struct {
	Format string `json:"format"`
	Source struct {
		Bytes string `json:"bytes"`
	} `json:"source"`
}

type brkToolUse struct {
	ToolUseID string          `json:"toolUseId"`
	Name      string          `json:"name"`
	Input     json.RawMessage `json:"input"`
}

type brkToolResult struct {
	ToolUseID string     `json:"toolUseId"`
	Content   []brkBlock `json:"content"`
	Status    string     `json:"status,omitempty"`
}

type brkReasoningContent struct {
	ReasoningText *struct {
		Text      string `json:"text"`
		Signature string `json:"signature,omitempty"`
	} `json:"reasoningText,omitempty"`
}

// Request implements Translator.
func (bedrockTranslator) Request(ep Endpoint, body []byte, t Target) (*UpstreamRequest, error) {
	switch ep {
	case Chat:
		return bedrockChatRequest(body, t)
	case Embeddings:
		return bedrockEmbeddingRequest(body, t)
	}
	return nil, NewError(400, "invalid_request_error", fmt.Sprintf("llmgate: endpoint %s not supported by provider bedrock", ep), "")
}

func bedrockChatRequest(body []byte, t Target) (*UpstreamRequest, error) {
	req, raw, e := decodeChatRequest(body)
	if e != nil {
		return nil, e
	}
	family := bedrockFamily(t.Model)
	supported := bedrockSupportedParams
	if family != "anthropic" {
		// Thinking budgets exist only for Anthropic models on Bedrock.
		supported = slices.DeleteFunc(slices.Clone(supported), func(s string) bool { return s == "reasoning_effort" })
	}
	p, e := checkRequestParams("bedrock", raw, supported, t)
	if e != nil {
		return nil, e
	}
	if p.use("n") && req.N != nil && *req.N != 1 && !t.DropParams {
		return nil, NewError(400, "invalid_request_error", "llmgate: param n (other than 1) not supported by provider bedrock; set drop_params: true to drop it", "n")
	}
	model := t.Model
	if model == "" {
		model = req.Model
	}
	if model == "" {
		return nil, NewError(400, "invalid_request_error", "llmgate: bedrock needs a model id", "model")
	}
	var out brkRequest
	var err *Error
	out.System, out.Messages, err = bedrockMessages(req.Messages)
	if err != nil {
		return nil, err
	}

	ic := &brkInferenceConfig{}
	userMax := 0
	switch {
	case p.use("max_tokens") && req.MaxTokens != nil:
		userMax = *req.MaxTokens
	case p.use("max_completion_tokens") && req.MaxCompletionTokens != nil:
		userMax = *req.MaxCompletionTokens
	}
	maxTokens := userMax
	if maxTokens == 0 {
		maxTokens = t.MaxTokensDefault
	}
	if p.use("temperature") {
		ic.Temperature = req.Temperature
	}
	if p.use("top_p") {
		ic.TopP = req.TopP
	}
	if p.use("stop") && len(req.Stop) > 0 {
		ic.StopSequences = req.Stop
	}

	add := map[string]json.RawMessage{}
	if p.use("additionalModelRequestFields") {
		var extra map[string]json.RawMessage
		if json.Unmarshal(req.Extra["additionalModelRequestFields"], &extra) != nil {
			return nil, NewError(400, "invalid_request_error", "llmgate: additionalModelRequestFields must be an object", "additionalModelRequestFields")
		}
		for k, v := range extra {
			add[k] = v
		}
	}
	if p.use("top_k") {
		switch family {
		case "anthropic", "mistral":
			add["top_k"] = req.Extra["top_k"]
		case "nova":
			add["inferenceConfig"], _ = json.Marshal(map[string]json.RawMessage{"topK": req.Extra["top_k"]})
		}
	}
	thinking := false
	if p.use("reasoning_effort") && req.ReasoningEffort != "" && req.ReasoningEffort != "none" {
		b, ok := anthropicThinkingBudget[req.ReasoningEffort]
		if !ok {
			return nil, NewError(400, "invalid_request_error", fmt.Sprintf("llmgate: reasoning_effort %q not supported by provider bedrock (use minimal, low, medium or high)", req.ReasoningEffort), "reasoning_effort")
		}
		add["thinking"], _ = json.Marshal(map[string]any{"type": "enabled", "budget_tokens": b})
		thinking = true
		if userMax == 0 && maxTokens <= b {
			maxTokens = b + anthropicDefaultMaxTokens
		}
	}
	if _, ok := add["thinking"]; ok {
		thinking = true
	}
	if maxTokens > 0 {
		ic.MaxTokens = &maxTokens
	}
	if ic.MaxTokens != nil || ic.Temperature != nil || ic.TopP != nil || len(ic.StopSequences) > 0 {
		out.InferenceConfig = ic
	}
	if len(add) > 0 {
		out.AdditionalModelRequestFields = add
	}

	var tc brkToolConfig
	if p.use("tools") {
		for _, tl := range req.Tools {
			if tl.Type != "" && tl.Type != "function" {
				return nil, NewError(400, "invalid_request_error", fmt.Sprintf("llmgate: tool type %q not supported by provider bedrock", tl.Type), "tools")
			}
			var spec brkToolSpec
			spec.Name, spec.Description = tl.Function.Name, tl.Function.Description
			spec.InputSchema.JSON = tl.Function.Parameters
			if len(spec.InputSchema.JSON) == 0 || string(spec.InputSchema.JSON) == "null" {
				spec.InputSchema.JSON = json.RawMessage(`{"type":"object","properties":{}}`)
			}
			tc.Tools = append(tc.Tools, brkTool{ToolSpec: spec})
		}
	}
	if p.use("tool_choice") {
		choice, e := anthropicToolChoice(req.ToolChoice)
		if e != nil {
			return nil, e
		}
		var rawChoice json.RawMessage
		switch choice.Type {
		case "auto":
			rawChoice = json.RawMessage(`{"auto":{}}`)
		case "any":
			rawChoice = json.RawMessage(`{"any":{}}`)
		case "tool":
			rawChoice, _ = json.Marshal(map[string]any{"tool": map[string]string{"name": choice.Name}})
		}
		if rawChoice != nil && !bedrockToolChoiceSupported(family) && choice.Type != "auto" {
			if !t.DropParams {
				return nil, NewError(400, "invalid_request_error", fmt.Sprintf("llmgate: param tool_choice (%s) not supported by bedrock model %s; set drop_params: true to drop it", choice.Type, model), "tool_choice")
			}
			rawChoice = nil
		}
		if bedrockToolChoiceSupported(family) {
			tc.ToolChoice = rawChoice
		}
	}
	if p.use("response_format") && req.ResponseFormat != nil && req.ResponseFormat.Type != "text" && req.ResponseFormat.Type != "" {
		var spec brkToolSpec
		spec.Name = anthropicJSONToolName
		spec.InputSchema.JSON = json.RawMessage(`{"type":"object","additionalProperties":true,"properties":{}}`)
		if js := req.ResponseFormat.JSONSchema; js != nil && len(js.Schema) > 0 && string(js.Schema) != "null" {
			spec.InputSchema.JSON = js.Schema
		}
		tc.Tools = append(tc.Tools, brkTool{ToolSpec: spec})
		if bedrockToolChoiceSupported(family) && !thinking {
			tc.ToolChoice = json.RawMessage(`{"tool":{"name":"` + anthropicJSONToolName + `"}}`)
		}
	}
	if len(tc.Tools) > 0 {
		out.ToolConfig = &tc
	}

	b, merr := json.Marshal(out)
	if merr != nil {
		return nil, fmt.Errorf("bedrock: encode request: %w", merr)
	}
	action, accept := "converse", "application/json"
	if t.Stream {
		action, accept = "converse-stream", "application/vnd.amazon.eventstream"
	}
	return &UpstreamRequest{Method: http.MethodPost, Path: bedrockModelPath(model, action),
		Headers: map[string]string{"content-type": "application/json", "accept": accept}, Body: b}, nil
}

func bedrockMessages(in []Message) ([]brkBlock, []brkMessage, *Error) {
	var system []brkBlock
	var out []brkMessage
	add := func(role string, blocks []brkBlock) {
		if len(blocks) == 0 {
			return
		}
		if n := len(out); n > 0 && out[n-1].Role == role {
			out[n-1].Content = append(out[n-1].Content, blocks...)
			return
		}
		out = append(out, brkMessage{Role: role, Content: blocks})
	}
	text := func(c Content) []brkBlock {
		var bs []brkBlock
		for _, a := range anthropicTextBlocks(c) {
			bs = append(bs, brkBlock{Text: a.Text})
		}
		return bs
	}
	for i, m := range in {
		switch m.Role {
		case "system", "developer":
			system = append(system, text(m.Content)...)
		case "user":
			if !m.Content.IsParts {
				add("user", text(m.Content))
				continue
			}
			var bs []brkBlock
			for _, part := range m.Content.Parts {
				switch part.Type {
				case "text":
					if part.Text != "" {
						bs = append(bs, brkBlock{Text: strPtr(part.Text)})
					}
				case "image_url":
					if part.ImageURL == nil {
						return nil, nil, NewError(400, "invalid_request_error", fmt.Sprintf("llmgate: messages[%d]: image_url part without url", i), "messages")
					}
					media, data, ok := splitDataURL(part.ImageURL.URL)
					if !ok || media == "" {
						return nil, nil, NewError(400, "invalid_request_error", fmt.Sprintf("llmgate: messages[%d]: provider bedrock takes images as base64 data: URLs only", i), "messages")
					}
					format, ok := strings.CutPrefix(media, "image/")
					if format == "jpg" {
						format = "jpeg"
					}
					if !ok || (format != "png" && format != "jpeg" && format != "gif" && format != "webp") {
						return nil, nil, NewError(400, "invalid_request_error", fmt.Sprintf("llmgate: messages[%d]: image type %q not supported by provider bedrock (png, jpeg, gif, webp)", i, media), "messages")
					}
					img := &brkImage{Format: format}
					img.Source.Bytes = data
					bs = append(bs, brkBlock{Image: img})
				default:
					return nil, nil, NewError(400, "invalid_request_error", fmt.Sprintf("llmgate: messages[%d]: content part type %q not supported by provider bedrock", i, part.Type), "messages")
				}
			}
			add("user", bs)
		case "assistant":
			bs := text(m.Content)
			for _, tcall := range m.ToolCalls {
				args := json.RawMessage(strings.TrimSpace(tcall.Function.Arguments))
				if len(args) == 0 {
					args = json.RawMessage(`{}`)
				} else if !json.Valid(args) {
					return nil, nil, NewError(400, "invalid_request_error", fmt.Sprintf("llmgate: messages[%d].tool_calls: arguments of %q are not valid JSON", i, tcall.Function.Name), "messages")
				}
				bs = append(bs, brkBlock{ToolUse: &brkToolUse{ToolUseID: tcall.ID, Name: tcall.Function.Name, Input: args}})
			}
			add("assistant", bs)
		case "tool", "function":
			id := m.ToolCallID
			if id == "" {
				id = m.Name
			}
			res := &brkToolResult{ToolUseID: id, Content: text(m.Content)}
			if len(res.Content) == 0 {
				res.Content = []brkBlock{{Text: strPtr(".")}}
			}
			add("user", []brkBlock{{ToolResult: res}})
		default:
			return nil, nil, NewError(400, "invalid_request_error", fmt.Sprintf("llmgate: messages[%d]: role %q not supported by provider bedrock", i, m.Role), "messages")
		}
	}
	if len(out) == 0 {
		return nil, nil, NewError(400, "invalid_request_error", "llmgate: bedrock needs at least one user or assistant message", "messages")
	}
	return system, out, nil
}

type brkResponse struct {
	Output *struct {
		Message *struct {
			Role    string     `json:"role"`
			Content []brkBlock `json:"content"`
		} `json:"message"`
	} `json:"output"`
	StopReason string   `json:"stopReason"`
	Usage      brkUsage `json:"usage"`
}

type brkUsage struct {
	InputTokens           int `json:"inputTokens"`
	OutputTokens          int `json:"outputTokens"`
	TotalTokens           int `json:"totalTokens"`
	CacheReadInputTokens  int `json:"cacheReadInputTokens"`
	CacheWriteInputTokens int `json:"cacheWriteInputTokens"`
}

func (u brkUsage) openai() Usage {
	return cacheUsage(u.InputTokens, u.CacheReadInputTokens, u.CacheWriteInputTokens, u.OutputTokens)
}

// bedrockFinishReason maps a Converse stopReason to an OpenAI finish_reason.
func bedrockFinishReason(s string) string {
	switch s {
	case "max_tokens", "model_context_window_exceeded":
		return "length"
	case "tool_use":
		return "tool_calls"
	case "guardrail_intervened", "content_filtered":
		return "content_filter"
	}
	return "stop" // end_turn, stop_sequence, unknown
}

func bedrockID(b []byte) string {
	h := fnv.New64a()
	h.Write(b)
	return fmt.Sprintf("chatcmpl-%016x", h.Sum64())
}

// Response implements Translator.
func (bedrockTranslator) Response(ep Endpoint, body []byte, t Target) (*Response, error) {
	switch ep {
	case Chat:
		return bedrockChatResponse(body, t)
	case Embeddings:
		return bedrockEmbeddingResponse(body, t)
	}
	return nil, NewError(400, "invalid_request_error", fmt.Sprintf("llmgate: endpoint %s not supported by provider bedrock", ep), "")
}

func bedrockChatResponse(body []byte, t Target) (*Response, error) {
	var r brkResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, NewError(502, "internal_server_error", "llmgate: bedrock returned an invalid Converse response: "+err.Error(), "")
	}
	if r.Output == nil || r.Output.Message == nil {
		return nil, NewError(502, "internal_server_error", "llmgate: bedrock Converse response has no output.message", "")
	}
	var text, reasoning strings.Builder
	var calls []ToolCall
	for _, b := range r.Output.Message.Content {
		switch {
		case b.Text != nil:
			text.WriteString(*b.Text)
		case b.ToolUse != nil:
			args := string(b.ToolUse.Input)
			if args == "" || args == "null" {
				args = "{}"
			}
			calls = append(calls, ToolCall{ID: b.ToolUse.ToolUseID, Type: "function", Function: FunctionCall{Name: b.ToolUse.Name, Arguments: args}})
		case b.ReasoningContent != nil && b.ReasoningContent.ReasoningText != nil:
			reasoning.WriteString(b.ReasoningContent.ReasoningText.Text)
		}
	}
	finish := bedrockFinishReason(r.StopReason)
	msg := ResponseMessage{Role: "assistant", ToolCalls: calls, ReasoningContent: reasoning.String()}
	if len(calls) == 1 && calls[0].Function.Name == anthropicJSONToolName {
		msg.Content, msg.ToolCalls, finish = strPtr(calls[0].Function.Arguments), nil, "stop"
	} else if text.Len() > 0 {
		msg.Content = strPtr(text.String())
	}
	u := r.Usage.openai()
	out := ChatResponse{ID: bedrockID(body), Object: "chat.completion", Model: t.Model,
		Choices: []Choice{{Index: 0, Message: msg, FinishReason: finish}}, Usage: UsageObjectFrom(u)}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("bedrock: encode response: %w", err)
	}
	return &Response{Body: b, Usage: u, FinishReason: finish}, nil
}

// bedrockStatusForException is the HTTP status AWS documents for each
// Bedrock Runtime exception (used for exceptions inside a 200 stream).
func bedrockStatusForException(name string) int {
	n := strings.ToLower(strings.TrimSuffix(strings.TrimSuffix(name, "Exception"), "exception"))
	switch n {
	case "validation":
		return 400
	case "accessdenied", "unrecognizedclient", "expiredtoken", "invalidsignature":
		return 403
	case "resourcenotfound":
		return 404
	case "modeltimeout":
		return 408
	case "conflict":
		return 409
	case "modelerror":
		return 424
	case "throttling", "modelnotready", "toomanyrequests":
		return 429
	case "servicequotaexceeded":
		return 429
	case "internalserver", "modelstreamerror":
		return 500
	case "serviceunavailable":
		return 503
	}
	return 500
}

func bedrockError(status int, excType, msg string, body []byte, headers map[string]string) *Error {
	if status < 400 {
		status = bedrockStatusForException(excType)
	}
	if msg == "" {
		msg = providerBodySnippet(body, status)
	}
	e := NewError(status, TypeForStatus(status), msg, "")
	e.Class = ClassifyMessage(status, msg)
	if strings.EqualFold(strings.TrimSuffix(excType, "Exception"), "throttling") || strings.EqualFold(strings.TrimSuffix(excType, "Exception"), "serviceQuotaExceeded") {
		e.Class = ErrRateLimit
	}
	e.RetryAfter = retryAfter(headers)
	return e
}

// Error implements Translator. Bedrock sends {"message": "..."} (sometimes
// "Message") with the exception name in x-amzn-ErrorType
// ("ValidationException:http://internal.amazon.com/coral/...").
func (bedrockTranslator) Error(status int, headers map[string]string, body []byte) *Error {
	var eb struct {
		Message  string `json:"message"`
		Message2 string `json:"Message"`
	}
	_ = json.Unmarshal(body, &eb)
	msg := eb.Message
	if msg == "" {
		msg = eb.Message2
	}
	excType, _, _ := strings.Cut(header(headers, "x-amzn-errortype"), ":")
	return bedrockError(status, excType, msg, body, headers)
}
