package callbacks

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestHealthCheckEvent (D79): /health/services' mock request reaches the
// success callbacks as LiteLLM's mock completion (its model and user);
// the langfuse check sends the project's keys to /api/public/projects and
// reports a refusal with its status, never the secret.
func TestHealthCheckEvent(t *testing.T) {
	rcv := &receiver{}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	var auth string
	lf := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/public/projects" {
			w.WriteHeader(404)
			return
		}
		auth = r.Header.Get("Authorization")
		if auth != "Basic cGs6c2s=" { // pk:sk
			w.WriteHeader(401)
		}
	}))
	defer lf.Close()
	m := New(nil)
	m.Configure(Settings{BatchSize: 1, FlushInterval: time.Hour, Generic: &GenericSettings{Events: Events{Success: true}, Endpoint: srv.URL},
		Langfuse: &LangfuseSettings{Events: Events{Success: true}, Host: lf.URL, PublicKey: "pk", SecretKey: "sk"}})
	if err := m.LangfuseAuthCheck(context.Background()); err != nil || auth != "Basic cGs6c2s=" {
		t.Fatalf("auth check: %v (Authorization %q)", err, auth)
	}
	m.TestEvent()
	m.Close()
	bodies, _ := rcv.posts()
	if len(bodies) != 1 || !strings.Contains(string(bodies[0]), `"model":"litellm-mock-response-model"`) || !strings.Contains(string(bodies[0]), `"end_user":"litellm:/health/services"`) {
		t.Fatalf("mock request logged as %q", bodies)
	}
	bad := New(nil)
	defer bad.Close()
	bad.Configure(Settings{Langfuse: &LangfuseSettings{Host: lf.URL, PublicKey: "pk", SecretKey: "zz-wrong"}})
	if err := bad.LangfuseAuthCheck(context.Background()); err == nil || !strings.Contains(err.Error(), "401") || strings.Contains(err.Error(), "zz-wrong") {
		t.Fatalf("refused credentials: %v", err)
	}
	if err := New(nil).LangfuseAuthCheck(context.Background()); err == nil {
		t.Fatal("no langfuse callback: no error")
	}
}
