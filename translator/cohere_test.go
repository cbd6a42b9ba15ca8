package translator

import (
	"encoding/json"
	"testing"
)

func TestCohereGolden(t *testing.T) {
	base := Target{Provider: "cohere", Model: "command-a-03-2025", APIBase: CohereDefaultAPIBase}
	streaming := base
	streaming.Stream = true
	emb := base
	emb.Model = "embed-english-v3.0"
	d, p := "cohere", "cohere"
	runGoldenCases(t, []goldenCase{
		{name: "chat_tools_multiturn", dir: d, provider: p, kind: goldenRequest, ep: Chat, target: streaming},
		{name: "chat_unsupported", dir: d, provider: p, kind: goldenRequest, ep: Chat, target: base},
		{name: "embed_request", dir: d, provider: p, kind: goldenRequest, ep: Embeddings, target: emb},
		{name: "embed_request_query", dir: d, provider: p, kind: goldenRequest, ep: Embeddings, target: emb},
		{name: "resp_text", dir: d, provider: p, kind: goldenResponse, ep: Chat, target: base},
		{name: "resp_tool_calls", dir: d, provider: p, kind: goldenResponse, ep: Chat, target: base},
		{name: "resp_max_tokens", dir: d, provider: p, kind: goldenResponse, ep: Chat, target: base},
		{name: "embed_resp", dir: d, provider: p, kind: goldenResponse, ep: Embeddings, target: emb},
		{name: "err_bad_request", dir: d, provider: p, kind: goldenError, status: 400},
		{name: "err_too_many_tokens", dir: d, provider: p, kind: goldenError, status: 400},
		{name: "err_rate", dir: d, provider: p, kind: goldenError, status: 429, headers: map[string]string{"retry-after": "30"}},
		{name: "stream_text", dir: d, provider: p, kind: goldenStream, ep: Chat, target: streaming},
		{name: "stream_tools", dir: d, provider: p, kind: goldenStream, ep: Chat, target: streaming},
		{name: "stream_malformed", dir: d, provider: p, kind: goldenStream, ep: Chat, target: streaming},
		// stop reasons: MAX_TOKENS → length, ERROR_TOXIC → content_filter, STOP_SEQUENCE → stop
		{name: "stream_max_tokens", dir: d, provider: p, kind: goldenStream, ep: Chat, target: streaming},
		{name: "stream_toxic", dir: d, provider: p, kind: goldenStream, ep: Chat, target: streaming},
		{name: "stream_stop_sequence", dir: d, provider: p, kind: goldenStream, ep: Chat, target: streaming},
	})
}

func TestCohereDropParams(t *testing.T) {
	body := []byte(`{"model":"command-r","messages":[{"role":"user","content":"hi"}],"n":3,"temperature":0.5,"logit_bias":{"1":2}}`)
	if _, err := For("cohere").Request(Chat, body, Target{Model: "command-r"}); err == nil {
		t.Fatal("n and logit_bias must fail without drop_params")
	}
	req, err := For("cohere").Request(Chat, body, Target{Model: "command-r", DropParams: true, AdditionalDropParams: []string{"temperature"}})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(req.Body, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"n", "logit_bias", "temperature"} {
		if _, ok := m[k]; ok {
			t.Errorf("%s should have been dropped: %s", k, req.Body)
		}
	}
	if req.Path != "/v2/chat" || m["stream"] != false {
		t.Errorf("path %q stream %v", req.Path, m["stream"])
	}
}

func FuzzCohereStream(f *testing.F) {
	f.Add([]byte("event: content-delta\ndata: {\"type\":\"content-delta\",\"delta\":{\"message\":{\"content\":{\"text\":\"a\"}}}}\n\n"), 5)
	f.Add([]byte("data: {\"type\":\"tool-call-start\",\"index\":3,\"delta\":{\"message\":{\"tool_calls\":[1]}}}\n\ndata: {\"type\":\"message-end\",\"delta\":{\"error\":\"boom\"}}\n\n"), 9)
	f.Add([]byte("data: {\"type\":\"message-end\",\"delta\":{\"finish_reason\":\"MAX_TOKENS\",\"usage\":{\"tokens\":{\"input_tokens\":1e30}}}}\n\n"), 2)
	f.Fuzz(func(t *testing.T, in []byte, split int) {
		s := For("cohere").NewStream(Chat, Target{Model: "m"})
		if split < 0 {
			split = -split
		}
		i := split % (len(in) + 1)
		a, _ := s.Feed(in[:i], false)
		b, _ := s.Feed(in[i:], true)
		checkSSE(t, append(a, b...))
	})
}

func FuzzCohereResponse(f *testing.F) {
	f.Add([]byte(`{"finish_reason":"TOOL_CALL","message":{"content":[{"type":"text","text":"x"}],"tool_calls":[{"function":{"name":"f"}}]},"usage":{"tokens":{"input_tokens":1}}}`))
	f.Add([]byte(`{"embeddings":{"float":[[1,2]]},"meta":{"billed_units":{"input_tokens":1}}}`))
	f.Add([]byte(`{"embeddings":[[1]]}`))
	f.Add([]byte(`{"message":"bad"}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		tr := For("cohere")
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
