package translator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

func bedrockEmbeddingFamily(model string) string {
	m := strings.ToLower(model)
	switch {
	case strings.Contains(m, "amazon.titan-embed"):
		return "titan"
	case strings.Contains(m, "cohere.embed"):
		return "cohere"
	}
	return ""
}

func bedrockEmbeddingRequest(body []byte, t Target) (*UpstreamRequest, error) {
	var req EmbeddingRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, NewError(400, "invalid_request_error", "llmgate: invalid embeddings request: "+err.Error(), "")
	}
	var raw map[string]json.RawMessage
	_ = json.Unmarshal(body, &raw)
	drop := map[string]bool{}
	for _, k := range t.AdditionalDropParams {
		drop[k] = true
	}
	family := bedrockEmbeddingFamily(t.Model)
	if family == "" {
		return nil, NewError(400, "invalid_request_error", fmt.Sprintf("llmgate: bedrock embedding model %q not supported (amazon.titan-embed-* and cohere.embed-* are)", t.Model), "model")
	}
	// Params that are OpenAI embedding params but not mapped for this family.
	unsupported := map[string]bool{"encoding_format": true, "user": true}
	if family == "cohere" {
		unsupported["dimensions"] = true
	} else {
		unsupported["input_type"] = true
	}
	for k, v := range raw {
		if string(v) == "null" || drop[k] || !unsupported[k] || t.DropParams {
			continue
		}
		if k == "encoding_format" && string(v) == `"float"` {
			continue // the only format Bedrock returns
		}
		return nil, NewError(400, "invalid_request_error", fmt.Sprintf("llmgate: param %s not supported by provider bedrock for %s; set drop_params: true to drop it", k, t.Model), k)
	}
	if len(req.Input) == 0 {
		return nil, NewError(400, "invalid_request_error", "llmgate: bedrock embeddings need input as a string or a list of strings (token arrays are not supported)", "input")
	}
	var out any
	switch family {
	case "titan":
		if len(req.Input) != 1 {
			return nil, NewError(400, "invalid_request_error", fmt.Sprintf("llmgate: bedrock Titan embeddings take one input per request, got %d; send them one by one", len(req.Input)), "input")
		}
		m := map[string]any{"inputText": req.Input[0]}
		if req.Dimensions != nil && !drop["dimensions"] && strings.Contains(t.Model, "v2") {
			m["dimensions"] = *req.Dimensions
		} else if req.Dimensions != nil && !drop["dimensions"] && !t.DropParams {
			return nil, NewError(400, "invalid_request_error", "llmgate: param dimensions is only supported by amazon.titan-embed-text-v2", "dimensions")
		}
		out = m
	case "cohere":
		it := req.InputType
		if it == "" || drop["input_type"] {
			it = "search_document"
		}
		out = map[string]any{"texts": []string(req.Input), "input_type": it}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("bedrock: encode embedding request: %w", err)
	}
	return &UpstreamRequest{Method: http.MethodPost, Path: bedrockModelPath(t.Model, "invoke"),
		Headers: map[string]string{"content-type": "application/json", "accept": "application/json"}, Body: b}, nil
}

func bedrockEmbeddingResponse(body []byte, t Target) (*Response, error) {
	var r struct {
		Embedding           []float64   `json:"embedding"`
		InputTextTokenCount int         `json:"inputTextTokenCount"`
		Embeddings          [][]float64 `json:"embeddings"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, NewError(502, "internal_server_error", "llmgate: bedrock returned an invalid embedding response: "+err.Error(), "")
	}
	out := EmbeddingResponse{Object: "list", Model: t.Model, Data: []EmbeddingData{}}
	switch {
	case r.Embedding != nil:
		out.Data = append(out.Data, EmbeddingData{Object: "embedding", Index: 0, Embedding: r.Embedding})
	case r.Embeddings != nil:
		for i, e := range r.Embeddings {
			out.Data = append(out.Data, EmbeddingData{Object: "embedding", Index: i, Embedding: e})
		}
	default:
		return nil, NewError(502, "internal_server_error", "llmgate: bedrock embedding response has no embedding", "")
	}
	u := Usage{PromptTokens: r.InputTextTokenCount, TotalTokens: r.InputTextTokenCount}
	out.Usage = UsageObjectFrom(u)
	b, err := json.Marshal(out)
	if err != nil {
		return nil, fmt.Errorf("bedrock: encode embedding response: %w", err)
	}
	return &Response{Body: b, Usage: u}, nil
}
