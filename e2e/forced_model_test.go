package e2e

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestForcedModels (D132): general_settings.completion_model and
// embedding_model serve every chat, text-completion and embeddings request
// by the named model, whatever the body or an Azure-style path names, and
// a request without a model too, as LiteLLM's proxy sets data["model"].
func TestForcedModels(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, fmt.Sprintf(`
model_list:
  - model_name: chat-a
    litellm_params: {model: openai/model-a, api_base: %[1]s/v1, api_key: k}
  - model_name: chat-b
    litellm_params: {model: openai/model-b, api_base: %[1]s/v1, api_key: k}
  - model_name: emb-a
    litellm_params: {model: openai/emb-model-a, api_base: %[1]s/v1, api_key: k}
  - model_name: emb-b
    litellm_params: {model: openai/emb-model-b, api_base: %[1]s/v1, api_key: k}
general_settings:
  master_key: %[2]s
  completion_model: chat-b
  embedding_model: emb-b
`, fake.URL(), master))

	sentModel := func() string {
		t.Helper()
		last, ok := fake.Last()
		if !ok {
			t.Fatal("nothing reached the provider")
		}
		var b struct {
			Model string `json:"model"`
		}
		_ = json.Unmarshal(last.Body, &b)
		return b.Model
	}
	for _, c := range []struct{ name, path, body, group, model string }{
		{"chat naming another group", "/v1/chat/completions", chatBody("chat-a", "x"), "chat-b", "model-b"},
		{"chat without a model", "/v1/chat/completions", `{"messages":[{"role":"user","content":"x"}]}`, "chat-b", "model-b"},
		{"an Azure-style path", "/openai/deployments/chat-a/chat/completions", chatBody("chat-a", "x"), "chat-b", "model-b"},
		{"text completions", "/v1/completions", `{"model":"chat-a","prompt":"x"}`, "chat-b", "model-b"},
		{"embeddings", "/v1/embeddings", `{"model":"emb-a","input":"x"}`, "emb-b", "emb-model-b"},
	} {
		code, h, b := do(t, "POST", g.URL+c.path, master, c.body)
		if code != 200 || h.Get("x-litellm-model-group") != c.group {
			t.Errorf("%s: %d group %q, want 200 from %s: %s", c.name, code, h.Get("x-litellm-model-group"), c.group, b)
			continue
		}
		if m := sentModel(); m != c.model {
			t.Errorf("%s: the provider was asked for %q, want %q", c.name, m, c.model)
		}
	}
}
