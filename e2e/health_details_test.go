package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestHealthCheckDetailsOff (D85): with general_settings.health_check_details:
// false, /health lists each healthy and unhealthy endpoint by its model only
// (LiteLLM's MINIMAL_DISPLAY_PARAMS): no model group, id, api_base or error;
// the counts stay.
func TestHealthCheckDetailsOff(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/bad"}, Fault: fakeprovider.Fault{Status: 401, ErrorMessage: "invalid api key"}}); err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, fmt.Sprintf(`
model_list:
  - model_name: gpt-x
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/good/v1, api_key: k}
    model_info: {id: good}
  - model_name: gpt-y
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/bad/v1, api_key: k}
    model_info: {id: bad}
general_settings:
  master_key: %[2]s
  health_check_details: false
`, fake.URL(), master))
	code, _, b := do(t, "GET", g.URL+"/health", master, "")
	if code != 200 {
		t.Fatalf("status %d: %s\n%s", code, b, g.Logs())
	}
	var h struct {
		Healthy        []map[string]any `json:"healthy_endpoints"`
		Unhealthy      []map[string]any `json:"unhealthy_endpoints"`
		HealthyCount   int              `json:"healthy_count"`
		UnhealthyCount int              `json:"unhealthy_count"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	if h.HealthyCount != 1 || h.UnhealthyCount != 1 || len(h.Healthy) != 1 || len(h.Unhealthy) != 1 ||
		h.Healthy[0]["model"] != "openai/gpt-4o" || h.Unhealthy[0]["model"] != "openai/gpt-4o-mini" ||
		len(h.Healthy[0]) != 1 || len(h.Unhealthy[0]) != 1 || strings.Contains(string(b), fake.URL()) || strings.Contains(string(b), "invalid api key") {
		t.Errorf("/health with details off: %s", b)
	}
}
