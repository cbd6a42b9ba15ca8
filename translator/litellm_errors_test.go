package translator

import (
	"strings"
	"testing"
)

func TestAsLiteLLM(t *testing.T) {
	for _, tc := range []struct {
		provider string
		in       *Error
		status   int
		typ      string
		prefix   string
	}{
		{"openai", NewError(429, "requests", "Rate limit reached", ""), 429, "throttling_error", "litellm.RateLimitError: RateLimitError: OpenAIException - Rate limit reached"},
		{"groq", NewError(500, "server_error", "boom", ""), 500, "internal_server_error", "litellm.InternalServerError: InternalServerError: GroqException - boom"},
		{"azure", NewError(403, "x", "no", ""), 403, "permission_error", "litellm.APIError: APIError: AzureException - no"},
		{"anthropic", NewError(403, "permission_error", "no", ""), 403, "permission_error", "litellm.PermissionDeniedError: AnthropicException - no"},
		{"anthropic", NewError(529, "overloaded_error", "busy", ""), 529, "internal_server_error", "litellm.InternalServerError: AnthropicException - busy"},
		{"bedrock", NewError(408, "x", "slow", ""), 408, "timeout_error", "litellm.Timeout: BedrockException - slow"},
		{"gemini", &Error{Status: 413, Message: "prompt is too long", Class: ErrContextWindow}, 400, "invalid_request_error", "litellm.ContextWindowExceededError: GeminiException - prompt"},
		{"cohere", &Error{Status: 400, Message: "blocked", Class: ErrContentPolicy}, 400, "invalid_request_error", "litellm.ContentPolicyViolationError: CohereException - blocked"},
		{"together_ai", NewError(418, "x", "teapot", ""), 418, "invalid_request_error", "litellm.BadRequestError: BadRequestError: Together_aiException - teapot"},
	} {
		got := AsLiteLLM(tc.in, tc.provider)
		if got.Status != tc.status || got.Type != tc.typ || !strings.HasPrefix(got.Message, tc.prefix) || got.Class != tc.in.Class {
			t.Errorf("%s %d: got %d %q %q, want %d %q %q…", tc.provider, tc.in.Status, got.Status, got.Type, got.Message, tc.status, tc.typ, tc.prefix)
		}
		if again := AsLiteLLM(got, tc.provider); again.Message != got.Message {
			t.Errorf("mapped twice: %q", again.Message)
		}
	}
}

// TestStreamAsksForUsage: OpenAI-compatible streams ask for the usage chunk
// (LiteLLM does, to count streamed tokens); Azure and non-streams do not.
func TestStreamAsksForUsage(t *testing.T) {
	body := []byte(`{"model":"g","stream":true,"messages":[]}`)
	for _, tc := range []struct {
		provider string
		stream   bool
		want     bool
	}{{"openai", true, true}, {"groq", true, true}, {"azure", true, false}, {"openai", false, false}} {
		up, err := For(tc.provider).Request(Chat, body, Target{Provider: tc.provider, Model: "m", Stream: tc.stream})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(string(up.Body), `"stream_options":{"include_usage":true}`); got != tc.want {
			t.Errorf("%s stream=%v: asks for usage %v, want %v: %s", tc.provider, tc.stream, got, tc.want, up.Body)
		}
	}
}
