package translator

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// openAI.Error classifies the errors of every OpenAI-compatible provider
// (OpenAI, Azure, Groq, vLLM, …); its class drives retries, cooldowns and
// the context-window and content-policy fallbacks.
func TestOpenAIErrorClassification(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		headers    map[string]string
		body       string
		class      ErrorClass
		message    string
		param      string
		code       string
		retryAfter time.Duration
	}{
		{name: "401 bad key", status: 401,
			body:  `{"error":{"message":"Incorrect API key provided: sk-abc","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`,
			class: ErrAuthentication, message: "Incorrect API key provided: sk-abc", code: "invalid_api_key"},
		{name: "403", status: 403, body: `{"error":{"message":"Project does not have access","type":"permission_error"}}`,
			class: ErrAuthentication, message: "Project does not have access", code: "403"},
		{name: "404 model", status: 404, body: `{"error":{"message":"The model gpt-9 does not exist","type":"invalid_request_error","param":"model","code":"model_not_found"}}`,
			class: ErrNotFound, message: "The model gpt-9 does not exist", param: "model", code: "model_not_found"},
		{name: "408", status: 408, body: `{"error":{"message":"Request timed out"}}`, class: ErrTimeout, message: "Request timed out", code: "408"},
		{name: "429 with retry-after", status: 429, headers: map[string]string{"retry-after": "20"},
			body:  `{"error":{"message":"Rate limit reached for gpt-4o","type":"requests","code":"rate_limit_exceeded"}}`,
			class: ErrRateLimit, message: "Rate limit reached for gpt-4o", code: "rate_limit_exceeded", retryAfter: 20 * time.Second},
		{name: "429 fractional retry-after", status: 429, headers: map[string]string{"retry-after": "1.5"}, body: `{"error":{"message":"slow down"}}`,
			class: ErrRateLimit, message: "slow down", code: "429", retryAfter: 1500 * time.Millisecond},
		{name: "429 malformed retry-after", status: 429, headers: map[string]string{"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, body: `{"error":{"message":"slow down"}}`,
			class: ErrRateLimit, message: "slow down", code: "429"},
		{name: "400 plain", status: 400, body: `{"error":{"message":"Invalid value for 'temperature'","type":"invalid_request_error","param":"temperature","code":null}}`,
			class: ErrBadRequest, message: "Invalid value for 'temperature'", param: "temperature", code: "400"},
		{name: "400 context window by code", status: 400,
			body:  `{"error":{"message":"This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}`,
			class: ErrContextWindow, message: "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.", param: "messages", code: "context_length_exceeded"},
		{name: "context window by message only (vLLM)", status: 400, body: `{"object":"error","message":"x","error":{"message":"prompt is too long: 9000 tokens > 8192 maximum"}}`,
			class: ErrContextWindow, message: "prompt is too long: 9000 tokens > 8192 maximum", code: "400"},
		{name: "context window on a 413", status: 413, body: `{"error":{"message":"Input is too long for requested model."}}`,
			class: ErrContextWindow, message: "Input is too long for requested model.", code: "413"},
		{name: "content policy by code", status: 400,
			body:  `{"error":{"message":"Your request was rejected as a result of our safety system.","type":"invalid_request_error","code":"content_policy_violation"}}`,
			class: ErrContentPolicy, message: "Your request was rejected as a result of our safety system.", code: "content_policy_violation"},
		{name: "azure content filter", status: 400,
			body:  `{"error":{"message":"The response was filtered due to the prompt triggering Azure OpenAI's content management policy.","type":null,"param":"prompt","code":"content_filter","status":400}}`,
			class: ErrContentPolicy, message: "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.", param: "prompt", code: "content_filter"},
		{name: "azure ResponsibleAIPolicyViolation", status: 400,
			body:  `{"error":{"message":"blocked","code":"ResponsibleAIPolicyViolation"}}`,
			class: ErrContentPolicy, message: "blocked", code: "ResponsibleAIPolicyViolation"},
		{name: "500", status: 500, body: `{"error":{"message":"The server had an error while processing your request.","type":"server_error"}}`,
			class: ErrInternal, message: "The server had an error while processing your request.", code: "500"},
		{name: "503 plain text", status: 503, body: "upstream connect error or disconnect/reset before headers\n",
			class: ErrInternal, message: "upstream connect error or disconnect/reset before headers", code: "503"},
		{name: "502 html", status: 502, body: `<html><body>Bad Gateway</body></html>`,
			class: ErrInternal, message: "<html><body>Bad Gateway</body></html>", code: "502"},
		{name: "empty body", status: 500, body: ``, class: ErrInternal, message: "upstream returned status 500", code: "500"},
		{name: "numeric code is ignored", status: 429, body: `{"error":{"message":"busy","code":429}}`, class: ErrRateLimit, message: "busy", code: "429"},
		{name: "invalid UTF-8 in a text body", status: 500, body: "bad \xff\xfe body", class: ErrInternal, message: "bad  body", code: "500"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := openAI{}.Error(tc.status, tc.headers, []byte(tc.body))
			if e.Status != tc.status || e.Class != tc.class {
				t.Fatalf("status %d class %d, want %d class %d", e.Status, e.Class, tc.status, tc.class)
			}
			if e.Message != tc.message || e.Param != tc.param || e.Code != tc.code {
				t.Fatalf("message %q param %q code %q, want %q %q %q", e.Message, e.Param, e.Code, tc.message, tc.param, tc.code)
			}
			if e.RetryAfter != tc.retryAfter {
				t.Fatalf("retry-after %v, want %v", e.RetryAfter, tc.retryAfter)
			}
			if e.Type == "" {
				t.Fatal("no error type")
			}
			if !bytes.HasPrefix(e.JSON(), []byte(`{"error":{`)) {
				t.Fatalf("not OpenAI error JSON: %s", e.JSON())
			}
		})
	}
}

// openAIStream passes an OpenAI-compatible stream through event by event and
// records the finish reason and the usage chunk, whatever the chunking.
func TestOpenAIStreamFeed(t *testing.T) {
	chunk := func(delta, finish string) string {
		f := "null"
		if finish != "" {
			f = `"` + finish + `"`
		}
		return `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":` + delta + `,"finish_reason":` + f + "}]}\n\n"
	}
	usage := `data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12,"prompt_tokens_details":{"cached_tokens":4}}}` + "\n\n"
	done := "data: [DONE]\n\n"
	tests := []struct {
		name   string
		in     string
		finish string
		usage  Usage
	}{
		{"stop with usage", chunk(`{"role":"assistant","content":"Hi"}`, "") + chunk(`{}`, "stop") + usage + done, "stop", Usage{PromptTokens: 9, CompletionTokens: 3, TotalTokens: 12, CachedTokens: 4}},
		{"length", chunk(`{"content":"a"}`, "") + chunk(`{}`, "length") + done, "length", Usage{}},
		{"content_filter", chunk(`{"content":"a"}`, "") + chunk(`{}`, "content_filter") + done, "content_filter", Usage{}},
		{"tool_calls", chunk(`{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}]}`, "") + chunk(`{}`, "tool_calls") + done, "tool_calls", Usage{}},
		{"CRLF line ends and comments", strings.ReplaceAll(": keep-alive\n\n"+chunk(`{"content":"a"}`, "")+chunk(`{}`, "stop")+done, "\n", "\r\n"), "stop", Usage{}},
		{"no finish (cut)", chunk(`{"content":"a"}`, ""), "", Usage{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			feed := func(pieces ...string) (Stream, []byte) {
				s := openAI{}.NewStream(Chat, Target{})
				var out []byte
				for i, p := range pieces {
					b, err := s.Feed([]byte(p), i == len(pieces)-1)
					if err != nil {
						t.Fatal(err)
					}
					out = append(out, b...)
				}
				return s, out
			}
			s, whole := feed(tc.in)
			if s.FinishReason() != tc.finish || s.Usage() != tc.usage {
				t.Fatalf("finish %q usage %+v, want %q %+v", s.FinishReason(), s.Usage(), tc.finish, tc.usage)
			}
			// Every data event reaches the client unchanged and in order.
			var in, out SSEParser
			want, got := in.Feed([]byte(tc.in), true), out.Feed(whole, true)
			var wantData, gotData []string
			for _, ev := range want {
				if len(ev.Data) > 0 {
					wantData = append(wantData, string(ev.Data))
				}
			}
			for _, ev := range got {
				gotData = append(gotData, string(ev.Data))
			}
			if strings.Join(gotData, "\n") != strings.Join(wantData, "\n") {
				t.Fatalf("events changed:\n%s\nwant\n%s", strings.Join(gotData, "\n"), strings.Join(wantData, "\n"))
			}
			for i := 0; i <= len(tc.in); i++ {
				s2, split := feed(tc.in[:i], tc.in[i:])
				if !bytes.Equal(split, whole) || s2.FinishReason() != tc.finish || s2.Usage() != tc.usage {
					t.Fatalf("split at %d: %q finish %q usage %+v", i, split, s2.FinishReason(), s2.Usage())
				}
			}
		})
	}
}
