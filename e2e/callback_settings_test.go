package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestCallbackSettingsNamedWebhooks: two generic_api instances from
// callback_settings, named in the callback lists: "audit" (callbacks, ndjson,
// its own header) gets every request, "errors" (failure_callback,
// event_types llm_api_failure, single) one post per failed request — each
// with the call id the client saw.
func TestCallbackSettingsNamedWebhooks(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/bad/"}, Fault: fakeprovider.Fault{Status: 500}}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	posts := map[string][]string{}
	auth := map[string]string{}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		posts[r.URL.Path] = append(posts[r.URL.Path], string(b))
		auth[r.URL.Path] = r.Header.Get("X-Audit-Token")
		mu.Unlock()
	}))
	defer hook.Close()
	cfg := fmt.Sprintf(`
model_list:
  - model_name: good
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/good/v1, api_key: k}
    model_info: {id: good-deployment}
  - model_name: bad
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/bad/v1, api_key: k}
    model_info: {id: bad-deployment}
router_settings:
  num_retries: 0
litellm_settings:
  callbacks: ["audit"]
  failure_callback: ["errors"]
callback_settings:
  audit:
    callback_type: generic_api
    endpoint: %[3]s/audit
    headers: {X-Audit-Token: os.environ/AUDIT_TOKEN}
    log_format: ndjson
  errors:
    callback_type: generic_api
    endpoint: %[3]s/errors
    event_types: [llm_api_failure]
    log_format: single
general_settings:
  master_key: %[2]s
`, fake.URL(), master, hook.URL)
	g := startGateway(t, cfg, "AUDIT_TOKEN=audit-secret", "DEFAULT_FLUSH_INTERVAL_SECONDS=0.2")
	sent := sendCallbackTraffic(t, g, 2, 2)

	var audit, errs []map[string]any
	waitUntil(t, g, "audit and errors events", func() ([]string, []string, bool) {
		mu.Lock()
		defer mu.Unlock()
		audit, errs = nil, nil
		var refused []string
		for _, body := range posts["/audit"] {
			for _, line := range strings.Split(strings.TrimSpace(body), "\n") {
				var p map[string]any
				if err := json.Unmarshal([]byte(line), &p); err != nil {
					refused = append(refused, fmt.Sprintf("audit line %q: %v", line, err))
				}
				audit = append(audit, p)
			}
		}
		for _, body := range posts["/errors"] {
			var p map[string]any
			if err := json.Unmarshal([]byte(body), &p); err != nil {
				refused = append(refused, fmt.Sprintf("errors body %q: %v (want one JSON object per post)", body, err))
			}
			errs = append(errs, p)
		}
		if token := auth["/audit"]; len(posts["/audit"]) > 0 && token != "audit-secret" {
			refused = append(refused, fmt.Sprintf("audit header %q", token))
		}
		return nil, refused, len(audit) >= 4 && len(errs) >= 2
	})
	ids := func(ps []map[string]any) map[string]string {
		out := map[string]string{}
		for _, p := range ps {
			out[fmt.Sprint(p["id"])] = fmt.Sprint(p["status"])
		}
		return out
	}
	a, e := ids(audit), ids(errs)
	if len(audit) != 4 || len(errs) != 2 {
		t.Fatalf("audit got %d events, errors %d: want 4 and 2", len(audit), len(errs))
	}
	for _, s := range sent {
		want := "success"
		if s.status != 200 {
			want = "failure"
		}
		if a[s.callID] != want {
			t.Errorf("audit: call %s status %q, want %q", s.callID, a[s.callID], want)
		}
		if _, ok := e[s.callID]; ok != (s.status != 200) {
			t.Errorf("errors: call %s (status %d) logged %v", s.callID, s.status, ok)
		}
	}
}
