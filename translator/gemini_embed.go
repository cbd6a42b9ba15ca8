package translator

import (
	"encoding/json"
	"fmt"
)

// Embeddings. Google AI Studio: batchEmbedContents (one request per input, as
// LiteLLM sends). Vertex AI: the text-embedding models' predict endpoint.

type geminiBatchEmbedRequest struct {
	Requests []geminiEmbedRequest `json:"requests"`
}

type geminiEmbedRequest struct {
	Model                string        `json:"model"`
	Content              geminiContent `json:"content"`
	TaskType             string        `json:"taskType,omitempty"`
	OutputDimensionality *int          `json:"outputDimensionality,omitempty"`
}

type geminiBatchEmbedResponse struct {
	Embeddings []struct {
		Values []float64 `json:"values"`
	} `json:"embeddings"`
}

type vertexPredictRequest struct {
	Instances  []vertexEmbedInstance `json:"instances"`
	Parameters *vertexEmbedParams    `json:"parameters,omitempty"`
}

type vertexEmbedInstance struct {
	Content  string `json:"content"`
	TaskType string `json:"task_type,omitempty"`
}

type vertexEmbedParams struct {
	OutputDimensionality *int `json:"outputDimensionality,omitempty"`
}

type vertexPredictResponse struct {
	Predictions []struct {
		Embeddings struct {
			Values     []float64 `json:"values"`
			Statistics struct {
				TokenCount float64 `json:"token_count"`
			} `json:"statistics"`
		} `json:"embeddings"`
	} `json:"predictions"`
}

func (g geminiTranslator) embeddingRequest(body []byte, t Target) (*UpstreamRequest, error) {
	r, err := prepareEmbedding(body, t, g.name(), geminiEmbeddingParams)
	if err != nil {
		return nil, err
	}
	mp, err := g.modelPath(t)
	if err != nil {
		return nil, err
	}
	var out []byte
	var path string
	if g.vertex {
		req := vertexPredictRequest{}
		for _, in := range r.Input {
			req.Instances = append(req.Instances, vertexEmbedInstance{Content: in, TaskType: r.InputType})
		}
		if r.Dimensions != nil {
			req.Parameters = &vertexEmbedParams{OutputDimensionality: r.Dimensions}
		}
		out, err = json.Marshal(req)
		path = mp + ":predict"
	} else {
		req := geminiBatchEmbedRequest{}
		model := "models/" + t.Model
		for _, in := range r.Input {
			req.Requests = append(req.Requests, geminiEmbedRequest{Model: model, Content: geminiContent{Parts: []geminiPart{{Text: in}}},
				TaskType: r.InputType, OutputDimensionality: r.Dimensions})
		}
		out, err = json.Marshal(req)
		path = mp + ":batchEmbedContents"
	}
	if err != nil {
		return nil, fmt.Errorf("%s: encode embeddings request: %w", g.name(), err)
	}
	return &UpstreamRequest{Method: "POST", Path: path, Headers: jsonHeaders(false), Body: out}, nil
}

func (g geminiTranslator) embeddingResponse(body []byte, t Target) (*Response, error) {
	resp := EmbeddingResponse{Object: "list", Data: []EmbeddingData{}, Model: t.Model}
	var u Usage
	bad := func(err error) error {
		return NewError(502, "internal_server_error", fmt.Sprintf("%s: cannot parse embeddings response: %v", g.name(), err), "")
	}
	if g.vertex {
		var vr vertexPredictResponse
		if err := json.Unmarshal(body, &vr); err != nil {
			return nil, bad(err)
		}
		for i, p := range vr.Predictions {
			resp.Data = append(resp.Data, EmbeddingData{Object: "embedding", Index: i, Embedding: nonNilFloats(p.Embeddings.Values)})
			u.PromptTokens += int(p.Embeddings.Statistics.TokenCount)
		}
	} else {
		var br geminiBatchEmbedResponse
		if err := json.Unmarshal(body, &br); err != nil {
			return nil, bad(err)
		}
		for i, e := range br.Embeddings {
			resp.Data = append(resp.Data, EmbeddingData{Object: "embedding", Index: i, Embedding: nonNilFloats(e.Values)})
		}
	}
	u.TotalTokens = u.PromptTokens
	resp.Usage = UsageObjectFrom(u)
	b, err := json.Marshal(resp)
	if err != nil {
		return nil, fmt.Errorf("%s: encode embeddings response: %w", g.name(), err)
	}
	return &Response{Body: b, Usage: u}, nil
}

func nonNilFloats(v []float64) []float64 {
	if v == nil {
		return []float64{}
	}
	return v
}
