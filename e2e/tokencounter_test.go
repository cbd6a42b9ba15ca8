package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestTokenCounter: LiteLLM's POST /utils/token_counter through the real
// Envoy — its request and response JSON, the model resolved through the
// router, the gateway's tokenizer, LiteLLM's 400s; no provider called (D160).
func TestTokenCounter(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, fmt.Sprintf(`
model_list:
  - model_name: gpt4o
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/v1, api_key: sk-provider-x}
  - model_name: claude
    litellm_params: {model: anthropic/claude-sonnet-4-20250514, api_base: %[1]s, api_key: sk-provider-y}
general_settings:
  master_key: %[2]s
`, fake.URL(), master))
	key, _ := keyAPI{t, g}.generate(`{"key_alias":"counter"}`)

	for _, tc := range []struct {
		name, body string
		want       map[string]any
	}{
		{"messages, a group's model (o200k_base)", `{"model":"gpt4o","messages":[{"role":"user","content":"hello world"}]}`,
			map[string]any{"total_tokens": 9.0, "request_model": "gpt4o", "model_used": "gpt-4o"}}, // 3 + "user" 1 + 2 + 3
		{"a prompt alone counts as text; a model without its own tokenizer gets cl100k_base", `{"model":"claude","prompt":"hello world"}`,
			map[string]any{"total_tokens": 2.0, "request_model": "claude", "model_used": "claude-sonnet-4-20250514"}},
		{"a model no group serves is counted as named", `{"model":"gpt-4o","prompt":"hello world"}`,
			map[string]any{"total_tokens": 2.0, "request_model": "gpt-4o", "model_used": "gpt-4o"}},
		{"system and two messages", `{"model":"gpt4o","system":"be brief","messages":[{"role":"user","content":"hello world"},{"role":"assistant","content":"hi"}]}`,
			map[string]any{"total_tokens": 3 + 3*3 + 1 + 2 + 1 + 2 + 1 + 1.0, "model_used": "gpt-4o"}}, // reply prime, 3 messages, system "be brief" 2, user 1 + 2, assistant 1 + 1
	} {
		st, h, b := post(t, g.URL+"/utils/token_counter", key, tc.body)
		if st != 200 || !strings.HasPrefix(h.Get("content-type"), "application/json") {
			t.Fatalf("%s: %d %s", tc.name, st, b)
		}
		var got map[string]any
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%s: %s", tc.name, b)
		}
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("%s: %s = %v, want %v (%s)", tc.name, k, got[k], v, b)
			}
		}
		for k, v := range map[string]any{"tokenizer_type": "openai_tokenizer", "count_source": "local_estimate", "error": false} {
			if got[k] != v {
				t.Errorf("%s: %s = %v, want %v", tc.name, k, got[k], v)
			}
		}
		for _, k := range []string{"original_response", "error_message", "status_code"} {
			if v, ok := got[k]; !ok || v != nil {
				t.Errorf("%s: %s = %v, want null", tc.name, k, v)
			}
		}
	}

	for _, tc := range []struct {
		name, key, body string
		status          int
		words           string
	}{
		{"nothing to count", key, `{"model":"gpt4o"}`, 400, "prompt or messages or contents must be provided"},
		{"a prompt with messages", master, `{"model":"gpt4o","prompt":"x","messages":[{"role":"user","content":"y"}]}`, 400,
			"prompt cannot be sent with messages or contents. Set drop_params to count them without the prompt"},
		{"no key", "", `{"model":"gpt4o","prompt":"x"}`, 401, "No api key passed in"},
	} {
		st, _, b := post(t, g.URL+"/utils/token_counter", tc.key, tc.body)
		var e struct {
			Error struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if st != tc.status || json.Unmarshal(b, &e) != nil || !strings.Contains(e.Error.Message, tc.words) {
			t.Errorf("%s: %d %s", tc.name, st, b)
		}
	}
	if n := len(fake.Requests()); n != 0 {
		t.Fatalf("%d requests reached the provider", n)
	}
}
