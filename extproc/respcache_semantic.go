package extproc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/llmgate/llmgate/internal/respcache"
)

// The qdrant-semantic cache's embeddings (D138): LiteLLM's
// QdrantSemanticCache calls its router's aembedding with the
// qdrant_semantic_cache_embedding_model group and the cache off for that
// call; here the request goes to the gateway's own listener (the model_list's
// routing, retries, keys of the deployments), as the master key (the
// caller's key may not reach the embedding group: LiteLLM's router call is
// not checked either), with "cache": {"no-cache": true, "no-store": true}.

// maxEmbeddingAnswer bounds the embedding answer read.
const maxEmbeddingAnswer = 16 << 20

// embeddingClient carries the semantic cache's embedding requests (each
// bounded by its lookup's or write's context).
var embeddingClient = &http.Client{}

func (s *Server) selfEmbedder(st *State) respcache.Embedder {
	self, master := s.SelfURL, st.Cfg.General.MasterKey
	return func(ctx context.Context, model, text string) ([]float64, error) {
		if self == "" {
			return nil, errors.New("no listener to embed through")
		}
		b, _ := json.Marshal(map[string]any{"model": model, "input": text,
			"cache": map[string]any{"no-cache": true, "no-store": true}})
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, self+"/v1/embeddings", bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		req.Header.Set("content-type", "application/json")
		if master != "" {
			req.Header.Set("x-litellm-api-key", master)
		}
		resp, err := embeddingClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		out, err := io.ReadAll(io.LimitReader(resp.Body, maxEmbeddingAnswer))
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			msg := gjson.GetBytes(out, "error.message").String()
			return nil, errors.New("embedding model " + strconv.Quote(model) + ": " + strconv.Itoa(resp.StatusCode) + " " + msg)
		}
		var vec []float64
		emb := gjson.GetBytes(out, "data.0.embedding")
		if !emb.IsArray() {
			return nil, errors.New("embedding model " + strconv.Quote(model) + ": no float embedding in its answer")
		}
		emb.ForEach(func(_, v gjson.Result) bool {
			vec = append(vec, v.Float())
			return true
		})
		if len(vec) == 0 {
			return nil, errors.New("embedding model " + strconv.Quote(model) + ": an empty embedding")
		}
		return vec, nil
	}
}
