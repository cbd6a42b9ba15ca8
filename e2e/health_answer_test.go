package e2e

import (
	"encoding/json"
	"testing"
)

// healthEndpoint is one entry of /health's healthy_endpoints or
// unhealthy_endpoints lists.
type healthEndpoint struct {
	ID    string `json:"model_id"`
	Model string `json:"model"`
	Error string `json:"error"`
}

// healthAnswer is /health's answer, decoded, with its raw body for messages
// and for assertions on fields the struct does not name.
type healthAnswer struct {
	Healthy        []healthEndpoint `json:"healthy_endpoints"`
	Unhealthy      []healthEndpoint `json:"unhealthy_endpoints"`
	HealthyCount   int              `json:"healthy_count"`
	UnhealthyCount int              `json:"unhealthy_count"`
	Raw            []byte           `json:"-"`
}

// getHealth asks the gateway's /health with the master key; any status but
// 200 or a body that is not /health's JSON fails the test.
func getHealth(t *testing.T, g *Gateway) healthAnswer {
	t.Helper()
	code, _, b := do(t, "GET", g.URL+"/health", master, "")
	if code != 200 {
		t.Fatalf("/health: status %d: %s\n%s", code, b, g.Logs())
	}
	h := healthAnswer{Raw: b}
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatalf("/health: %v: %s", err, b)
	}
	return h
}
