package extproc

import "testing"

// public_routes matches as LiteLLM's route_in_additonal_public_routes: the
// path (without its query) exactly, or its start for an entry ending in "*".
func TestPublicRoutes(t *testing.T) {
	if newRouteSet(nil) != nil || newRouteSet([]string{}) != nil {
		t.Fatal("an unset or empty public_routes is not nil")
	}
	r := newRouteSet([]string{"/v1/models", "/api/*", "LiteLLMRoutes.public_routes"})
	for path, want := range map[string]bool{
		"/v1/models": true, "/v1/models?x=1": true, "/v1/models/gpt": false, "/models": false,
		"/api/": true, "/api/x/y": true, "/api": false, "/chat/completions": false, "/routes": false,
	} {
		if got := r.has(path); got != want {
			t.Errorf("has(%q) = %v, want %v", path, got, want)
		}
	}
}
