package e2e

import (
	"fmt"
	"testing"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestHealth: /health calls every deployment through Envoy and reports each
// as LiteLLM does; a failing deployment is listed with its error.
func TestHealth(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, fmt.Sprintf(`
model_list:
  - model_name: gpt-x
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/good/v1, api_key: k}
    model_info: {id: good}
  - model_name: gpt-x
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/bad/v1, api_key: k}
    model_info: {id: bad}
  - model_name: claude
    litellm_params: {model: anthropic/claude-3-5-haiku-20241022, api_base: %[1]s, api_key: k}
    model_info: {id: claude}
  - model_name: emb
    litellm_params: {model: openai/text-embedding-3-small, api_base: %[1]s/emb/v1, api_key: k}
    model_info: {id: emb, mode: embedding}
general_settings:
  master_key: %[2]s
`, fake.URL(), master))
	if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/bad"}, Fault: fakeprovider.Fault{Status: 401, ErrorMessage: "invalid api key"}}); err != nil {
		t.Fatal(err)
	}
	code, _, _ := do(t, "GET", g.URL+"/health", "", "")
	if code != 401 {
		t.Errorf("/health without the key: %d", code)
	}
	h := getHealth(t, g)
	b := h.Raw
	healthy := map[string]bool{}
	for _, e := range h.Healthy {
		healthy[e.ID] = true
	}
	if !healthy["good"] || !healthy["claude"] || !healthy["emb"] || h.HealthyCount != 3 {
		t.Errorf("healthy = %s", b)
	}
	if h.UnhealthyCount != 1 || h.Unhealthy[0].ID != "bad" || h.Unhealthy[0].Error == "" {
		t.Errorf("unhealthy = %s", b)
	}
	// Each deployment was called exactly once: the check is pinned, no retry elsewhere.
	if n := fake.Count("/bad"); n != 1 {
		t.Errorf("the failing deployment was called %d times, want 1 (no retries on a health check)", n)
	}
}
