package translator

// Ollama. "ollama_chat/<model>" uses POST /api/chat with the messages.
// "ollama/<model>" follows LiteLLM: chat requests go to POST /api/generate with
// one prompt built from the messages ("### User:\n…\n\n### System:\n…\n\n
// ### Assistant:\n…\n\n", consecutive user/tool messages merged, images
// collected into "images"), and tools are not offered. Both use POST /api/embed
// for embeddings. Ollama streams unless told otherwise, so "stream" is always sent.

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/llmgate/llmgate/internal/provider"
)

// OllamaDefaultAPIBase is Ollama's api_base.
const OllamaDefaultAPIBase = "http://localhost:11434"

// ollamaGenerateParams are the OpenAI params LiteLLM supports for ollama/ (/api/generate).
var ollamaGenerateParams = map[string]bool{
	"temperature": true, "top_p": true, "max_tokens": true, "max_completion_tokens": true, "stop": true,
	"seed": true, "frequency_penalty": true, "response_format": true, "reasoning_effort": true,
}

// ollamaChatParams are the OpenAI params supported for ollama_chat/ (/api/chat).
var ollamaChatParams = map[string]bool{
	"temperature": true, "top_p": true, "max_tokens": true, "max_completion_tokens": true, "stop": true,
	"seed": true, "frequency_penalty": true, "response_format": true, "reasoning_effort": true,
	"tools": true, "tool_choice": true, "parallel_tool_calls": true,
}

var ollamaEmbeddingParams = map[string]bool{"dimensions": true}

// ollamaOptions are Ollama model options a client may send at the top level;
// they are moved into "options" (LiteLLM's OllamaConfig).
var ollamaOptions = []string{
	"mirostat", "mirostat_eta", "mirostat_tau", "num_ctx", "num_gqa", "num_gpu", "num_thread", "repeat_last_n",
	"repeat_penalty", "tfs_z", "top_k", "min_p", "typical_p", "num_keep", "presence_penalty",
}

type ollamaTranslator struct{ chat bool }

func init() {
	Register(provider.WireOllama, ollamaTranslator{})
	Register(provider.WireOllamaChat, ollamaTranslator{chat: true})
}

func (o ollamaTranslator) name() string {
	if o.chat {
		return "ollama_chat"
	}
	return "ollama"
}

type ollamaToolCall struct {
	Function struct {
		Index     *int            `json:"index,omitempty"`
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	} `json:"function"`
}

type ollamaMessage struct {
	Role      string           `json:"role"`
	Content   string           `json:"content"`
	Thinking  string           `json:"thinking,omitempty"`
	Images    []string         `json:"images,omitempty"`
	ToolCalls []ollamaToolCall `json:"tool_calls,omitempty"`
	ToolName  string           `json:"tool_name,omitempty"`
}

type ollamaRequest struct {
	Model     string                     `json:"model"`
	Messages  []ollamaMessage            `json:"messages,omitempty"`
	Prompt    *string                    `json:"prompt,omitempty"`
	Images    []string                   `json:"images,omitempty"`
	Tools     []Tool                     `json:"tools,omitempty"`
	Format    json.RawMessage            `json:"format,omitempty"`
	Options   map[string]json.RawMessage `json:"options,omitempty"`
	Stream    bool                       `json:"stream"`
	Think     json.RawMessage            `json:"think,omitempty"`
	KeepAlive json.RawMessage            `json:"keep_alive,omitempty"`
}

type ollamaResponse struct {
	Model      string          `json:"model"`
	CreatedAt  string          `json:"created_at"`
	Message    *ollamaMessage  `json:"message"`
	Response   string          `json:"response"`
	Thinking   string          `json:"thinking"`
	Done       bool            `json:"done"`
	DoneReason string          `json:"done_reason"`
	PromptEval float64         `json:"prompt_eval_count"`
	Eval       float64         `json:"eval_count"`
	Error      json.RawMessage `json:"error"`
}

func (o ollamaTranslator) Request(ep Endpoint, body []byte, t Target) (*UpstreamRequest, error) {
	base := apiBasePath(t.APIBase)
	switch ep {
	case Chat:
		supported := ollamaGenerateParams
		if o.chat {
			supported = ollamaChatParams
		}
		r, err := prepareChat(body, t, o.name(), supported)
		if err != nil {
			return nil, err
		}
		req, err := o.build(r, t)
		if err != nil {
			return nil, err
		}
		out, err := json.Marshal(req)
		if err != nil {
			return nil, fmt.Errorf("%s: encode request: %w", o.name(), err)
		}
		path := base + "/api/generate"
		if o.chat {
			path = base + "/api/chat"
		}
		if strings.HasSuffix(base, "/api/generate") || strings.HasSuffix(base, "/api/chat") {
			path = base
		}
		return &UpstreamRequest{Method: "POST", Path: path, Headers: map[string]string{"content-type": "application/json"}, Body: out}, nil
	case Embeddings:
		r, err := prepareEmbedding(body, t, o.name(), ollamaEmbeddingParams)
		if err != nil {
			return nil, err
		}
		req := map[string]any{"model": t.Model, "input": []string(r.Input)}
		if r.Dimensions != nil {
			req["dimensions"] = *r.Dimensions
		}
		out, err := json.Marshal(req)
		if err != nil {
			return nil, fmt.Errorf("%s: encode embeddings request: %w", o.name(), err)
		}
		return &UpstreamRequest{Method: "POST", Path: base + "/api/embed", Headers: map[string]string{"content-type": "application/json"}, Body: out}, nil
	}
	return nil, unsupportedEndpoint(o.name(), ep)
}

func ollamaRaw(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// ollamaImage returns the base64 payload of a data: URL image. Remote images
// would have to be fetched (LiteLLM downloads them); the gateway does no I/O
// while translating, so they are refused.
func ollamaImage(o ollamaTranslator, u string, i int) (string, error) {
	if _, data, ok := splitDataURL(u); ok {
		return data, nil
	}
	return "", NewError(400, "invalid_request_error",
		fmt.Sprintf("%s: messages[%d]: only data: URL images are supported (remote image URLs are not fetched)", o.name(), i), "messages")
}

func (o ollamaTranslator) build(r *ChatRequest, t Target) (*ollamaRequest, error) {
	req := &ollamaRequest{Model: t.Model, Stream: t.Stream || r.Stream, Options: map[string]json.RawMessage{}}
	if mt := maxTokensOf(r); mt != nil {
		req.Options["num_predict"] = ollamaRaw(*mt)
	}
	if r.Temperature != nil {
		req.Options["temperature"] = ollamaRaw(*r.Temperature)
	}
	if r.TopP != nil {
		req.Options["top_p"] = ollamaRaw(*r.TopP)
	}
	if r.Seed != nil {
		req.Options["seed"] = ollamaRaw(*r.Seed)
	}
	if r.FrequencyPenalty != nil {
		req.Options["frequency_penalty"] = ollamaRaw(*r.FrequencyPenalty)
	}
	if len(r.Stop) > 0 {
		req.Options["stop"] = ollamaRaw([]string(r.Stop))
	}
	for _, k := range ollamaOptions {
		if v, ok := r.Extra[k]; ok && rawSet(v) {
			req.Options[k] = v
		}
	}
	if v, ok := r.Extra["keep_alive"]; ok && rawSet(v) {
		req.KeepAlive = v
	}
	if len(req.Options) == 0 {
		req.Options = nil
	}
	if rf := r.ResponseFormat; rf != nil {
		switch rf.Type {
		case "json_object":
			req.Format = json.RawMessage(`"json"`)
		case "json_schema":
			if rf.JSONSchema != nil && rawSet(rf.JSONSchema.Schema) {
				req.Format = rf.JSONSchema.Schema
			} else {
				req.Format = json.RawMessage(`"json"`)
			}
		}
	}
	if r.ReasoningEffort != "" {
		if strings.HasPrefix(t.Model, "gpt-oss") {
			req.Think = ollamaRaw(r.ReasoningEffort)
		} else {
			req.Think = ollamaRaw(r.ReasoningEffort == "low" || r.ReasoningEffort == "medium" || r.ReasoningEffort == "high")
		}
	}
	if !o.chat {
		prompt, images, err := o.prompt(r.Messages)
		if err != nil {
			return nil, err
		}
		req.Prompt, req.Images = &prompt, images
		return req, nil
	}
	names := toolNames(r.Messages)
	for i, m := range r.Messages {
		om := ollamaMessage{Role: m.Role, Content: m.Content.AsText()}
		switch m.Role {
		case "developer":
			om.Role = "system"
		case "system", "user":
		case "assistant":
			om.Thinking = m.ReasoningContent
			for _, tc := range m.ToolCalls {
				var c ollamaToolCall
				c.Function.Name = tc.Function.Name
				args := strings.TrimSpace(tc.Function.Arguments)
				if args == "" {
					args = "{}"
				}
				if !json.Valid([]byte(args)) {
					return nil, NewError(400, "invalid_request_error", fmt.Sprintf("%s: messages[%d]: tool call arguments are not valid JSON", o.name(), i), "messages")
				}
				c.Function.Arguments = json.RawMessage(args)
				om.ToolCalls = append(om.ToolCalls, c)
			}
		case "tool", "function":
			om.Role = "tool"
			om.ToolName = names[m.ToolCallID]
			if om.ToolName == "" {
				om.ToolName = m.Name
			}
		default:
			return nil, NewError(400, "invalid_request_error", fmt.Sprintf("%s: messages[%d]: unknown role %q", o.name(), i, m.Role), "messages")
		}
		if m.Content.IsParts {
			for _, p := range m.Content.Parts {
				switch p.Type {
				case "text":
				case "image_url":
					if p.ImageURL == nil {
						return nil, NewError(400, "invalid_request_error", fmt.Sprintf("%s: messages[%d]: image_url part without a url", o.name(), i), "messages")
					}
					img, err := ollamaImage(o, p.ImageURL.URL, i)
					if err != nil {
						return nil, err
					}
					om.Images = append(om.Images, img)
				default:
					return nil, NewError(400, "invalid_request_error", fmt.Sprintf("%s: messages[%d]: content part type %q is not supported", o.name(), i, p.Type), "messages")
				}
			}
		}
		req.Messages = append(req.Messages, om)
	}
	req.Tools = r.Tools // tool_choice has no Ollama equivalent and is dropped, as LiteLLM does.
	return req, nil
}

// prompt builds the /api/generate prompt as LiteLLM's ollama_pt does.
func (o ollamaTranslator) prompt(msgs []Message) (string, []string, error) {
	var b strings.Builder
	var images []string
	isUser := func(r string) bool { return r == "user" || r == "tool" || r == "function" }
	i := 0
	for i < len(msgs) {
		start := i
		var user strings.Builder
		for i < len(msgs) && isUser(msgs[i].Role) {
			c := msgs[i].Content
			if c.IsParts {
				for _, p := range c.Parts {
					switch p.Type {
					case "text":
						user.WriteString(p.Text)
					case "image_url":
						if p.ImageURL != nil {
							img, err := ollamaImage(o, p.ImageURL.URL, i)
							if err != nil {
								return "", nil, err
							}
							images = append(images, img)
						}
					}
				}
			} else {
				user.WriteString(c.Text)
			}
			i++
		}
		if user.Len() > 0 {
			fmt.Fprintf(&b, "### User:\n%s\n\n", user.String())
		}
		var sys strings.Builder
		for i < len(msgs) && (msgs[i].Role == "system" || msgs[i].Role == "developer") {
			sys.WriteString(msgs[i].Content.AsText())
			i++
		}
		if sys.Len() > 0 {
			fmt.Fprintf(&b, "### System:\n%s\n\n", sys.String())
		}
		var asst strings.Builder
		for i < len(msgs) && msgs[i].Role == "assistant" {
			asst.WriteString(msgs[i].Content.AsText())
			if len(msgs[i].ToolCalls) > 0 {
				var calls []map[string]any
				for _, tc := range msgs[i].ToolCalls {
					var args any
					if err := json.Unmarshal([]byte(tc.Function.Arguments), &args); err != nil {
						return "", nil, NewError(400, "invalid_request_error", fmt.Sprintf("%s: messages[%d]: tool call arguments are not valid JSON", o.name(), i), "messages")
					}
					calls = append(calls, map[string]any{"id": tc.ID, "type": "function", "function": map[string]any{"name": tc.Function.Name, "arguments": args}})
				}
				js, _ := json.MarshalIndent(calls, "", "  ")
				asst.WriteString("Tool Calls: " + string(js))
			}
			i++
		}
		if asst.Len() > 0 {
			fmt.Fprintf(&b, "### Assistant:\n%s\n\n", asst.String())
		}
		if i == start {
			return "", nil, NewError(400, "invalid_request_error", fmt.Sprintf("%s: messages[%d]: unknown role %q", o.name(), i, msgs[i].Role), "messages")
		}
	}
	return b.String(), images, nil
}

// ollamaFinish maps done_reason; tool calls make it tool_calls.
func ollamaFinish(doneReason string, toolCalls bool) string {
	if toolCalls {
		return "tool_calls"
	}
	if doneReason == "length" {
		return "length"
	}
	return "stop"
}

// ollamaToolCalls converts Ollama tool calls (arguments as an object, no id)
// into OpenAI ones with stable synthesized ids.
func ollamaToolCalls(calls []ollamaToolCall, seed string, base int) []ToolCall {
	var out []ToolCall
	for i, c := range calls {
		args := strings.TrimSpace(string(c.Function.Arguments))
		if args == "" || args == "null" {
			args = "{}"
		} else if args[0] == '"' {
			// Some models return the arguments as a JSON string already.
			var s string
			if json.Unmarshal([]byte(args), &s) == nil {
				args = s
			}
		}
		idx := base + i
		out = append(out, ToolCall{Index: &idx, ID: stableID("call_", seed, fmt.Sprint(idx), c.Function.Name), Type: "function",
			Function: FunctionCall{Name: c.Function.Name, Arguments: args}})
	}
	return out
}

func (o ollamaTranslator) Response(ep Endpoint, body []byte, t Target) (*Response, error) {
	switch ep {
	case Chat:
		var or ollamaResponse
		if err := json.Unmarshal(body, &or); err != nil {
			return nil, NewError(502, "internal_server_error", fmt.Sprintf("%s: cannot parse response: %v", o.name(), err), "")
		}
		if rawSet(or.Error) {
			return nil, o.Error(500, nil, body)
		}
		id := stableID("chatcmpl-", or.CreatedAt, or.Model, string(body))
		msg := ResponseMessage{Role: "assistant"}
		var text string
		if or.Message != nil {
			text, msg.ReasoningContent = or.Message.Content, or.Message.Thinking
			msg.ToolCalls = ollamaToolCalls(or.Message.ToolCalls, id, 0)
			for i := range msg.ToolCalls {
				msg.ToolCalls[i].Index = nil
			}
		} else {
			text, msg.ReasoningContent = or.Response, or.Thinking
		}
		if text != "" || len(msg.ToolCalls) == 0 {
			msg.Content = strPtr(text)
		}
		fr := ollamaFinish(or.DoneReason, len(msg.ToolCalls) > 0)
		u := Usage{PromptTokens: int(or.PromptEval), CompletionTokens: int(or.Eval)}
		u.TotalTokens = u.PromptTokens + u.CompletionTokens
		model := or.Model
		if model == "" {
			model = t.Model
		}
		out := ChatResponse{ID: id, Object: "chat.completion", Created: parseTime(or.CreatedAt), Model: model,
			Choices: []Choice{{Index: 0, Message: msg, FinishReason: fr}}, Usage: UsageObjectFrom(u)}
		b, err := json.Marshal(out)
		if err != nil {
			return nil, fmt.Errorf("%s: encode response: %w", o.name(), err)
		}
		return &Response{Body: b, Usage: u, FinishReason: fr}, nil
	case Embeddings:
		var er struct {
			Model      string      `json:"model"`
			Embeddings [][]float64 `json:"embeddings"`
			PromptEval float64     `json:"prompt_eval_count"`
		}
		if err := json.Unmarshal(body, &er); err != nil {
			return nil, NewError(502, "internal_server_error", fmt.Sprintf("%s: cannot parse embed response: %v", o.name(), err), "")
		}
		resp := EmbeddingResponse{Object: "list", Data: []EmbeddingData{}, Model: t.Model}
		for i, v := range er.Embeddings {
			resp.Data = append(resp.Data, EmbeddingData{Object: "embedding", Index: i, Embedding: nonNilFloats(v)})
		}
		u := Usage{PromptTokens: int(er.PromptEval), TotalTokens: int(er.PromptEval)}
		resp.Usage = UsageObjectFrom(u)
		b, err := json.Marshal(resp)
		if err != nil {
			return nil, fmt.Errorf("%s: encode embeddings response: %w", o.name(), err)
		}
		return &Response{Body: b, Usage: u}, nil
	}
	return nil, unsupportedEndpoint(o.name(), ep)
}

func (o ollamaTranslator) Error(status int, headers map[string]string, body []byte) *Error {
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && rawSet(e.Error) {
		var s string
		if json.Unmarshal(e.Error, &s) != nil {
			s = string(e.Error)
		}
		return providerError(o.name(), status, headers, s)
	}
	return providerError(o.name(), status, headers, truncateBody(body))
}
