package translator

import (
	"encoding/json"
	"testing"
)

func TestHuggingFaceGolden(t *testing.T) {
	router := Target{Provider: "huggingface", Model: "together/meta-llama/Llama-3.2-11B-Vision-Instruct", APIBase: HuggingFaceDefaultAPIBase}
	tgi := Target{Provider: "huggingface", Model: "tgi", APIBase: "https://abc123.us-east-1.aws.endpoints.huggingface.cloud/v1/", Stream: true,
		AdditionalDropParams: []string{"tool_choice"}}
	emb := Target{Provider: "huggingface", Model: "sentence-transformers/all-MiniLM-L6-v2"}
	d, p := "huggingface", "huggingface"
	runGoldenCases(t, []goldenCase{
		{name: "chat_router", dir: d, provider: p, kind: goldenRequest, ep: Chat, target: router},
		{name: "chat_tools_multiturn", dir: d, provider: p, kind: goldenRequest, ep: Chat, target: tgi},
		{name: "embed_request", dir: d, provider: p, kind: goldenRequest, ep: Embeddings, target: emb},
		{name: "resp_tgi", dir: d, provider: p, kind: goldenResponse, ep: Chat, target: tgi},
		{name: "resp_tgi_tools", dir: d, provider: p, kind: goldenResponse, ep: Chat, target: tgi},
		{name: "embed_resp", dir: d, provider: p, kind: goldenResponse, ep: Embeddings, target: emb},
		{name: "err_loading", dir: d, provider: p, kind: goldenError, status: 503},
		{name: "err_validation", dir: d, provider: p, kind: goldenError, status: 422},
		{name: "err_openai_shape", dir: d, provider: p, kind: goldenError, status: 401},
		{name: "stream_tgi", dir: d, provider: p, kind: goldenStream, ep: Chat, target: tgi},
		{name: "stream_error", dir: d, provider: p, kind: goldenStream, ep: Chat, target: tgi},
		// stop reasons: length → length, stop_sequence → stop
		{name: "stream_length", dir: d, provider: p, kind: goldenStream, ep: Chat, target: tgi},
		{name: "stream_stop_sequence", dir: d, provider: p, kind: goldenStream, ep: Chat, target: tgi},
	})
}

func TestHuggingFacePaths(t *testing.T) {
	tests := []struct {
		model, base, wantPath, wantModel string
	}{
		{"meta-llama/Llama-3.1-8B-Instruct", "", "/v1/chat/completions", "meta-llama/Llama-3.1-8B-Instruct"},
		{"hf-inference/meta-llama/Llama-3.1-8B-Instruct", HuggingFaceDefaultAPIBase, "/hf-inference/models/meta-llama/Llama-3.1-8B-Instruct/v1/chat/completions", "meta-llama/Llama-3.1-8B-Instruct"},
		{"novita/deepseek-ai/DeepSeek-R1", "", "/novita/v3/openai/chat/completions", "deepseek-ai/DeepSeek-R1"},
		{"fireworks-ai/a/b", "", "/fireworks-ai/inference/v1/chat/completions", "a/b"},
		{"tgi", "http://tgi:8080", "/v1/chat/completions", "tgi"},
		{"m", "http://tgi:8080/v1", "/v1/chat/completions", "m"},
		{"m", "http://tgi:8080/base/v1/chat/completions", "/base/v1/chat/completions", "m"},
	}
	for _, tc := range tests {
		req, err := For("huggingface").Request(Chat, []byte(`{"model":"x","messages":[{"role":"user","content":"hi"}]}`), Target{Model: tc.model, APIBase: tc.base})
		if err != nil {
			t.Fatal(err)
		}
		var m struct {
			Model string `json:"model"`
		}
		_ = json.Unmarshal(req.Body, &m)
		if req.Path != tc.wantPath || m.Model != tc.wantModel {
			t.Errorf("%s @ %q: path %q model %q, want %q %q", tc.model, tc.base, req.Path, m.Model, tc.wantPath, tc.wantModel)
		}
	}
}

func FuzzHuggingFaceStream(f *testing.F) {
	f.Add([]byte("data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"},\"finish_reason\":\"length\"}]}\n\ndata: [DONE]\n\n"), 4)
	f.Add([]byte("data: {\"error\":{\"message\":1}}\n\n"), 2)
	f.Add([]byte("data: {\"choices\":\"x\"}\n\n"), 0)
	f.Fuzz(func(t *testing.T, in []byte, split int) {
		s := For("huggingface").NewStream(Chat, Target{Model: "m"})
		if split < 0 {
			split = -split
		}
		i := split % (len(in) + 1)
		a, _ := s.Feed(in[:i], false)
		b, _ := s.Feed(in[i:], true)
		checkSSE(t, append(a, b...))
	})
}

func FuzzHuggingFaceResponse(f *testing.F) {
	f.Add([]byte(`{"choices":[{"message":{"tool_calls":[{"function":{"name":"f"}}]}}],"usage":{"prompt_tokens":1}}`))
	f.Add([]byte(`[[[[1]]],[2,3]]`))
	f.Add([]byte(`{"error":"x"}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		tr := For("huggingface")
		for _, ep := range []Endpoint{Chat, Embeddings} {
			if r, err := tr.Response(ep, in, Target{Model: "m"}); err == nil && !json.Valid(r.Body) {
				t.Fatalf("invalid JSON body: %s", r.Body)
			}
		}
		if e := tr.Error(500, nil, in); e == nil || !json.Valid(e.JSON()) {
			t.Fatal("bad error")
		}
	})
}
