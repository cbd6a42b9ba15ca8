package extproc

import (
	"encoding/json"
	"testing"
)

// /health/readiness says "starting" (503) while Server.StartupReady reports
// the data plane has not loaded the first config (the module has not
// applied it: a fast try would then have nobody to set its path and key),
// and "healthy" (200) once it has; draining wins over both.
func TestReadinessStarting(t *testing.T) {
	st := stateWith(t, authConfig)
	s := NewServer(st, nil)
	ready := false
	s.StartupReady = func() bool { return ready }
	status := func() (int, string) {
		t.Helper()
		r := s.management(st, route{kind: routeReadiness}, map[string]string{})
		ir := r.GetImmediateResponse()
		if ir == nil {
			t.Fatalf("readiness: no immediate response: %v", r)
		}
		var body map[string]any
		if err := json.Unmarshal(ir.GetBody(), &body); err != nil {
			t.Fatalf("readiness body %q: %v", ir.GetBody(), err)
		}
		s, _ := body["status"].(string)
		return int(ir.GetStatus().GetCode()), s
	}
	if code, s := status(); code != 503 || s != "starting" {
		t.Errorf("before the first config: %d %q, want 503 starting", code, s)
	}
	ready = true
	if code, s := status(); code != 200 || s != "healthy" {
		t.Errorf("after: %d %q, want 200 healthy", code, s)
	}
	s.SetDraining(true)
	if code, s := status(); code != 503 || s != "draining" {
		t.Errorf("draining: %d %q, want 503 draining", code, s)
	}
}
