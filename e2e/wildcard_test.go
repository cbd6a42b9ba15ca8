package e2e

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestCatchAllWildcard: `model_name: "*"` with `model: "*"` serves any
// provider/model; the provider is chosen per request (one cluster per provider).
func TestCatchAllWildcard(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, fmt.Sprintf(`
model_list:
  - model_name: "*"
    litellm_params:
      model: "*"
      api_base: %s/star/v1
      api_key: k
`, fake.URL()))
	for _, tc := range []struct{ model, upstreamModel string }{
		{"mistral/mistral-small", "mistral-small"},
		{"groq/llama-3.1-8b", "llama-3.1-8b"},
		{"gpt-4o-mini", "gpt-4o-mini"},
	} {
		code, h, b := post(t, g.URL+"/v1/chat/completions", "", `{"model":"`+tc.model+`","messages":[{"role":"user","content":"x"}]}`)
		if code != 200 {
			t.Fatalf("%s: status %d: %s", tc.model, code, b)
		}
		rec, _ := fake.Last()
		var body map[string]any
		_ = json.Unmarshal(rec.Body, &body)
		if rec.Path != "/star/v1/chat/completions" || body["model"] != tc.upstreamModel {
			t.Errorf("%s: upstream %s model %v (group %s)", tc.model, rec.Path, body["model"], h.Get("x-litellm-model-group"))
		}
	}
}
