package translator

// Hugging Face: the OpenAI-compatible messages API of TGI, Inference Endpoints
// and the Inference Providers router. Bodies are OpenAI-shaped and pass through;
// responses and stream chunks are normalised (object, role, finish_reason).
//
// URLs follow LiteLLM:
//   - api_base set: {api_base}/v1/chat/completions ("/chat/completions" only
//     when it ends in /v1; as is when it already ends in /chat/completions);
//   - no api_base and model "org/name": https://router.huggingface.co/v1/chat/completions;
//   - no api_base and model "provider/org/name": the router's per-provider route
//     (hf-inference/models/{id}/v1/chat/completions, novita/v3/openai/…,
//     fireworks-ai/inference/v1/…, else {provider}/v1/chat/completions) with
//     model "org/name". LiteLLM looks the provider's own model id up over HTTP;
//     translators do no I/O, so the Hub id is sent as is.
//   - embeddings: the feature-extraction pipeline,
//     https://router.huggingface.co/hf-inference/pipeline/feature-extraction/{model},
//     or api_base as is; body {"inputs": [...]}.

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/llmgate/llmgate/internal/provider"
)

// HuggingFaceDefaultAPIBase is the Inference Providers router.
const HuggingFaceDefaultAPIBase = "https://router.huggingface.co"

type huggingfaceTranslator struct{}

func init() { Register(provider.WireHuggingFace, huggingfaceTranslator{}) }

func hfDefaultBase(apiBase string) bool {
	b := strings.TrimRight(apiBase, "/")
	return b == "" || b == HuggingFaceDefaultAPIBase
}

// hfChatPath returns the path and the model id to send.
func hfChatPath(t Target) (string, string) {
	if !hfDefaultBase(t.APIBase) {
		base := apiBasePath(t.APIBase)
		switch {
		case strings.HasSuffix(base, "/chat/completions"):
		case strings.HasSuffix(base, "/v1"):
			base += "/chat/completions"
		default:
			base += "/v1/chat/completions"
		}
		return base, t.Model
	}
	provider, id, ok := strings.Cut(t.Model, "/")
	if !ok || !strings.Contains(id, "/") {
		return "/v1/chat/completions", t.Model
	}
	switch provider {
	case "hf-inference":
		return "/hf-inference/models/" + id + "/v1/chat/completions", id
	case "novita":
		return "/novita/v3/openai/chat/completions", id
	case "fireworks-ai":
		return "/fireworks-ai/inference/v1/chat/completions", id
	}
	return "/" + provider + "/v1/chat/completions", id
}

func (huggingfaceTranslator) Request(ep Endpoint, body []byte, t Target) (*UpstreamRequest, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return nil, NewError(400, "invalid_request_error", "huggingface: request body is not a JSON object", "")
	}
	for _, k := range t.AdditionalDropParams {
		delete(m, k)
	}
	// Gateway and storage metadata never goes to a self-hosted server.
	for _, k := range []string{"metadata", "store", "service_tier"} {
		delete(m, k)
	}
	switch ep {
	case Chat:
		if !rawSet(m["messages"]) {
			return nil, NewError(400, "invalid_request_error", "huggingface: messages must not be empty", "messages")
		}
		path, model := hfChatPath(t)
		if model == "" {
			model = "tgi"
		}
		m["model"] = ollamaRaw(model)
		stream := t.Stream
		if v, ok := m["stream"]; ok {
			var b bool
			if json.Unmarshal(v, &b) == nil && b {
				stream = true
			}
		}
		if stream {
			m["stream"] = json.RawMessage("true")
		}
		out, err := json.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("huggingface: encode request: %w", err)
		}
		return &UpstreamRequest{Method: "POST", Path: path, Headers: jsonHeaders(stream), Body: out}, nil
	case Embeddings:
		r, err := prepareEmbedding(body, t, "huggingface", map[string]bool{})
		if err != nil {
			return nil, err
		}
		if r.InputType != "" && r.InputType != "feature-extraction" {
			return nil, NewError(400, "invalid_request_error",
				fmt.Sprintf("huggingface: input_type %q is not supported; only the feature-extraction pipeline is", r.InputType), "input_type")
		}
		path := apiBasePath(t.APIBase)
		if hfDefaultBase(t.APIBase) {
			path = "/hf-inference/pipeline/feature-extraction/" + t.Model
		}
		out, err := json.Marshal(map[string]any{"inputs": []string(r.Input)})
		if err != nil {
			return nil, fmt.Errorf("huggingface: encode embeddings request: %w", err)
		}
		return &UpstreamRequest{Method: "POST", Path: path, Headers: jsonHeaders(false), Body: out}, nil
	}
	return nil, unsupportedEndpoint("huggingface", ep)
}

// hfFinish normalises TGI's finish reasons.
func hfFinish(r string) string {
	switch r {
	case "eos_token", "stop_sequence", "end_turn":
		return "stop"
	case "max_tokens", "max_length":
		return "length"
	}
	return r
}

func (huggingfaceTranslator) Response(ep Endpoint, body []byte, t Target) (*Response, error) {
	switch ep {
	case Chat:
		return hfChatResponse(body, t)
	case Embeddings:
		var raw any
		if err := json.Unmarshal(body, &raw); err != nil {
			return nil, NewError(502, "internal_server_error", fmt.Sprintf("huggingface: cannot parse embeddings response: %v", err), "")
		}
		vecs, err := hfVectors(raw)
		if err != nil {
			return nil, NewError(502, "internal_server_error", "huggingface: "+err.Error(), "")
		}
		resp := EmbeddingResponse{Object: "list", Data: []EmbeddingData{}, Model: t.Model, Usage: UsageObjectFrom(Usage{})}
		for i, v := range vecs {
			resp.Data = append(resp.Data, EmbeddingData{Object: "embedding", Index: i, Embedding: v})
		}
		b, err := json.Marshal(resp)
		if err != nil {
			return nil, fmt.Errorf("huggingface: encode embeddings response: %w", err)
		}
		return &Response{Body: b}, nil
	}
	return nil, unsupportedEndpoint("huggingface", ep)
}

func hfChatResponse(body []byte, t Target) (*Response, error) {
	var cr ChatResponse
	if err := json.Unmarshal(body, &cr); err != nil {
		return nil, NewError(502, "internal_server_error", fmt.Sprintf("huggingface: cannot parse chat response: %v", err), "")
	}
	if cr.ID == "" {
		cr.ID = stableID("chatcmpl-", string(body))
	}
	cr.Object = "chat.completion"
	if cr.Model == "" {
		cr.Model = t.Model
	}
	if cr.Choices == nil {
		cr.Choices = []Choice{}
	}
	for i := range cr.Choices {
		c := &cr.Choices[i]
		if c.Message.Role == "" {
			c.Message.Role = "assistant"
		}
		c.FinishReason = hfFinish(c.FinishReason)
		if c.FinishReason == "" {
			c.FinishReason = "stop"
		}
		if len(c.Message.ToolCalls) > 0 && c.FinishReason == "stop" {
			c.FinishReason = "tool_calls"
		}
		for j := range c.Message.ToolCalls {
			tc := &c.Message.ToolCalls[j]
			tc.Index = nil
			if tc.Type == "" {
				tc.Type = "function"
			}
			if tc.ID == "" {
				tc.ID = stableID("call_", cr.ID, fmt.Sprint(i), fmt.Sprint(j))
			}
		}
	}
	u := UsageFrom(cr.Usage)
	if u.TotalTokens == 0 {
		u.TotalTokens = u.PromptTokens + u.CompletionTokens
	}
	if cr.Usage != nil {
		cr.Usage = UsageObjectFrom(u)
	}
	b, err := json.Marshal(cr)
	if err != nil {
		return nil, fmt.Errorf("huggingface: encode response: %w", err)
	}
	fr := ""
	if len(cr.Choices) > 0 {
		fr = cr.Choices[0].FinishReason
	}
	return &Response{Body: b, Usage: u, FinishReason: fr}, nil
}

// hfVectors reads feature-extraction output: a list with one entry per input,
// each a vector or (token embeddings) a list of vectors, of which the first is
// taken, as LiteLLM does. A single flat vector is one embedding.
func hfVectors(raw any) ([][]float64, error) {
	list, ok := raw.([]any)
	if !ok {
		return nil, fmt.Errorf("embeddings response is not a list")
	}
	if v, ok := hfFloats(list); ok {
		return [][]float64{v}, nil
	}
	out := make([][]float64, 0, len(list))
	for i, e := range list {
		var found []float64
		for depth := 0; depth < 4 && found == nil; depth++ {
			l, ok := e.([]any)
			if !ok || len(l) == 0 {
				return nil, fmt.Errorf("embedding %d is not a list of numbers", i)
			}
			if v, ok := hfFloats(l); ok {
				found = v
				break
			}
			e = l[0]
		}
		if found == nil {
			return nil, fmt.Errorf("embedding %d is nested too deeply", i)
		}
		out = append(out, found)
	}
	return out, nil
}

func hfFloats(l []any) ([]float64, bool) {
	if len(l) == 0 {
		return nil, false
	}
	out := make([]float64, len(l))
	for i, x := range l {
		f, ok := x.(float64)
		if !ok {
			return nil, false
		}
		out[i] = f
	}
	return out, true
}

func (huggingfaceTranslator) Error(status int, headers map[string]string, body []byte) *Error {
	var e struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
	}
	if json.Unmarshal(body, &e) == nil {
		if rawSet(e.Error) {
			var s string
			if json.Unmarshal(e.Error, &s) == nil {
				return providerError("huggingface", status, headers, s)
			}
			var obj struct {
				Message string `json:"message"`
			}
			if json.Unmarshal(e.Error, &obj) == nil && obj.Message != "" {
				return providerError("huggingface", status, headers, obj.Message)
			}
		}
		if e.Message != "" {
			return providerError("huggingface", status, headers, e.Message)
		}
	}
	return providerError("huggingface", status, headers, truncateBody(body))
}
