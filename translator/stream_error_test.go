package translator

import (
	"testing"
)

// TestParseStreamError (D82): an OpenAI-format error event is an object with
// a top-level "error" the OpenAI SDK would raise on; chunks, a nested
// "error", an error text in content and a null error are not.
func TestParseStreamError(t *testing.T) {
	for _, c := range []struct {
		data, msg string
		ok        bool
	}{
		{`{"error":{"message":"boom","type":"server_error","param":null,"code":null}}`, "boom", true},
		{` {"error": {"message": "slow", "code": "rate_limit_exceeded"}}`, "slow", true},
		{`{"error":"plain text"}`, "plain text", true},
		{`{"error":{"type":"x"}}`, "An error occurred during streaming", true},
		{`{"error":true}`, "An error occurred during streaming", true},
		{`{"error":null}`, "", false},
		{`{"error":{}}`, "", false},
		{`{"error":""}`, "", false},
		{`{"id":"c1","choices":[{"delta":{"content":"\"error\": no"}}]}`, "", false},
		{`{"id":"c1","choices":[{"delta":{},"provider_specific_fields":{"error":{"message":"x"}}}]}`, "", false},
		{`[DONE]`, "", false},
		{`{"error":{"message":"cut`, "", false},
	} {
		e := ParseStreamError([]byte(c.data))
		if (e != nil) != c.ok || e != nil && e.Message != c.msg {
			t.Errorf("%s: %+v, want ok %v message %q", c.data, e, c.ok, c.msg)
		}
	}
}

// TestStreamFailureOf (D82): LiteLLM's status and class for an error inside
// a stream: Anthropic's error event is a 500 (its AnthropicError) whatever
// its type, classed by its message; an OpenAI-compatible provider's error
// event is mapped by its message (rate limit 429, context window 400, else
// 500) and does not cool the deployment down (the SDK's APIError has no
// status); another translator's keeps its status and class.
func TestStreamFailureOf(t *testing.T) {
	for _, c := range []struct {
		provider string
		e        *Error
		want     StreamFailure
		cools    bool
	}{
		{"anthropic", &Error{Status: 529, Message: "Overloaded", Class: ErrInternal}, StreamFailure{500, ErrInternal}, true},
		{"anthropic", &Error{Status: 429, Message: "slow down", Class: ErrRateLimit}, StreamFailure{500, ErrInternal}, true},
		{"anthropic", &Error{Status: 400, Message: "prompt is too long: 210000 tokens > 200000 maximum", Class: ErrContextWindow}, StreamFailure{500, ErrContextWindow}, true},
		{"openai", &Error{Status: 500, Message: "The server had an error processing your request."}, StreamFailure{500, ErrInternal}, false},
		{"openai", &Error{Status: 500, Message: "Rate limit reached for gpt-4o in organization org-x"}, StreamFailure{429, ErrRateLimit}, false},
		{"azure", &Error{Status: 500, Message: "This model's maximum context length is 8192 tokens"}, StreamFailure{400, ErrContextWindow}, false},
		{"", &Error{Status: 500, Message: "Error 429, try later"}, StreamFailure{429, ErrRateLimit}, false},
		{"bedrock", &Error{Status: 429, Message: "throttled", Class: ErrRateLimit}, StreamFailure{429, ErrRateLimit}, true},
		{"bedrock", &Error{Status: 0, Message: "?"}, StreamFailure{500, ErrInternal}, true},
	} {
		if got := StreamFailureOf(c.provider, c.e); got != c.want {
			t.Errorf("%s %q: %+v, want %+v", c.provider, c.e.Message, got, c.want)
		}
		if got := StreamFailureCoolsDown(c.provider); got != c.cools {
			t.Errorf("%s: cools down %v, want %v", c.provider, got, c.cools)
		}
	}
	if (StreamFailureOf("openai", nil) != StreamFailure{}) {
		t.Error("no error: a failure")
	}
}

// TestOpenAIStreamErr (D82): the pass-through stream remembers the
// provider's first error event (StreamErr) and passes its bytes unchanged.
func TestOpenAIStreamErr(t *testing.T) {
	first := "data: {\"id\":\"c1\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"an \\\"error\\\"\"}}]}\n\n"
	in := first +
		"data: {\"error\":{\"message\":\"The server had an error processing your request.\",\"type\":\"server_error\"}}\n\n" +
		"data: {\"error\":{\"message\":\"second\"}}\n\n"
	st := For("openai").NewStream(Chat, Target{Provider: "openai", Stream: true})
	st.(IncludeUsageSetter).SetIncludeUsage(true)
	se := st.(StreamErr)
	var out []byte
	for i := 0; i < len(in); i += 7 {
		if se.Err() != nil && i < len(first) {
			t.Fatalf("an error before the error event (at %d)", i)
		}
		b, err := st.Feed([]byte(in[i:min(i+7, len(in))]), i+7 >= len(in))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b...)
	}
	if e := se.Err(); e == nil || e.Message != "The server had an error processing your request." {
		t.Fatalf("Err = %+v", e)
	}
	if string(out) != in {
		t.Errorf("bytes changed:\n%s", out)
	}
}
