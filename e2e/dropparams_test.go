package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestDropParams: an OpenAI param the provider cannot take is an OpenAI 400
// naming it, unless drop_params (per deployment or in litellm_settings);
// additional_drop_params are always removed.
func TestDropParams(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, fmt.Sprintf(`
model_list:
  - model_name: strict
    litellm_params: {model: anthropic/claude-3-5-haiku-20241022, api_base: %[1]s, api_key: k}
  - model_name: lenient
    litellm_params: {model: anthropic/claude-3-5-haiku-20241022, api_base: %[1]s, api_key: k, drop_params: true}
  - model_name: trimmed
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/trim/v1, api_key: k, additional_drop_params: ["user"]}
`, fake.URL()))
	body := `{"model":"%s","logit_bias":{"50256":-100},"user":"u1","messages":[{"role":"user","content":"x"}]}`
	code, _, b := post(t, g.URL+"/v1/chat/completions", "", fmt.Sprintf(body, "strict"))
	assertOpenAIError(t, code, b, 400, "logit_bias")
	code, _, b = post(t, g.URL+"/v1/chat/completions", "", fmt.Sprintf(body, "lenient"))
	if code != 200 {
		t.Fatalf("drop_params: status %d: %s", code, b)
	}
	rec, _ := fake.Last()
	if strings.Contains(string(rec.Body), "logit_bias") {
		t.Errorf("logit_bias reached Anthropic: %s", rec.Body)
	}
	code, _, b = post(t, g.URL+"/v1/chat/completions", "", fmt.Sprintf(body, "trimmed"))
	if code != 200 {
		t.Fatalf("additional_drop_params: status %d: %s", code, b)
	}
	rec, _ = fake.Last()
	var m map[string]any
	_ = json.Unmarshal(rec.Body, &m)
	if _, ok := m["user"]; ok {
		t.Errorf("additional_drop_params did not drop user: %s", rec.Body)
	}
	if _, ok := m["logit_bias"]; !ok {
		t.Errorf("OpenAI takes logit_bias; it must pass through: %s", rec.Body)
	}
}
