package translator

// Cohere Chat v2 (POST /v2/chat) and Embed v2 (POST /v2/embed).

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/llmgate/llmgate/internal/provider"
)

// CohereDefaultAPIBase is Cohere's api_base.
const CohereDefaultAPIBase = "https://api.cohere.com"

var cohereSupportedParams = map[string]bool{
	"temperature": true, "top_p": true, "max_tokens": true, "max_completion_tokens": true, "stop": true,
	"seed": true, "frequency_penalty": true, "presence_penalty": true, "tools": true, "tool_choice": true,
	"response_format": true, "parallel_tool_calls": true, "logprobs": true,
}

var cohereEmbeddingParams = map[string]bool{"dimensions": true}

// cohereExtras are Cohere-specific params passed through when a client sends them.
var cohereExtras = []string{"k", "documents", "citation_options", "safety_mode", "strict_tools", "thinking"}

type cohereTranslator struct{}

func init() { Register(provider.WireCohere, cohereTranslator{}) }

type cohereMessage struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content,omitempty"`
	ToolCalls  []ToolCall      `json:"tool_calls,omitempty"`
	ToolCallID string          `json:"tool_call_id,omitempty"`
	ToolPlan   string          `json:"tool_plan,omitempty"`
}

type cohereResponseFormat struct {
	Type       string          `json:"type"`
	JSONSchema json.RawMessage `json:"json_schema,omitempty"`
}

type cohereRequest struct {
	Model            string                     `json:"model"`
	Messages         []cohereMessage            `json:"messages"`
	Tools            []Tool                     `json:"tools,omitempty"`
	ToolChoice       string                     `json:"tool_choice,omitempty"`
	Stream           bool                       `json:"stream"`
	MaxTokens        *int                       `json:"max_tokens,omitempty"`
	StopSequences    []string                   `json:"stop_sequences,omitempty"`
	Temperature      *float64                   `json:"temperature,omitempty"`
	P                *float64                   `json:"p,omitempty"`
	Seed             *int64                     `json:"seed,omitempty"`
	FrequencyPenalty *float64                   `json:"frequency_penalty,omitempty"`
	PresencePenalty  *float64                   `json:"presence_penalty,omitempty"`
	ResponseFormat   *cohereResponseFormat      `json:"response_format,omitempty"`
	Logprobs         *bool                      `json:"logprobs,omitempty"`
	Extra            map[string]json.RawMessage `json:"-"`
}

type cohereContentItem struct {
	Type     string `json:"type"`
	Text     string `json:"text,omitempty"`
	Thinking string `json:"thinking,omitempty"`
}

type cohereUsage struct {
	BilledUnits *struct {
		InputTokens  float64 `json:"input_tokens"`
		OutputTokens float64 `json:"output_tokens"`
	} `json:"billed_units,omitempty"`
	Tokens *struct {
		InputTokens  float64 `json:"input_tokens"`
		OutputTokens float64 `json:"output_tokens"`
	} `json:"tokens,omitempty"`
	CachedTokens float64 `json:"cached_tokens"`
}

type cohereResponse struct {
	ID           string `json:"id"`
	FinishReason string `json:"finish_reason"`
	Message      struct {
		Role      string              `json:"role"`
		Content   []cohereContentItem `json:"content"`
		ToolPlan  string              `json:"tool_plan"`
		ToolCalls []ToolCall          `json:"tool_calls"`
	} `json:"message"`
	Usage *cohereUsage `json:"usage"`
}

func (cohereTranslator) Request(ep Endpoint, body []byte, t Target) (*UpstreamRequest, error) {
	base := apiBasePath(t.APIBase)
	switch ep {
	case Chat:
		r, err := prepareChat(body, t, "cohere", cohereSupportedParams)
		if err != nil {
			return nil, err
		}
		req, err := cohereBuild(r, t)
		if err != nil {
			return nil, err
		}
		out, err := json.Marshal(req)
		if err != nil {
			return nil, fmt.Errorf("cohere: encode request: %w", err)
		}
		if len(req.Extra) > 0 {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(out, &m); err != nil {
				return nil, fmt.Errorf("cohere: encode request: %w", err)
			}
			for k, v := range req.Extra {
				m[k] = v
			}
			if out, err = json.Marshal(m); err != nil {
				return nil, fmt.Errorf("cohere: encode request: %w", err)
			}
		}
		return &UpstreamRequest{Method: "POST", Path: base + "/v2/chat", Headers: jsonHeaders(req.Stream), Body: out}, nil
	case Embeddings:
		r, err := prepareEmbedding(body, t, "cohere", cohereEmbeddingParams)
		if err != nil {
			return nil, err
		}
		inputType := r.InputType
		if inputType == "" {
			inputType = "search_document"
		}
		req := map[string]any{"model": t.Model, "texts": []string(r.Input), "input_type": inputType, "embedding_types": []string{"float"}}
		if r.Dimensions != nil {
			req["output_dimension"] = *r.Dimensions
		}
		out, err := json.Marshal(req)
		if err != nil {
			return nil, fmt.Errorf("cohere: encode embeddings request: %w", err)
		}
		return &UpstreamRequest{Method: "POST", Path: base + "/v2/embed", Headers: jsonHeaders(false), Body: out}, nil
	case Rerank:
		// The client's body is Cohere's rerank request already (D130).
		out, err := rerankBody(body, t)
		if err != nil {
			return nil, err
		}
		return &UpstreamRequest{Method: "POST", Path: base + "/v2/rerank", Headers: jsonHeaders(false), Body: out}, nil
	}
	return nil, unsupportedEndpoint("cohere", ep)
}

func cohereText(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

func cohereBuild(r *ChatRequest, t Target) (*cohereRequest, error) {
	req := &cohereRequest{Model: t.Model, Stream: t.Stream || r.Stream, MaxTokens: maxTokensOf(r), StopSequences: r.Stop,
		Temperature: r.Temperature, P: r.TopP, Seed: r.Seed, FrequencyPenalty: r.FrequencyPenalty, PresencePenalty: r.PresencePenalty,
		Logprobs: r.Logprobs}
	for i, m := range r.Messages {
		switch m.Role {
		case "system", "developer":
			req.Messages = append(req.Messages, cohereMessage{Role: "system", Content: cohereText(m.Content.AsText())})
		case "user":
			cm := cohereMessage{Role: "user"}
			if m.Content.IsParts {
				var parts []map[string]any
				for _, p := range m.Content.Parts {
					switch p.Type {
					case "text":
						parts = append(parts, map[string]any{"type": "text", "text": p.Text})
					case "image_url":
						if p.ImageURL == nil {
							return nil, NewError(400, "invalid_request_error", fmt.Sprintf("messages[%d]: image_url part without a url", i), "messages")
						}
						img := map[string]any{"url": p.ImageURL.URL}
						if p.ImageURL.Detail != "" {
							img["detail"] = p.ImageURL.Detail
						}
						parts = append(parts, map[string]any{"type": "image_url", "image_url": img})
					default:
						return nil, NewError(400, "invalid_request_error", fmt.Sprintf("messages[%d]: content part type %q is not supported by cohere", i, p.Type), "messages")
					}
				}
				cm.Content, _ = json.Marshal(parts)
			} else {
				cm.Content = cohereText(m.Content.Text)
			}
			req.Messages = append(req.Messages, cm)
		case "assistant":
			cm := cohereMessage{Role: "assistant"}
			if text := m.Content.AsText(); text != "" {
				cm.Content = cohereText(text)
			}
			for _, tc := range m.ToolCalls {
				tc.Index = nil
				if tc.Type == "" {
					tc.Type = "function"
				}
				cm.ToolCalls = append(cm.ToolCalls, tc)
			}
			if len(cm.ToolCalls) > 0 && m.ReasoningContent != "" {
				cm.ToolPlan = m.ReasoningContent
			}
			req.Messages = append(req.Messages, cm)
		case "tool", "function":
			req.Messages = append(req.Messages, cohereMessage{Role: "tool", ToolCallID: m.ToolCallID, Content: cohereText(m.Content.AsText())})
		default:
			return nil, NewError(400, "invalid_request_error", fmt.Sprintf("messages[%d]: unknown role %q", i, m.Role), "messages")
		}
	}
	req.Tools = r.Tools
	if rawSet(r.ToolChoice) {
		var s string
		if json.Unmarshal(r.ToolChoice, &s) == nil {
			switch s {
			case "required":
				req.ToolChoice = "REQUIRED"
			case "none":
				req.ToolChoice = "NONE"
			case "auto":
			default:
				return nil, NewError(400, "invalid_request_error", fmt.Sprintf("cohere: tool_choice %q is not one of none, auto, required", s), "tool_choice")
			}
		} else {
			// A named function: Cohere has no such choice, so require a tool call
			// and offer only that function.
			var obj struct {
				Function struct {
					Name string `json:"name"`
				} `json:"function"`
			}
			if err := json.Unmarshal(r.ToolChoice, &obj); err != nil || obj.Function.Name == "" {
				return nil, NewError(400, "invalid_request_error", "cohere: tool_choice is not valid", "tool_choice")
			}
			req.ToolChoice = "REQUIRED"
			var only []Tool
			for _, tl := range req.Tools {
				if tl.Function.Name == obj.Function.Name {
					only = append(only, tl)
				}
			}
			req.Tools = only
		}
	}
	if rf := r.ResponseFormat; rf != nil {
		switch rf.Type {
		case "json_object":
			req.ResponseFormat = &cohereResponseFormat{Type: "json_object"}
		case "json_schema":
			req.ResponseFormat = &cohereResponseFormat{Type: "json_object"}
			if rf.JSONSchema != nil && rawSet(rf.JSONSchema.Schema) {
				req.ResponseFormat.JSONSchema = rf.JSONSchema.Schema
			}
		case "text", "":
		default:
			return nil, NewError(400, "invalid_request_error", fmt.Sprintf("cohere: response_format type %q is not supported", rf.Type), "response_format")
		}
	}
	for _, k := range cohereExtras {
		if v, ok := r.Extra[k]; ok && rawSet(v) {
			if req.Extra == nil {
				req.Extra = map[string]json.RawMessage{}
			}
			req.Extra[k] = v
		}
	}
	return req, nil
}

// cohereFinish maps Cohere's finish_reason to OpenAI's.
func cohereFinish(r string) string {
	switch r {
	case "":
		return ""
	case "MAX_TOKENS", "ERROR_LIMIT":
		return "length"
	case "TOOL_CALL":
		return "tool_calls"
	case "ERROR_TOXIC":
		return "content_filter"
	}
	return "stop" // COMPLETE, STOP_SEQUENCE, ERROR, TIMEOUT
}

func cohereUsageFrom(u *cohereUsage) Usage {
	if u == nil {
		return Usage{}
	}
	var out Usage
	switch {
	case u.Tokens != nil:
		out.PromptTokens, out.CompletionTokens = int(u.Tokens.InputTokens), int(u.Tokens.OutputTokens)
	case u.BilledUnits != nil:
		out.PromptTokens, out.CompletionTokens = int(u.BilledUnits.InputTokens), int(u.BilledUnits.OutputTokens)
	}
	out.CachedTokens = int(u.CachedTokens)
	out.TotalTokens = out.PromptTokens + out.CompletionTokens
	return out
}

func (cohereTranslator) Response(ep Endpoint, body []byte, t Target) (*Response, error) {
	if ep == Rerank {
		return &Response{Body: body, Usage: routeUsage(ep, body)}, nil
	}
	switch ep {
	case Chat:
		var cr cohereResponse
		if err := json.Unmarshal(body, &cr); err != nil {
			return nil, NewError(502, "internal_server_error", fmt.Sprintf("cohere: cannot parse chat response: %v", err), "")
		}
		var text, thinking strings.Builder
		for _, c := range cr.Message.Content {
			switch c.Type {
			case "text", "":
				text.WriteString(c.Text)
			case "thinking":
				thinking.WriteString(c.Thinking)
			}
		}
		msg := ResponseMessage{Role: "assistant", ReasoningContent: thinking.String()}
		if cr.Message.ToolPlan != "" && msg.ReasoningContent == "" {
			msg.ReasoningContent = cr.Message.ToolPlan
		}
		for _, tc := range cr.Message.ToolCalls {
			tc.Index = nil
			if tc.Type == "" {
				tc.Type = "function"
			}
			msg.ToolCalls = append(msg.ToolCalls, tc)
		}
		if text.Len() > 0 || len(msg.ToolCalls) == 0 {
			msg.Content = strPtr(text.String())
		}
		fr := cohereFinish(cr.FinishReason)
		if fr == "" {
			fr = "stop"
		}
		if fr == "stop" && len(msg.ToolCalls) > 0 {
			fr = "tool_calls"
		}
		id := cr.ID
		if id == "" {
			id = stableID("chatcmpl-", string(body))
		}
		u := cohereUsageFrom(cr.Usage)
		out := ChatResponse{ID: id, Object: "chat.completion", Model: t.Model,
			Choices: []Choice{{Index: 0, Message: msg, FinishReason: fr}}, Usage: UsageObjectFrom(u)}
		b, err := json.Marshal(out)
		if err != nil {
			return nil, fmt.Errorf("cohere: encode response: %w", err)
		}
		return &Response{Body: b, Usage: u, FinishReason: fr}, nil
	case Embeddings:
		var er struct {
			Embeddings json.RawMessage `json:"embeddings"`
			Meta       struct {
				BilledUnits struct {
					InputTokens float64 `json:"input_tokens"`
				} `json:"billed_units"`
			} `json:"meta"`
		}
		if err := json.Unmarshal(body, &er); err != nil {
			return nil, NewError(502, "internal_server_error", fmt.Sprintf("cohere: cannot parse embed response: %v", err), "")
		}
		// v2 returns {"float": [[...]]}; v1 returned a bare list.
		var vecs [][]float64
		var typed struct {
			Float [][]float64 `json:"float"`
		}
		if json.Unmarshal(er.Embeddings, &typed) == nil && typed.Float != nil {
			vecs = typed.Float
		} else if err := json.Unmarshal(er.Embeddings, &vecs); err != nil && rawSet(er.Embeddings) {
			return nil, NewError(502, "internal_server_error", fmt.Sprintf("cohere: cannot parse embeddings: %v", err), "")
		}
		resp := EmbeddingResponse{Object: "list", Data: []EmbeddingData{}, Model: t.Model}
		for i, v := range vecs {
			resp.Data = append(resp.Data, EmbeddingData{Object: "embedding", Index: i, Embedding: nonNilFloats(v)})
		}
		u := Usage{PromptTokens: int(er.Meta.BilledUnits.InputTokens)}
		u.TotalTokens = u.PromptTokens
		resp.Usage = UsageObjectFrom(u)
		b, err := json.Marshal(resp)
		if err != nil {
			return nil, fmt.Errorf("cohere: encode embeddings response: %w", err)
		}
		return &Response{Body: b, Usage: u}, nil
	}
	return nil, unsupportedEndpoint("cohere", ep)
}

func (cohereTranslator) Error(status int, headers map[string]string, body []byte) *Error {
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) == nil && e.Message != "" {
		return providerError("cohere", status, headers, e.Message)
	}
	return providerError("cohere", status, headers, truncateBody(body))
}
