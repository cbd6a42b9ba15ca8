package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestHealthCheckDetailsOff (D85): with general_settings.health_check_details:
// false, /health lists each healthy and unhealthy endpoint by its model only
// (LiteLLM's MINIMAL_DISPLAY_PARAMS): no model group, id, api_base or error;
// the counts stay.
func TestHealthCheckDetailsOff(t *testing.T) {
	fake, g := goodAndBadGateway(t, 401, "invalid api key", "gpt-y", "openai/gpt-4o-mini", "", "", `
  health_check_details: false`)
	b := getHealth(t, g).Raw
	// Each entry decoded as a map: the test asserts it holds nothing but the
	// model.
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
