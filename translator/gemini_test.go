package translator

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestGeminiGolden(t *testing.T) {
	studio := Target{Provider: "gemini", Model: "gemini-2.0-flash", APIBase: GeminiDefaultAPIBase}
	vertex := Target{Provider: "vertex_ai", Model: "gemini-2.0-flash", Project: "my-proj", Location: "us-east5"}
	vertexGlobal := Target{Provider: "vertex_ai", Model: "gemini-2.5-pro", Project: "my-proj", Location: "global"}
	vertexGlobalDrop := vertexGlobal
	vertexGlobalDrop.DropParams = true
	streaming := studio
	streaming.Stream = true
	additional := studio
	additional.AdditionalDropParams = []string{"seed", "n"}
	vEmbed := vertex
	vEmbed.Model = "text-embedding-004"
	sEmbed := studio
	sEmbed.Model = "text-embedding-004"

	d := "gemini"
	cases := []goldenCase{
		{name: "chat_basic", dir: d, provider: "gemini", kind: goldenRequest, ep: Chat, target: studio},
		{name: "chat_tools_multiturn", dir: d, provider: "gemini", kind: goldenRequest, ep: Chat, target: streaming},
		{name: "chat_images", dir: d, provider: "vertex_ai", kind: goldenRequest, ep: Chat, target: vertex},
		{name: "chat_unsupported", dir: d, provider: "gemini", kind: goldenRequest, ep: Chat, target: studio},
		{name: "chat_dropped", dir: d, provider: "vertex_ai", kind: goldenRequest, ep: Chat, target: vertexGlobalDrop},
		{name: "chat_additional_drop", dir: d, provider: "gemini", kind: goldenRequest, ep: Chat, target: additional},
		{name: "embed_request", dir: d, provider: "gemini", kind: goldenRequest, ep: Embeddings, target: sEmbed},
		{name: "resp_text", dir: d, provider: "gemini", kind: goldenResponse, ep: Chat, target: studio},
		{name: "resp_tool_calls", dir: d, provider: "gemini", kind: goldenResponse, ep: Chat, target: studio},
		{name: "resp_thinking", dir: d, provider: "vertex_ai", kind: goldenResponse, ep: Chat, target: vertex},
		{name: "resp_safety", dir: d, provider: "gemini", kind: goldenResponse, ep: Chat, target: studio},
		{name: "resp_prompt_blocked", dir: d, provider: "gemini", kind: goldenResponse, ep: Chat, target: studio},
		{name: "resp_malformed", dir: d, provider: "gemini", kind: goldenResponse, ep: Chat, target: studio},
		{name: "embed_resp_studio", dir: d, provider: "gemini", kind: goldenResponse, ep: Embeddings, target: sEmbed},
		{name: "embed_resp_vertex", dir: d, provider: "vertex_ai", kind: goldenResponse, ep: Embeddings, target: vEmbed},
		{name: "err_invalid_argument", dir: d, provider: "gemini", kind: goldenError, status: 400},
		{name: "err_context", dir: d, provider: "vertex_ai", kind: goldenError, status: 400},
		{name: "err_quota", dir: d, provider: "gemini", kind: goldenError, status: 429, headers: map[string]string{"Retry-After": "7"}},
		{name: "err_permission", dir: d, provider: "gemini", kind: goldenError, status: 403},
		{name: "err_plain", dir: d, provider: "vertex_ai", kind: goldenError, status: 503},
		{name: "stream_text", dir: d, provider: "gemini", kind: goldenStream, ep: Chat, target: streaming},
		{name: "stream_tools", dir: d, provider: "vertex_ai", kind: goldenStream, ep: Chat, target: vertex},
		{name: "stream_error", dir: d, provider: "gemini", kind: goldenStream, ep: Chat, target: streaming},
		{name: "stream_blocked", dir: d, provider: "gemini", kind: goldenStream, ep: Chat, target: streaming},
		// stop reasons: MAX_TOKENS → length, SAFETY mid-answer → content_filter
		{name: "stream_max_tokens", dir: d, provider: "gemini", kind: goldenStream, ep: Chat, target: streaming},
		{name: "stream_safety", dir: d, provider: "gemini", kind: goldenStream, ep: Chat, target: streaming},
	}
	runGoldenCases(t, cases)
}

func TestGeminiPaths(t *testing.T) {
	body := []byte(`{"model":"x","messages":[{"role":"user","content":"hi"}]}`)
	tests := []struct {
		provider string
		t        Target
		ep       Endpoint
		want     string
	}{
		{"gemini", Target{Model: "gemini-2.0-flash"}, Chat, "/v1beta/models/gemini-2.0-flash:generateContent"},
		{"gemini", Target{Model: "models/gemini-2.0-flash", Stream: true}, Chat, "/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse"},
		{"gemini", Target{Model: "gemini-2.0-flash", APIBase: "https://proxy.example/google/v1beta/"}, Chat, "/google/v1beta/models/gemini-2.0-flash:generateContent"},
		{"vertex_ai", Target{Model: "gemini-2.0-flash", Project: "p"}, Chat, "/v1/projects/p/locations/us-central1/publishers/google/models/gemini-2.0-flash:generateContent"},
		{"vertex_ai", Target{Model: "text-embedding-005", Project: "p", Location: "europe-west4"}, Embeddings, "/v1/projects/p/locations/europe-west4/publishers/google/models/text-embedding-005:predict"},
	}
	for _, tc := range tests {
		b := body
		if tc.ep == Embeddings {
			b = []byte(`{"model":"x","input":"hi"}`)
		}
		req, err := For(tc.provider).Request(tc.ep, b, tc.t)
		if err != nil {
			t.Fatalf("%s %+v: %v", tc.provider, tc.t, err)
		}
		if req.Path != tc.want {
			t.Errorf("%s %+v: path %q, want %q", tc.provider, tc.t, req.Path, tc.want)
		}
		if strings.Contains(req.Path, "key=") {
			t.Errorf("path carries a key: %q", req.Path)
		}
	}
	if _, err := For("vertex_ai").Request(Chat, body, Target{Model: "gemini-2.0-flash"}); err == nil {
		t.Error("vertex_ai without a project should fail")
	}
}

// TestGeminiToolCallIDRoundTrip checks that the ids synthesized for Gemini
// function calls are stable and map the tool results back to the right name
// and thought signature.
func TestGeminiToolCallIDRoundTrip(t *testing.T) {
	tr := For("gemini")
	resp := []byte(`{"candidates":[{"content":{"parts":[{"functionCall":{"name":"lookup","args":{"q":"x"}},"thoughtSignature":"U0lH"}],"role":"model"},"finishReason":"STOP","index":0}],"responseId":"abc"}`)
	r1, err := tr.Response(Chat, resp, Target{Model: "m"})
	if err != nil {
		t.Fatal(err)
	}
	r2, _ := tr.Response(Chat, resp, Target{Model: "m"})
	if string(r1.Body) != string(r2.Body) {
		t.Fatal("tool call ids are not stable")
	}
	var cr ChatResponse
	if err := json.Unmarshal(r1.Body, &cr); err != nil {
		t.Fatal(err)
	}
	tc := cr.Choices[0].Message.ToolCalls[0]
	if r1.FinishReason != "tool_calls" || !strings.HasPrefix(tc.ID, "call_") {
		t.Fatalf("finish %q id %q", r1.FinishReason, tc.ID)
	}
	next := map[string]any{"model": "m", "messages": []any{
		map[string]any{"role": "user", "content": "q"},
		map[string]any{"role": "assistant", "tool_calls": []any{tc}},
		map[string]any{"role": "tool", "tool_call_id": tc.ID, "content": "42"},
	}}
	b, _ := json.Marshal(next)
	req, err := tr.Request(Chat, b, Target{Model: "m"})
	if err != nil {
		t.Fatal(err)
	}
	var gr geminiRequest
	if err := json.Unmarshal(req.Body, &gr); err != nil {
		t.Fatal(err)
	}
	if got := gr.Contents[1].Parts[0]; got.FunctionCall == nil || got.ThoughtSignature != "U0lH" {
		t.Fatalf("thought signature lost: %+v", got)
	}
	if got := gr.Contents[2].Parts[0].FunctionResponse; got == nil || got.Name != "lookup" || string(got.Response) != `{"content":"42"}` {
		t.Fatalf("tool result not mapped back by name: %+v", got)
	}
}

func FuzzGeminiStream(f *testing.F) {
	f.Add([]byte("data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]},\"index\":0}]}\n\n"), 3)
	f.Add([]byte("data: {\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"f\",\"args\":{}}}]},\"finishReason\":\"STOP\"}]}\r\n\r\n"), 1)
	f.Add([]byte("data: {\"error\":{\"code\":500}}\n\ndata: x\n\n"), 10)
	f.Add([]byte("data: [1,2]\n\n:comment\ndata: {\"promptFeedback\":{\"blockReason\":\"SAFETY\"}}\n\n"), 0)
	f.Fuzz(func(t *testing.T, in []byte, split int) {
		for _, p := range []string{"gemini", "vertex_ai"} {
			s := For(p).NewStream(Chat, Target{Model: "m"})
			if split < 0 {
				split = -split
			}
			i := 0
			if len(in) > 0 {
				i = split % (len(in) + 1)
			}
			a, _ := s.Feed(in[:i], false)
			b, _ := s.Feed(in[i:], true)
			checkSSE(t, append(a, b...))
		}
	})
}

func FuzzGeminiResponse(f *testing.F) {
	f.Add([]byte(`{"candidates":[{"content":{"parts":[{"text":"x","thought":true},{"functionCall":{"name":"f","args":null}}]},"finishReason":"SAFETY"}],"usageMetadata":{"promptTokenCount":1}}`))
	f.Add([]byte(`{"error":{"code":400,"message":"m","status":"INVALID_ARGUMENT"}}`))
	f.Add([]byte(`{"embeddings":[{"values":[1]}],"predictions":[{"embeddings":{"values":[2]}}]}`))
	f.Add([]byte(`[{"error":{}}]`))
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, p := range []string{"gemini", "vertex_ai"} {
			tr := For(p)
			for _, ep := range []Endpoint{Chat, Embeddings} {
				if r, err := tr.Response(ep, in, Target{Model: "m"}); err == nil && !json.Valid(r.Body) {
					t.Fatalf("invalid JSON body: %s", r.Body)
				}
			}
			if e := tr.Error(400, nil, in); e == nil || !json.Valid(e.JSON()) {
				t.Fatal("bad error")
			}
		}
	})
}

func FuzzGeminiRequest(f *testing.F) {
	f.Add([]byte(`{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AA"}}]},{"role":"tool","tool_call_id":"x","name":"f","content":"{"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"$ref":"#/$defs/a","$defs":{"a":{"$ref":"#/$defs/a"}}}}}]}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := For("gemini").Request(Chat, in, Target{Model: "m", DropParams: true})
		if err == nil && !json.Valid(r.Body) {
			t.Fatalf("invalid JSON body: %s", r.Body)
		}
	})
}

// TestGeminiSchemaRecursion checks that a recursive $ref is cut, not expanded
// without end (Gemini's schema has no $ref).
func TestGeminiSchemaRecursion(t *testing.T) {
	in := `{"$defs":{"node":{"type":"object","properties":{"l":{"$ref":"#/$defs/node"},"r":{"$ref":"#/$defs/node"}}}},"$ref":"#/$defs/node"}`
	got := string(geminiSchema(json.RawMessage(in)))
	want := `{"properties":{"l":{"type":"object"},"r":{"type":"object"}},"type":"object"}`
	if got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
}
