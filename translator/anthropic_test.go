package translator

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
)

var anthTarget = Target{Provider: "anthropic", Model: "claude-sonnet-4-5"}

func TestAnthropicRequestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/anthropic/req_*.json")
	if len(files) == 0 {
		t.Fatal("no request fixtures")
	}
	for _, f := range files {
		if strings.HasSuffix(f, ".golden.json") {
			continue
		}
		t.Run(filepath.Base(f), func(t *testing.T) {
			in, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			tg := anthTarget
			tg.Stream = bytes.Contains(in, []byte(`"stream":true`))
			tg.ModifyParams = strings.Contains(f, "modify_params")
			up, err := anthropicTranslator{}.Request(Chat, in, tg)
			if err != nil {
				t.Fatalf("Request: %v", err)
			}
			if up.Method != "POST" || up.Path != "/v1/messages" || up.Headers["anthropic-version"] != "2023-06-01" || up.Headers["content-type"] != "application/json" {
				t.Fatalf("bad upstream request line/headers: %s %s %v", up.Method, up.Path, up.Headers)
			}
			checkGolden(t, strings.TrimSuffix(f, ".json")+".golden.json", up.Body)
			assertValidAnthropicParams(t, up.Body)
		})
	}
}

// assertValidAnthropicParams decodes the body with the official SDK's
// MessageNewParams and checks that encoding it again gives the same JSON:
// a field the SDK does not know, or a value of the wrong shape, would not
// survive the round trip.
func assertValidAnthropicParams(t *testing.T, body []byte) {
	t.Helper()
	var p anthropic.MessageNewParams
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("anthropic-sdk-go rejects body: %v\n%s", err, body)
	}
	if p.MaxTokens <= 0 || len(p.Messages) == 0 || p.Model == "" {
		t.Fatalf("SDK decode lost required fields: max_tokens=%d messages=%d model=%q", p.MaxTokens, len(p.Messages), p.Model)
	}
	again, err := json.Marshal(p)
	if err != nil {
		t.Fatalf("SDK re-encode: %v", err)
	}
	var a, b any
	_ = json.Unmarshal(body, &a)
	_ = json.Unmarshal(again, &b)
	if am, ok := a.(map[string]any); ok {
		delete(am, "stream") // stream is not a MessageNewParams field (the SDK sets it per call)
	}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("SDK round trip changed the body:\n ours: %s\n  sdk: %s", body, again)
	}
}

func TestAnthropicRequestDetails(t *testing.T) {
	type check func(t *testing.T, body map[string]any)
	tests := []struct {
		name    string
		in      string
		target  Target
		check   check
		wantErr string // substring of the error; param checked in wantParam
		param   string
	}{
		{
			name: "default max_tokens is 4096", in: `{"model":"m","messages":[{"role":"user","content":"hi"}]}`,
			check: func(t *testing.T, b map[string]any) { wantJSON(t, b["max_tokens"], 4096.0) },
		},
		{
			name: "Target.MaxTokensDefault wins over 4096", in: `{"model":"m","messages":[{"role":"user","content":"hi"}]}`,
			target: Target{MaxTokensDefault: 777},
			check:  func(t *testing.T, b map[string]any) { wantJSON(t, b["max_tokens"], 777.0) },
		},
		{
			name: "max_tokens beats max_completion_tokens", in: `{"model":"m","max_tokens":10,"max_completion_tokens":20,"messages":[{"role":"user","content":"hi"}]}`,
			check: func(t *testing.T, b map[string]any) { wantJSON(t, b["max_tokens"], 10.0) },
		},
		{
			name: "thinking budget raises default max_tokens", in: `{"model":"m","reasoning_effort":"high","messages":[{"role":"user","content":"hi"}]}`,
			target: Target{MaxTokensDefault: 1000},
			check: func(t *testing.T, b map[string]any) {
				wantJSON(t, b["max_tokens"], 8192.0)
				wantJSON(t, b["thinking"], map[string]any{"type": "enabled", "budget_tokens": 4096.0})
			},
		},
		{
			name: "tool_choice none and named", in: `{"model":"m","messages":[{"role":"user","content":"hi"}],"tool_choice":{"type":"function","function":{"name":"f"}},"tools":[{"type":"function","function":{"name":"f"}}]}`,
			check: func(t *testing.T, b map[string]any) {
				wantJSON(t, b["tool_choice"], map[string]any{"type": "tool", "name": "f"})
				wantJSON(t, b["tools"], []any{map[string]any{"name": "f", "input_schema": map[string]any{"type": "object", "properties": map[string]any{}}}})
			},
		},
		{
			name: "auto tool choice", in: `{"model":"m","messages":[{"role":"user","content":"hi"}],"tool_choice":"auto"}`,
			check: func(t *testing.T, b map[string]any) { wantJSON(t, b["tool_choice"], map[string]any{"type": "auto"}) },
		},
		{
			name: "none tool choice", in: `{"model":"m","messages":[{"role":"user","content":"hi"}],"tool_choice":"none","parallel_tool_calls":true}`,
			check: func(t *testing.T, b map[string]any) { wantJSON(t, b["tool_choice"], map[string]any{"type": "none"}) },
		},
		{
			name: "consecutive user messages merge", in: `{"model":"m","messages":[{"role":"user","content":"a"},{"role":"user","content":"b"}]}`,
			check: func(t *testing.T, b map[string]any) {
				msgs := b["messages"].([]any)
				if len(msgs) != 1 || len(msgs[0].(map[string]any)["content"].([]any)) != 2 {
					t.Fatalf("not merged: %v", msgs)
				}
			},
		},
		{
			name: "unsupported param is a 400 naming it", in: `{"model":"m","messages":[{"role":"user","content":"hi"}],"presence_penalty":0.5,"seed":3}`,
			wantErr: "presence_penalty not supported by provider anthropic", param: "presence_penalty",
		},
		{
			name: "drop_params drops unsupported", in: `{"model":"m","messages":[{"role":"user","content":"hi"}],"presence_penalty":0.5,"logit_bias":{"1":2}}`,
			target: Target{DropParams: true},
			check: func(t *testing.T, b map[string]any) {
				if _, ok := b["presence_penalty"]; ok {
					t.Fatal("presence_penalty kept")
				}
			},
		},
		{
			name: "additional_drop_params always removed", in: `{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":0.2,"seed":1}`,
			target: Target{AdditionalDropParams: []string{"temperature", "seed"}},
			check: func(t *testing.T, b map[string]any) {
				if _, ok := b["temperature"]; ok {
					t.Fatal("temperature kept")
				}
			},
		},
		{
			name: "n > 1 rejected", in: `{"model":"m","n":2,"messages":[{"role":"user","content":"hi"}]}`,
			wantErr: "param n", param: "n",
		},
		{
			name: "bad tool arguments", in: `{"model":"m","messages":[{"role":"assistant","tool_calls":[{"id":"1","type":"function","function":{"name":"f","arguments":"{oops"}}]}]}`,
			wantErr: "not valid JSON", param: "messages",
		},
		{
			name: "bad reasoning_effort", in: `{"model":"m","reasoning_effort":"ultra","messages":[{"role":"user","content":"hi"}]}`,
			wantErr: "reasoning_effort", param: "reasoning_effort",
		},
		{
			name: "audio part rejected", in: `{"model":"m","messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AA","format":"wav"}}]}]}`,
			wantErr: "input_audio", param: "messages",
		},
		{
			name: "not JSON", in: `{"model":`, wantErr: "not a JSON object",
		},
		{
			name: "only system", in: `{"model":"m","messages":[{"role":"system","content":"x"}]}`, wantErr: "at least one", param: "messages",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := tt.target
			tg.Model = "claude-x"
			up, err := anthropicTranslator{}.Request(Chat, []byte(tt.in), tg)
			if tt.wantErr != "" {
				e, ok := err.(*Error)
				if !ok || e.Status != 400 || !strings.Contains(e.Message, tt.wantErr) || e.Param != tt.param {
					t.Fatalf("want 400 containing %q param %q, got %#v", tt.wantErr, tt.param, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Request: %v", err)
			}
			var b map[string]any
			if err := json.Unmarshal(up.Body, &b); err != nil {
				t.Fatal(err)
			}
			tt.check(t, b)
			assertValidAnthropicParams(t, up.Body)
		})
	}
}

func wantJSON(t *testing.T, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		t.Fatalf("got %s, want %s", g, w)
	}
}

func TestAnthropicResponseGolden(t *testing.T) {
	tests := []struct {
		file   string
		finish string
		usage  Usage
	}{
		{"resp_text.json", "stop", Usage{PromptTokens: 3095, CompletionTokens: 503, TotalTokens: 3598, CachedTokens: 1000}},
		{"resp_tool_use.json", "tool_calls", Usage{PromptTokens: 472, CompletionTokens: 89, TotalTokens: 561}},
		{"resp_json_mode.json", "stop", Usage{PromptTokens: 50, CompletionTokens: 20, TotalTokens: 70}},
		{"resp_max_tokens.json", "length", Usage{PromptTokens: 10, CompletionTokens: 3, TotalTokens: 13}},
		{"resp_refusal.json", "content_filter", Usage{PromptTokens: 10, TotalTokens: 10}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata/anthropic", tt.file)
			in, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			// The fixture must be a valid Anthropic Message per the SDK.
			var m anthropic.Message
			if err := json.Unmarshal(in, &m); err != nil || m.ID == "" {
				t.Fatalf("fixture is not an anthropic.Message: %v", err)
			}
			r, err := anthropicTranslator{}.Response(Chat, in, anthTarget)
			if err != nil {
				t.Fatal(err)
			}
			if r.FinishReason != tt.finish || r.Usage != tt.usage {
				t.Fatalf("finish=%q usage=%+v, want %q %+v", r.FinishReason, r.Usage, tt.finish, tt.usage)
			}
			var cr ChatResponse
			if err := json.Unmarshal(r.Body, &cr); err != nil || cr.Object != "chat.completion" || len(cr.Choices) != 1 {
				t.Fatalf("not a chat.completion: %v %s", err, r.Body)
			}
			checkGolden(t, strings.TrimSuffix(path, ".json")+".golden.json", r.Body)
		})
	}
}

func TestAnthropicResponseMalformed(t *testing.T) {
	for _, in := range []string{``, `[]`, `{"content":"x"}`, `nul`} {
		if _, err := (anthropicTranslator{}).Response(Chat, []byte(in), anthTarget); err == nil {
			t.Errorf("Response(%q): want error", in)
		}
	}
}

func TestAnthropicError(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		headers map[string]string
		body    string
		class   ErrorClass
		typ     string
		msg     string
		retry   time.Duration
	}{
		{"invalid request", 400, nil, `{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: Field required"}}`, ErrBadRequest, "invalid_request_error", "max_tokens: Field required", 0},
		{"context window", 400, nil, `{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 250000 tokens > 200000 maximum"}}`, ErrContextWindow, "invalid_request_error", "prompt is too long: 250000 tokens > 200000 maximum", 0},
		{"auth", 401, nil, `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}`, ErrAuthentication, "authentication_error", "invalid x-api-key", 0},
		{"permission", 403, nil, `{"type":"error","error":{"type":"permission_error","message":"no access"}}`, ErrAuthentication, "authentication_error", "no access", 0},
		{"not found", 404, nil, `{"type":"error","error":{"type":"not_found_error","message":"model: claude-9"}}`, ErrNotFound, "not_found_error", "model: claude-9", 0},
		{"too large", 413, nil, `{"type":"error","error":{"type":"request_too_large","message":"Request exceeds the maximum allowed number of bytes."}}`, ErrBadRequest, "invalid_request_error", "Request exceeds the maximum allowed number of bytes.", 0},
		{"rate limit with retry-after", 429, map[string]string{"Retry-After": "7"}, `{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}`, ErrRateLimit, "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit", 7 * time.Second},
		{"api error", 500, nil, `{"type":"error","error":{"type":"api_error","message":"Internal server error"}}`, ErrInternal, "internal_server_error", "Internal server error", 0},
		{"overloaded 529", 529, nil, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, ErrInternal, "internal_server_error", "Overloaded", 0},
		{"not json", 502, nil, `<html>bad gateway</html>`, ErrInternal, "internal_server_error", "<html>bad gateway</html>", 0},
		{"empty", 503, nil, ``, ErrInternal, "internal_server_error", "Service Unavailable", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := anthropicTranslator{}.Error(tt.status, tt.headers, []byte(tt.body))
			if e.Status != tt.status || e.Class != tt.class || e.Type != tt.typ || e.Message != tt.msg || e.RetryAfter != tt.retry {
				t.Fatalf("got %+v", e)
			}
			var eb ErrorBody
			if err := json.Unmarshal(e.JSON(), &eb); err != nil || eb.Error.Message != tt.msg {
				t.Fatalf("bad error JSON %s", e.JSON())
			}
		})
	}
}

// feedAll runs a stream over chunks and returns the output.
func feedAll(t *testing.T, s Stream, chunks [][]byte) []byte {
	t.Helper()
	var out []byte
	for i, c := range chunks {
		b, err := s.Feed(c, i == len(chunks)-1)
		if err != nil {
			t.Fatalf("Feed: %v", err)
		}
		out = append(out, b...)
	}
	return out
}

func TestAnthropicStreamGolden(t *testing.T) {
	tests := []struct {
		file         string
		includeUsage bool
		finish       string
		usage        Usage
		errClass     ErrorClass
	}{
		{"stream_text.sse", true, "stop", Usage{PromptTokens: 25, CompletionTokens: 15, TotalTokens: 40}, ErrNone},
		{"stream_tool_use.sse", false, "tool_calls", Usage{PromptTokens: 572, CompletionTokens: 89, TotalTokens: 661, CachedTokens: 100}, ErrNone},
		{"stream_json_mode.sse", false, "stop", Usage{PromptTokens: 40, CompletionTokens: 12, TotalTokens: 52}, ErrNone},
		{"stream_error.sse", false, "", Usage{PromptTokens: 5, CompletionTokens: 1, TotalTokens: 6}, ErrInternal},
		{"stream_truncated.sse", false, "", Usage{PromptTokens: 5, CompletionTokens: 1, TotalTokens: 6}, ErrInternal},
		// Every stop reason: max_tokens → length, refusal → content_filter,
		// stop_sequence → stop (tool_use → tool_calls above).
		{"stream_max_tokens.sse", false, "length", Usage{PromptTokens: 25, CompletionTokens: 2, TotalTokens: 27}, ErrNone},
		{"stream_refusal.sse", false, "content_filter", Usage{PromptTokens: 25, CompletionTokens: 15, TotalTokens: 40}, ErrNone},
		{"stream_stop_sequence.sse", false, "stop", Usage{PromptTokens: 25, CompletionTokens: 15, TotalTokens: 40}, ErrNone},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := filepath.Join("testdata/anthropic", tt.file)
			in, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			run := func(chunks [][]byte) (Stream, []byte) {
				s := anthropicTranslator{}.NewStream(Chat, anthTarget)
				s.(IncludeUsageSetter).SetIncludeUsage(tt.includeUsage)
				return s, feedAll(t, s, chunks)
			}
			s, whole := run([][]byte{in})
			if s.FinishReason() != tt.finish || s.Usage() != tt.usage {
				t.Fatalf("finish=%q usage=%+v, want %q %+v", s.FinishReason(), s.Usage(), tt.finish, tt.usage)
			}
			if e := s.(StreamErr).Err(); (e == nil) != (tt.errClass == ErrNone) || (e != nil && e.Class != tt.errClass) {
				t.Fatalf("Err() = %+v, want class %v", e, tt.errClass)
			}
			checkGolden(t, strings.TrimSuffix(path, ".sse")+".golden.sse", whole)
			assertOpenAISSE(t, whole)
			for i := 0; i <= len(in); i++ {
				if _, got := run([][]byte{in[:i], in[i:]}); !bytes.Equal(got, whole) {
					t.Fatalf("split at %d gives different output:\n%s\nvs\n%s", i, got, whole)
				}
			}
		})
	}
}

// assertOpenAISSE checks every event is data-only and is a chunk, an error or [DONE].
func assertOpenAISSE(t *testing.T, b []byte) {
	t.Helper()
	var p SSEParser
	for _, ev := range p.Feed(b, true) {
		if ev.Event != "" {
			t.Fatalf("OpenAI SSE has no event: lines, got %q", ev.Event)
		}
		if string(ev.Data) == "[DONE]" {
			continue
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(ev.Data, &m); err != nil {
			t.Fatalf("event is not JSON: %s", ev.Data)
		}
		if _, ok := m["error"]; ok {
			continue
		}
		var c ChatChunk
		if err := json.Unmarshal(ev.Data, &c); err != nil || c.Object != "chat.completion.chunk" {
			t.Fatalf("not a chunk: %s", ev.Data)
		}
	}
}

func FuzzAnthropicStream(f *testing.F) {
	for _, n := range []string{"stream_text.sse", "stream_tool_use.sse", "stream_error.sse", "stream_json_mode.sse"} {
		b, err := os.ReadFile(filepath.Join("testdata/anthropic", n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, 7)
	}
	f.Add([]byte("data: {\"type\":\"content_block_delta\",\"index\":-1,\"delta\":{\"type\":\"input_json_delta\"}}\n\n"), 0)
	f.Fuzz(func(t *testing.T, in []byte, split int) {
		if split < 0 {
			split = -split
		}
		split %= len(in) + 1
		s := anthropicTranslator{}.NewStream(Chat, anthTarget)
		s.(IncludeUsageSetter).SetIncludeUsage(true)
		a, _ := s.Feed(in[:split], false)
		b, _ := s.Feed(in[split:], true)
		out := append(a, b...)
		// The output always ends the stream: [DONE] or an error event.
		if !bytes.HasSuffix(out, SSEDone) && !bytes.Contains(out, []byte(`{"error":`)) {
			t.Fatalf("stream not terminated: %q", out)
		}
	})
}

func FuzzAnthropicResponse(f *testing.F) {
	files, _ := filepath.Glob("testdata/anthropic/resp_*.json")
	for _, n := range files {
		if b, err := os.ReadFile(n); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r, err := anthropicTranslator{}.Response(Chat, in, anthTarget)
		if err == nil && !json.Valid(r.Body) {
			t.Fatalf("invalid JSON out: %s", r.Body)
		}
		_ = anthropicTranslator{}.Error(400, nil, in)
	})
}

func FuzzAnthropicRequest(f *testing.F) {
	files, _ := filepath.Glob("testdata/anthropic/req_*.json")
	for _, n := range files {
		if b, err := os.ReadFile(n); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		up, err := anthropicTranslator{}.Request(Chat, in, anthTarget)
		if err == nil && !json.Valid(up.Body) {
			t.Fatalf("invalid JSON out: %s", up.Body)
		}
	})
}
