package extproc

import (
	"encoding/json"
	"strings"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/llmgate/llmgate/internal/model"
	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
	"github.com/llmgate/llmgate/translator"
)

// mockReply answers a deployment with litellm_params.mock_response without an
// upstream call, as LiteLLM does: a chat completion (or a stream of chunks,
// or a text completion, or zero embeddings) holding the mock text.
func mockReply(ep translator.Endpoint, f *requestFields, d *model.Deployment, a *llmgatev1.Attempt, callID string) *extprocv3.ProcessingResponse {
	text := *d.MockResponse
	model := a.Model
	created := time.Now().Unix()
	id := "chatcmpl-" + strings.ReplaceAll(callID, "-", "")
	words := len(strings.Fields(text))
	usage := translator.UsageObjectFrom(translator.Usage{PromptTokens: 10, CompletionTokens: words})
	headers := map[string]string{
		"x-litellm-call-id":     callID,
		"x-litellm-model-id":    d.ID,
		"x-litellm-model-group": d.Group,
	}
	switch {
	case ep == translator.Embeddings:
		b, _ := json.Marshal(translator.EmbeddingResponse{Object: "list", Model: model,
			Data:  []translator.EmbeddingData{{Object: "embedding", Index: 0, Embedding: make([]float64, 8)}},
			Usage: translator.UsageObjectFrom(translator.Usage{PromptTokens: 1})})
		return immediate(200, "application/json", b, headers, "llmgate_mock_response")
	case ep == translator.Completions:
		b, _ := json.Marshal(map[string]any{"id": "cmpl-" + id[9:], "object": "text_completion", "created": created, "model": model,
			"choices": []any{map[string]any{"index": 0, "text": text, "finish_reason": "stop", "logprobs": nil}}, "usage": usage})
		return immediate(200, "application/json", b, headers, "llmgate_mock_response")
	case f.Stream:
		var out []byte
		stop := "stop"
		chunk := func(delta translator.Delta, finish *string) {
			out = translator.WriteSSEJSON(out, translator.ChatChunk{ID: id, Object: "chat.completion.chunk", Created: created, Model: model,
				Choices: []translator.ChunkChoice{{Index: 0, Delta: delta, FinishReason: finish}}})
		}
		chunk(translator.Delta{Role: "assistant"}, nil)
		for i, w := range strings.SplitAfter(text, " ") {
			_ = i
			w := w
			chunk(translator.Delta{Content: &w}, nil)
		}
		chunk(translator.Delta{}, &stop)
		if f.StreamOptions != nil && f.StreamOptions.IncludeUsage {
			out = translator.WriteSSEJSON(out, translator.ChatChunk{ID: id, Object: "chat.completion.chunk", Created: created, Model: model, Choices: []translator.ChunkChoice{}, Usage: usage})
		}
		out = append(out, translator.SSEDone...)
		headers["cache-control"] = "no-cache"
		return immediate(200, "text/event-stream", out, headers, "llmgate_mock_response")
	}
	b, _ := json.Marshal(translator.ChatResponse{ID: id, Object: "chat.completion", Created: created, Model: model,
		Choices: []translator.Choice{{Index: 0, Message: translator.ResponseMessage{Role: "assistant", Content: &text}, FinishReason: "stop"}},
		Usage:   usage})
	return immediate(200, "application/json", b, headers, "llmgate_mock_response")
}
