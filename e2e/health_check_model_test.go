package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestHealthCheckModel (D104): a wildcard deployment with
// model_info.health_check_model is checked by /health with that model (the
// provider receives it, without the provider prefix); a wildcard deployment
// without one is still not checked (it has no callable model).
func TestHealthCheckModel(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, fmt.Sprintf(`
model_list:
  - model_name: "openai/*"
    litellm_params: {model: "openai/*", api_base: %[1]s/wild/v1, api_key: k}
    model_info: {id: wild, health_check_model: openai/gpt-4o-mini}
  - model_name: "other/*"
    litellm_params: {model: "openai/*", api_base: %[1]s/unchecked/v1, api_key: k}
    model_info: {id: unchecked}
general_settings:
  master_key: %[2]s
`, fake.URL(), master))
	h := getHealth(t, g)
	if h.HealthyCount != 1 || h.UnhealthyCount != 0 || h.Healthy[0].ID != "wild" {
		t.Fatalf("/health: %s\n%s", h.Raw, g.Logs())
	}
	var models []string
	for _, r := range fake.Requests() {
		if strings.HasPrefix(r.Path, "/unchecked") {
			t.Errorf("the wildcard deployment without health_check_model was called: %s %s", r.Path, r.Body)
		}
		if strings.HasPrefix(r.Path, "/wild") {
			var body struct {
				Model string `json:"model"`
			}
			_ = json.Unmarshal(r.Body, &body)
			models = append(models, body.Model)
		}
	}
	if len(models) != 1 || models[0] != "gpt-4o-mini" {
		t.Errorf("the check reached the provider with models %q, want [gpt-4o-mini]", models)
	}
}
