package translator

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	awses "github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

const brkClaude = "anthropic.claude-3-5-sonnet-20240620-v1:0"

func TestBedrockRequestGolden(t *testing.T) {
	tests := []struct {
		file, model string
		stream      bool
		path        string
	}{
		{"req_basic.json", brkClaude, false, "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"},
		{"req_tools_multiturn.json", "us." + brkClaude, true, "/model/us.anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream"},
		{"req_llama_json.json", "meta.llama3-1-70b-instruct-v1:0", false, "/model/meta.llama3-1-70b-instruct-v1%3A0/converse"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata/bedrock", tt.file)
			in, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			up, err := bedrockTranslator{}.Request(Chat, in, Target{Provider: "bedrock", Model: tt.model, Region: "us-east-1", Stream: tt.stream})
			if err != nil {
				t.Fatalf("Request: %v", err)
			}
			if up.Method != "POST" || up.Path != tt.path || up.Headers["content-type"] != "application/json" {
				t.Fatalf("got %s %s %v", up.Method, up.Path, up.Headers)
			}
			if tt.stream != (up.Headers["accept"] == "application/vnd.amazon.eventstream") {
				t.Fatalf("accept %q", up.Headers["accept"])
			}
			checkGolden(t, strings.TrimSuffix(path, ".json")+".golden.json", up.Body)
		})
	}
}

func TestBedrockModelPath(t *testing.T) {
	tests := map[string]string{
		"amazon.titan-embed-text-v2:0": "/model/amazon.titan-embed-text-v2%3A0/invoke",
		"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.meta.llama3-2-1b-instruct-v1:0": "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.meta.llama3-2-1b-instruct-v1%3A0/invoke",
		"a b~c": "/model/a%20b~c/invoke",
	}
	for in, want := range tests {
		if got := bedrockModelPath(in, "invoke"); got != want {
			t.Errorf("bedrockModelPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBedrockRequestDetails(t *testing.T) {
	tests := []struct {
		name, model, in string
		target          Target
		check           func(t *testing.T, b map[string]any)
		wantErr, param  string
	}{
		{name: "https image rejected", model: brkClaude, in: `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}]}`, wantErr: "data: URLs", param: "messages"},
		{name: "bmp rejected", model: brkClaude, in: `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/bmp;base64,AA=="}}]}]}`, wantErr: "image/bmp", param: "messages"},
		{name: "reasoning_effort on llama is unsupported", model: "meta.llama3-1-70b-instruct-v1:0", in: `{"messages":[{"role":"user","content":"x"}],"reasoning_effort":"low"}`, wantErr: "reasoning_effort not supported", param: "reasoning_effort"},
		{name: "user unsupported", model: brkClaude, in: `{"messages":[{"role":"user","content":"x"}],"user":"u"}`, wantErr: "param user", param: "user"},
		{name: "required tool_choice on llama", model: "meta.llama3-1-70b-instruct-v1:0", in: `{"messages":[{"role":"user","content":"x"}],"tool_choice":"required","tools":[{"type":"function","function":{"name":"f"}}]}`, wantErr: "tool_choice", param: "tool_choice"},
		{name: "required tool_choice on llama dropped", model: "meta.llama3-1-70b-instruct-v1:0", in: `{"messages":[{"role":"user","content":"x"}],"tool_choice":"required","tools":[{"type":"function","function":{"name":"f"}}]}`,
			target: Target{DropParams: true},
			check: func(t *testing.T, b map[string]any) {
				if _, ok := b["toolConfig"].(map[string]any)["toolChoice"]; ok {
					t.Fatal("toolChoice kept")
				}
			}},
		{name: "nova top_k and any", model: "us.amazon.nova-pro-v1:0", in: `{"messages":[{"role":"user","content":"x"}],"top_k":20,"tool_choice":"required","tools":[{"type":"function","function":{"name":"f"}}]}`,
			check: func(t *testing.T, b map[string]any) {
				wantJSON(t, b["additionalModelRequestFields"], map[string]any{"inferenceConfig": map[string]any{"topK": 20.0}})
				wantJSON(t, b["toolConfig"].(map[string]any)["toolChoice"], map[string]any{"any": map[string]any{}})
			}},
		{name: "thinking raises default maxTokens", model: brkClaude, in: `{"messages":[{"role":"user","content":"x"}],"reasoning_effort":"high"}`,
			check: func(t *testing.T, b map[string]any) {
				wantJSON(t, b["inferenceConfig"], map[string]any{"maxTokens": 8192.0})
			}},
		{name: "consecutive tool results merge into one user turn", model: brkClaude, in: `{"messages":[{"role":"user","content":"x"},{"role":"assistant","tool_calls":[{"id":"a","type":"function","function":{"name":"f","arguments":""}},{"id":"b","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"a","content":"1"},{"role":"tool","tool_call_id":"b","content":"2"}],"tools":[{"type":"function","function":{"name":"f"}}]}`,
			check: func(t *testing.T, b map[string]any) {
				msgs := b["messages"].([]any)
				if len(msgs) != 3 || len(msgs[2].(map[string]any)["content"].([]any)) != 2 {
					t.Fatalf("not merged: %v", msgs)
				}
				wantJSON(t, msgs[1].(map[string]any)["content"].([]any)[0], map[string]any{"toolUse": map[string]any{"toolUseId": "a", "name": "f", "input": map[string]any{}}})
			}},
		{name: "no messages", model: brkClaude, in: `{"messages":[]}`, wantErr: "at least one", param: "messages"},
		{name: "garbage", model: brkClaude, in: `[1,2`, wantErr: "not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := tt.target
			tg.Model = tt.model
			up, err := bedrockTranslator{}.Request(Chat, []byte(tt.in), tg)
			if tt.wantErr != "" {
				e, ok := err.(*Error)
				if !ok || e.Status != 400 || !strings.Contains(e.Message, tt.wantErr) || e.Param != tt.param {
					t.Fatalf("want 400 %q param %q, got %#v", tt.wantErr, tt.param, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var b map[string]any
			if err := json.Unmarshal(up.Body, &b); err != nil {
				t.Fatal(err)
			}
			tt.check(t, b)
		})
	}
}

func TestBedrockResponseGolden(t *testing.T) {
	tests := []struct {
		file   string
		finish string
		usage  Usage
	}{
		{"resp_text.json", "stop", Usage{PromptTokens: 150, CompletionTokens: 60, TotalTokens: 210, CachedTokens: 25}},
		{"resp_tool_use.json", "tool_calls", Usage{PromptTokens: 375, CompletionTokens: 65, TotalTokens: 440}},
		{"resp_json_mode.json", "stop", Usage{PromptTokens: 20, CompletionTokens: 10, TotalTokens: 30}},
		{"resp_guardrail.json", "content_filter", Usage{PromptTokens: 10, CompletionTokens: 9, TotalTokens: 19}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata/bedrock", tt.file)
			in, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			r, err := bedrockTranslator{}.Response(Chat, in, Target{Model: brkClaude})
			if err != nil {
				t.Fatal(err)
			}
			if r.FinishReason != tt.finish || r.Usage != tt.usage {
				t.Fatalf("finish %q usage %+v, want %q %+v", r.FinishReason, r.Usage, tt.finish, tt.usage)
			}
			checkGolden(t, strings.TrimSuffix(path, ".json")+".golden.json", r.Body)
		})
	}
	for _, bad := range []string{``, `{}`, `{"output":{}}`, `{"output":{"message":{"content":"x"}}}`} {
		if _, err := (bedrockTranslator{}).Response(Chat, []byte(bad), Target{}); err == nil {
			t.Errorf("Response(%q): want error", bad)
		}
	}
}

func TestBedrockError(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		errType string
		body    string
		class   ErrorClass
		msg     string
	}{
		{"validation", 400, "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/", `{"message":"The provided model identifier is invalid."}`, ErrBadRequest, "The provided model identifier is invalid."},
		{"context window", 400, "ValidationException", `{"message":"Input is too long for requested model."}`, ErrContextWindow, "Input is too long for requested model."},
		{"access denied", 403, "AccessDeniedException", `{"Message":"You don't have access to the model with the specified model ID."}`, ErrAuthentication, "You don't have access to the model with the specified model ID."},
		{"signature", 403, "InvalidSignatureException", `{"message":"The request signature we calculated does not match the signature you provided."}`, ErrAuthentication, "The request signature we calculated does not match the signature you provided."},
		{"not found", 404, "ResourceNotFoundException", `{"message":"Could not resolve the foundation model"}`, ErrNotFound, "Could not resolve the foundation model"},
		{"throttling", 429, "ThrottlingException", `{"message":"Too many requests, please wait before trying again."}`, ErrRateLimit, "Too many requests, please wait before trying again."},
		{"quota as 400 is still a rate limit", 400, "ServiceQuotaExceededException", `{"message":"quota"}`, ErrRateLimit, "quota"},
		{"model timeout", 408, "ModelTimeoutException", `{"message":"Model has timed out"}`, ErrTimeout, "Model has timed out"},
		{"internal", 500, "InternalServerException", `{"message":"Internal failure"}`, ErrInternal, "Internal failure"},
		{"unavailable", 503, "ServiceUnavailableException", `not json`, ErrInternal, "not json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := bedrockTranslator{}.Error(tt.status, map[string]string{"X-Amzn-ErrorType": tt.errType, "retry-after": "2"}, []byte(tt.body))
			if e.Status != tt.status || e.Class != tt.class || e.Message != tt.msg || e.RetryAfter.Seconds() != 2 {
				t.Fatalf("got %+v", e)
			}
		})
	}
}

type brkFixtureFrame struct {
	Event     string          `json:"event"`
	Exception string          `json:"exception"`
	Payload   json.RawMessage `json:"payload"`
}

// encodeBedrockFixture turns a JSON list of events into ConverseStream bytes
// with aws-sdk-go-v2's eventstream encoder.
func encodeBedrockFixture(t testing.TB, path string) []byte {
	t.Helper()
	in, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var frames []brkFixtureFrame
	if err := json.Unmarshal(in, &frames); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := awses.NewEncoder()
	for _, f := range frames {
		var h awses.Headers
		if f.Exception != "" {
			h.Set(":exception-type", awses.StringValue(f.Exception))
			h.Set(":content-type", awses.StringValue("application/json"))
			h.Set(":message-type", awses.StringValue("exception"))
		} else {
			h.Set(":event-type", awses.StringValue(f.Event))
			h.Set(":content-type", awses.StringValue("application/json"))
			h.Set(":message-type", awses.StringValue("event"))
		}
		if err := enc.Encode(&buf, awses.Message{Headers: h, Payload: f.Payload}); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func TestBedrockStreamGolden(t *testing.T) {
	tests := []struct {
		file         string
		includeUsage bool
		finish       string
		usage        Usage
		errClass     ErrorClass
		errStatus    int
	}{
		{"stream_text.json", true, "length", Usage{PromptTokens: 40, CompletionTokens: 4, TotalTokens: 44, CachedTokens: 10}, ErrNone, 0},
		{"stream_tool_use.json", false, "tool_calls", Usage{PromptTokens: 375, CompletionTokens: 65, TotalTokens: 440}, ErrNone, 0},
		{"stream_guardrail.json", true, "content_filter", Usage{}, ErrNone, 0},
		{"stream_exception.json", false, "", Usage{}, ErrRateLimit, 429},
		{"stream_validation_exception.json", false, "", Usage{}, ErrContextWindow, 400},
		// stop reasons: stop_sequence and end_turn → stop, content_filtered → content_filter
		{"stream_stop_sequence.json", false, "stop", Usage{PromptTokens: 40, CompletionTokens: 4, TotalTokens: 44, CachedTokens: 10}, ErrNone, 0},
		{"stream_end_turn.json", false, "stop", Usage{PromptTokens: 40, CompletionTokens: 4, TotalTokens: 44, CachedTokens: 10}, ErrNone, 0},
		{"stream_content_filtered.json", false, "content_filter", Usage{PromptTokens: 40, CompletionTokens: 4, TotalTokens: 44, CachedTokens: 10}, ErrNone, 0},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata/bedrock", tt.file)
			wire := encodeBedrockFixture(t, path)
			run := func(chunks [][]byte) (Stream, []byte) {
				s := bedrockTranslator{}.NewStream(Chat, Target{Model: brkClaude, Stream: true})
				s.(IncludeUsageSetter).SetIncludeUsage(tt.includeUsage)
				return s, feedAll(t, s, chunks)
			}
			s, whole := run([][]byte{wire})
			if s.FinishReason() != tt.finish || s.Usage() != tt.usage {
				t.Fatalf("finish %q usage %+v, want %q %+v", s.FinishReason(), s.Usage(), tt.finish, tt.usage)
			}
			e := s.(StreamErr).Err()
			if (e == nil) != (tt.errClass == ErrNone) || (e != nil && (e.Class != tt.errClass || e.Status != tt.errStatus)) {
				t.Fatalf("Err() = %+v, want class %v status %d", e, tt.errClass, tt.errStatus)
			}
			checkGolden(t, strings.TrimSuffix(path, ".json")+".golden.sse", whole)
			assertOpenAISSE(t, whole)
			for i := 0; i <= len(wire); i++ {
				if _, got := run([][]byte{wire[:i], wire[i:]}); !bytes.Equal(got, whole) {
					t.Fatalf("split at %d differs:\n%s\nvs\n%s", i, got, whole)
				}
			}
		})
	}
}

func TestBedrockStreamCorruptAndTruncated(t *testing.T) {
	wire := encodeBedrockFixture(t, "testdata/bedrock/stream_text.json")
	tests := map[string][]byte{
		"truncated mid-frame":    wire[:200],
		"cut before messageStop": wire[:40],
		"crc flipped":            append(append([]byte{}, wire[:30]...), append([]byte{wire[30] ^ 0xff}, wire[31:]...)...),
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			s := bedrockTranslator{}.NewStream(Chat, Target{Model: brkClaude})
			out := feedAll(t, s, [][]byte{in, nil})
			if s.(StreamErr).Err() == nil || !bytes.Contains(out, []byte(`data: {"error":`)) || bytes.Contains(out, SSEDone) {
				t.Fatalf("want an SSE error and no [DONE], got %s", out)
			}
		})
	}
}

// A cut inside the trailing metadata frame loses only usage: the answer is
// complete after messageStop, so the client gets [DONE].
func TestBedrockStreamCutInMetadata(t *testing.T) {
	wire := encodeBedrockFixture(t, "testdata/bedrock/stream_text.json")
	s := bedrockTranslator{}.NewStream(Chat, Target{Model: brkClaude})
	out := feedAll(t, s, [][]byte{wire[:len(wire)-5], nil})
	if s.(StreamErr).Err() != nil || !bytes.HasSuffix(out, SSEDone) || s.FinishReason() != "length" {
		t.Fatalf("got err %v, out %s", s.(StreamErr).Err(), out)
	}
}

func TestBedrockEmbeddings(t *testing.T) {
	tests := []struct {
		name, model, in string
		target          Target
		wantBody        string
		wantErr, param  string
	}{
		{name: "titan v2", model: "amazon.titan-embed-text-v2:0", in: `{"model":"e","input":"hello","dimensions":256}`, wantBody: `{"dimensions":256,"inputText":"hello"}`},
		{name: "titan one-element list", model: "amazon.titan-embed-text-v1", in: `{"model":"e","input":["hello"],"encoding_format":"float"}`, wantBody: `{"inputText":"hello"}`},
		{name: "titan many inputs", model: "amazon.titan-embed-text-v1", in: `{"model":"e","input":["a","b"]}`, wantErr: "one input per request", param: "input"},
		{name: "titan v1 dimensions", model: "amazon.titan-embed-text-v1", in: `{"model":"e","input":"a","dimensions":3}`, wantErr: "dimensions", param: "dimensions"},
		{name: "cohere default input_type", model: "cohere.embed-english-v3", in: `{"model":"e","input":["a","b"]}`, wantBody: `{"input_type":"search_document","texts":["a","b"]}`},
		{name: "cohere input_type", model: "cohere.embed-multilingual-v3", in: `{"model":"e","input":"q","input_type":"search_query"}`, wantBody: `{"input_type":"search_query","texts":["q"]}`},
		{name: "base64 unsupported", model: "cohere.embed-english-v3", in: `{"model":"e","input":"q","encoding_format":"base64"}`, wantErr: "encoding_format", param: "encoding_format"},
		{name: "token arrays", model: "cohere.embed-english-v3", in: `{"model":"e","input":[[1,2]]}`, wantErr: "token arrays", param: "input"},
		{name: "unknown model", model: "amazon.nova-pro-v1:0", in: `{"model":"e","input":"q"}`, wantErr: "not supported", param: "model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := tt.target
			tg.Model = tt.model
			up, err := bedrockTranslator{}.Request(Embeddings, []byte(tt.in), tg)
			if tt.wantErr != "" {
				e, ok := err.(*Error)
				if !ok || e.Status != 400 || !strings.Contains(e.Message, tt.wantErr) || e.Param != tt.param {
					t.Fatalf("want 400 %q param %q, got %#v", tt.wantErr, tt.param, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(up.Body) != tt.wantBody || up.Path != bedrockModelPath(tt.model, "invoke") {
				t.Fatalf("got %s %s", up.Path, up.Body)
			}
		})
	}

	r, err := bedrockTranslator{}.Response(Embeddings, []byte(`{"embedding":[0.5,-0.25],"inputTextTokenCount":3}`), Target{Model: "amazon.titan-embed-text-v2:0"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.5,-0.25]}],"model":"amazon.titan-embed-text-v2:0","usage":{"prompt_tokens":3,"completion_tokens":0,"total_tokens":3}}`
	if string(r.Body) != want || r.Usage.PromptTokens != 3 {
		t.Fatalf("titan response %s", r.Body)
	}
	r, err = bedrockTranslator{}.Response(Embeddings, []byte(`{"embeddings":[[1],[2]],"id":"x","response_type":"embeddings_floats","texts":["a","b"]}`), Target{Model: "cohere.embed-english-v3"})
	if err != nil {
		t.Fatal(err)
	}
	var er EmbeddingResponse
	if err := json.Unmarshal(r.Body, &er); err != nil || len(er.Data) != 2 || er.Data[1].Index != 1 || er.Data[1].Embedding[0] != 2 {
		t.Fatalf("cohere response %s", r.Body)
	}
	if _, err := (bedrockTranslator{}).Response(Embeddings, []byte(`{"x":1}`), Target{}); err == nil {
		t.Fatal("want error for response without embeddings")
	}
}

func FuzzBedrockStream(f *testing.F) {
	files, _ := filepath.Glob("testdata/bedrock/stream_*.json")
	for _, p := range files {
		if strings.HasSuffix(p, ".golden.json") {
			continue
		}
		f.Add(encodeBedrockFixture(f, p), 13)
	}
	f.Fuzz(func(t *testing.T, in []byte, split int) {
		if split < 0 {
			split = -split
		}
		split %= len(in) + 1
		s := bedrockTranslator{}.NewStream(Chat, Target{Model: brkClaude})
		s.(IncludeUsageSetter).SetIncludeUsage(true)
		a, _ := s.Feed(in[:split], false)
		b, _ := s.Feed(in[split:], true)
		out := append(a, b...)
		if !bytes.HasSuffix(out, SSEDone) && !bytes.Contains(out, []byte(`{"error":`)) {
			t.Fatalf("stream not terminated: %q", out)
		}
	})
}

func FuzzBedrockStreamPayload(f *testing.F) {
	// Valid frames with fuzzed payload and event type: exercises the JSON handling.
	f.Add("contentBlockDelta", []byte(`{"contentBlockIndex":0,"delta":{"text":"x"}}`))
	f.Add("contentBlockStart", []byte(`{"contentBlockIndex":2,"start":{"toolUse":{"toolUseId":"a","name":"json_tool_call"}}}`))
	f.Add("metadata", []byte(`{"usage":null}`))
	f.Fuzz(func(t *testing.T, event string, payload []byte) {
		var buf bytes.Buffer
		enc := awses.NewEncoder()
		for _, m := range []awses.Message{
			{Headers: awses.Headers{{Name: ":event-type", Value: awses.StringValue("messageStart")}, {Name: ":message-type", Value: awses.StringValue("event")}}, Payload: []byte(`{"role":"assistant"}`)},
			{Headers: awses.Headers{{Name: ":event-type", Value: awses.StringValue(event)}, {Name: ":message-type", Value: awses.StringValue("event")}}, Payload: payload},
		} {
			if err := enc.Encode(&buf, m); err != nil {
				return
			}
		}
		s := bedrockTranslator{}.NewStream(Chat, Target{Model: brkClaude})
		_, _ = s.Feed(buf.Bytes(), true)
	})
}

func FuzzBedrockResponse(f *testing.F) {
	files, _ := filepath.Glob("testdata/bedrock/resp_*.json")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, ep := range []Endpoint{Chat, Embeddings} {
			if r, err := (bedrockTranslator{}).Response(ep, in, Target{Model: brkClaude}); err == nil && !json.Valid(r.Body) {
				t.Fatalf("invalid JSON out: %s", r.Body)
			}
		}
		_ = bedrockTranslator{}.Error(500, map[string]string{"x-amzn-errortype": string(in)}, in)
	})
}

func FuzzBedrockRequest(f *testing.F) {
	files, _ := filepath.Glob("testdata/bedrock/req_*.json")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, m := range []string{brkClaude, "us.amazon.nova-lite-v1:0", "amazon.titan-embed-text-v2:0", "cohere.embed-english-v3"} {
			for _, ep := range []Endpoint{Chat, Embeddings} {
				if up, err := (bedrockTranslator{}).Request(ep, in, Target{Model: m}); err == nil && !json.Valid(up.Body) {
					t.Fatalf("invalid JSON out: %s", up.Body)
				}
			}
		}
	})
}
