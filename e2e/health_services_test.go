package e2e

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestHealthServicesCallbacks (D79): LiteLLM's /health/services for the
// logging callbacks through Envoy: generic_api logs a mock request
// (litellm-mock-response-model, user litellm:/health/services) and
// answers success; langfuse checks its credentials first (GET
// /api/public/projects with them), then logs the mock request — refused
// credentials are LiteLLM's 500 "Authentication Error"; a service outside
// LiteLLM's list is a 400; one llmgate cannot test yet a 422.
func TestHealthServicesCallbacks(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	hook, lf := &collector{}, &collector{}
	hookSrv := httptest.NewServer(hook)
	defer hookSrv.Close()
	var mu sync.Mutex
	var authChecks []string
	lfSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/public/projects" {
			mu.Lock()
			authChecks = append(authChecks, r.Header.Get("Authorization"))
			mu.Unlock()
			if r.Header.Get("Authorization") != "Basic cGstbGY6c2stbGY=" { // pk-lf:sk-lf
				w.WriteHeader(401)
				_, _ = w.Write([]byte(`{"message":"Invalid credentials"}`))
				return
			}
			_, _ = w.Write([]byte(`{"data":[{"id":"p1"}]}`))
			return
		}
		lf.ServeHTTP(w, r)
	}))
	defer lfSrv.Close()
	g := startGateway(t, callbacksConfig(fake.URL()),
		"GENERIC_LOGGER_ENDPOINT="+hookSrv.URL+"/log", "LANGFUSE_HOST="+lfSrv.URL, "LANGFUSE_PUBLIC_KEY=pk-lf", "LANGFUSE_SECRET_KEY=sk-lf",
		"DEFAULT_FLUSH_INTERVAL_SECONDS=0.2")
	for _, svc := range []string{"generic_api", "langfuse"} {
		code, _, b := do(t, "GET", g.URL+"/health/services?service="+svc, master, "")
		if code != 200 || !strings.Contains(string(b), `"status":"success"`) || !strings.Contains(string(b), "Mock LLM request made - check "+svc+".") {
			t.Fatalf("/health/services?service=%s: %d %s", svc, code, b)
		}
	}
	mu.Lock()
	if len(authChecks) != 1 {
		t.Errorf("langfuse auth checks: %v", authChecks)
	}
	mu.Unlock()
	// Each check's mock request reaches every success callback.
	for name, c := range map[string]*collector{"generic_api": hook, "langfuse": lf} {
		mocks := waitUntil(t, g, name, func() ([]string, []string, bool) {
			all := c.joined()
			return []string{all}, nil, strings.Count(all, "litellm-mock-response-model") >= 2 && strings.Contains(all, "litellm:/health/services")
		})
		if all := mocks[0]; strings.Count(all, "litellm-mock-response-model") < 2 || !strings.Contains(all, "litellm:/health/services") {
			t.Fatalf("%s did not log the two mock requests: %s", name, all)
		}
	}
	if code, _, b := do(t, "GET", g.URL+"/health/services?service=nope", master, ""); code != 400 || !strings.Contains(string(b), "Service must be in list") {
		t.Errorf("unknown service: %d %s", code, b)
	}
	if code, _, b := do(t, "GET", g.URL+"/health/services?service=datadog", master, ""); code != 422 || !strings.Contains(string(b), `"error"`) {
		t.Errorf("datadog: %d %s", code, b)
	}

	// Refused credentials: LiteLLM's 500, no mock request.
	g2 := startGateway(t, callbacksConfig(fake.URL()),
		"GENERIC_LOGGER_ENDPOINT="+hookSrv.URL+"/log", "LANGFUSE_HOST="+lfSrv.URL, "LANGFUSE_PUBLIC_KEY=pk-lf", "LANGFUSE_SECRET_KEY=wrong")
	if code, _, b := do(t, "GET", g2.URL+"/health/services?service=langfuse", master, ""); code != 500 || !strings.Contains(string(b), "Authentication Error") ||
		!strings.Contains(string(b), "401") || strings.Contains(string(b), "wrong") {
		t.Errorf("langfuse with refused credentials: %d %s", code, b)
	}
}
