package extproc

import (
	"encoding/json"
	"strings"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/llmgate/llmgate/internal/tokenizer"
	"github.com/llmgate/llmgate/translator"
)

// POST /utils/token_counter: LiteLLM's token counter (proxy_server.py
// token_counter, count_request_tokens), answered by the request filter
// with the gateway's tokenizer (D160). The model is resolved through the
// router: model_used is its first deployment's model id without the
// provider prefix (the request's model when no group serves it). The count
// is LiteLLM's local estimate: a prompt alone counted as text, messages
// (with system first, and tools) with OpenAI's per-message overhead,
// tiktoken's encoding for the model, else cl100k_base as LiteLLM's default
// encoding. Provider counting APIs (call_endpoint=true) are not called.

// tokenCountRequest is LiteLLM's TokenCountRequest.
type tokenCountRequest struct {
	Model    string            `json:"model"`
	Prompt   *string           `json:"prompt"`
	Messages []json.RawMessage `json:"messages"`
	Contents []json.RawMessage `json:"contents"`
	Tools    json.RawMessage   `json:"tools"`
	System   json.RawMessage   `json:"system"`
}

// tokenCountResponse is LiteLLM's TokenCountResponse as it serializes it.
type tokenCountResponse struct {
	TotalTokens      int     `json:"total_tokens"`
	RequestModel     string  `json:"request_model"`
	ModelUsed        string  `json:"model_used"`
	TokenizerType    string  `json:"tokenizer_type"`
	CountSource      string  `json:"count_source"`
	OriginalResponse any     `json:"original_response"`
	Error            bool    `json:"error"`
	ErrorMessage     *string `json:"error_message"`
	StatusCode       *int    `json:"status_code"`
}

func (s *Server) tokenCounter(stream extprocv3.ExternalProcessor_ProcessServer, st *State, h map[string]string, endOfStream bool) error {
	body, ok, err := managementBodyUnless(stream, endOfStream)
	if !ok {
		return err
	}
	if _, e := st.authenticateRoute(h); e != nil {
		return stream.Send(errorReply(e, nil))
	}
	if h[":method"] != "POST" {
		return stream.Send(errorReply(methodNotAllowed(h[":method"]), map[string]string{"allow": "POST"}))
	}
	out, e := countTokenRequest(st, body)
	if e != nil {
		return stream.Send(errorReply(e, nil))
	}
	return stream.Send(immediate(200, "application/json", out, nil, "llmgate_token_counter"))
}

// countTokenRequest answers a token counter request body.
func countTokenRequest(st *State, body []byte) ([]byte, *translator.Error) {
	var req tokenCountRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, translator.NewError(400, "invalid_request_error", "Invalid JSON in request body: "+err.Error(), "")
	}
	if req.Model == "" {
		return nil, translator.NewError(422, "invalid_request_error", "model: Field required", "model")
	}
	if req.Prompt == nil && req.Messages == nil && req.Contents == nil {
		return nil, translator.NewError(400, "invalid_request_error", "prompt or messages or contents must be provided", "")
	}
	conversation := len(req.Messages) > 0 || len(req.Contents) > 0
	if req.Prompt != nil && *req.Prompt != "" && conversation {
		return nil, translator.NewError(400, "invalid_request_error", "prompt cannot be sent with messages or contents. Set drop_params to count them without the prompt", "prompt")
	}
	used := req.Model
	if res, err := st.Router.Resolve(req.Model); err == nil {
		if ts := st.Router.Targets(res); len(ts) > 0 && ts[0].Model != "" {
			used = ts[0].Model
			if _, m, ok := strings.Cut(used, "/"); ok {
				used = m
			}
		}
	}
	count := used
	if tokenizer.EncodingFor(used) == tokenizer.Estimate {
		count = "gpt-4" // LiteLLM's default encoding (cl100k_base) for a model without its own
	}
	var counted map[string]any
	if !conversation && !hasJSON(req.System) && !hasJSON(req.Tools) {
		p := ""
		if req.Prompt != nil {
			p = *req.Prompt
		}
		counted = map[string]any{"prompt": p}
	} else {
		msgs := make([]any, 0, len(req.Messages)+len(req.Contents)+1)
		if sys := systemText(req.System); sys != "" {
			msgs = append(msgs, map[string]string{"role": "system", "content": sys})
		}
		for _, m := range req.Messages {
			msgs = append(msgs, m)
		}
		msgs = append(msgs, contentsMessages(req.Contents)...)
		if req.Prompt != nil && *req.Prompt != "" {
			msgs = append(msgs, map[string]string{"role": "user", "content": *req.Prompt})
		}
		counted = map[string]any{"messages": msgs}
		if hasJSON(req.Tools) {
			counted["tools"] = req.Tools
		}
	}
	cb, err := json.Marshal(counted)
	if err != nil {
		return nil, translator.NewError(400, "invalid_request_error", err.Error(), "")
	}
	n, err := tokenizer.CountRequest(count, cb)
	if err != nil {
		return nil, translator.NewError(400, "token_counting_error", err.Error(), "messages")
	}
	out, _ := json.Marshal(tokenCountResponse{TotalTokens: n, RequestModel: req.Model, ModelUsed: used,
		TokenizerType: "openai_tokenizer", CountSource: "local_estimate"})
	return out, nil
}

func hasJSON(r json.RawMessage) bool { return len(r) > 0 && string(r) != "null" }

// systemText is an Anthropic-style system: a string, or text blocks.
func systemText(r json.RawMessage) string {
	if !hasJSON(r) {
		return ""
	}
	var s string
	if json.Unmarshal(r, &s) == nil {
		return s
	}
	var blocks []struct {
		Text string `json:"text"`
	}
	_ = json.Unmarshal(r, &blocks)
	texts := make([]string, 0, len(blocks))
	for _, b := range blocks {
		texts = append(texts, b.Text)
	}
	return strings.Join(texts, "\n")
}

// contentsMessages are Google contents ({role, parts: [{text}]}) as chat
// messages of their text parts (role "model" as assistant).
func contentsMessages(contents []json.RawMessage) []any {
	out := make([]any, 0, len(contents))
	for _, raw := range contents {
		var c struct {
			Role  string `json:"role"`
			Parts []struct {
				Text string `json:"text"`
			} `json:"parts"`
		}
		if json.Unmarshal(raw, &c) != nil {
			continue
		}
		role := "user"
		if c.Role == "model" {
			role = "assistant"
		}
		parts := make([]map[string]string, 0, len(c.Parts))
		for _, p := range c.Parts {
			parts = append(parts, map[string]string{"type": "text", "text": p.Text})
		}
		out = append(out, map[string]any{"role": role, "content": parts})
	}
	return out
}
