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

// seenRequest is what a pass-through target received.
type seenRequest struct {
	Method, URI string
	Header      http.Header
	Body        string
}

// recordingTarget is an HTTP server that records each request and answers
// {"ok":true,"path":...}.
func recordingTarget(t *testing.T) (*httptest.Server, func() []seenRequest) {
	t.Helper()
	var mu sync.Mutex
	var seen []seenRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, seenRequest{Method: r.Method, URI: r.URL.RequestURI(), Header: r.Header.Clone(), Body: string(b)})
		mu.Unlock()
		w.Header().Set("content-type", "application/json")
		w.Header().Set("x-target", "yes")
		_, _ = fmt.Fprintf(w, `{"ok":true,"path":%q}`, r.URL.Path)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []seenRequest {
		mu.Lock()
		defer mu.Unlock()
		return append([]seenRequest(nil), seen...)
	}
}

// TestPassThroughEndpoints (D113): general_settings.pass_through_endpoints
// forward a request to its target unchanged — method, body, the client's
// query — with the configured headers set (os.environ/ inside a value
// resolved), the client's key removed unless forward_headers is true, and
// the target's answer returned as it is. include_subpath appends the
// subpath to the target's path; methods restricts the route; an auth: true
// endpoint needs a key the gateway accepts (401 JSON without one, the key
// never reaching the target). The LLM routes beside them are unchanged.
func TestPassThroughEndpoints(t *testing.T) {
	target, seen := recordingTarget(t)
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, fmt.Sprintf(`
model_list:
  - model_name: gpt-x
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/v1, api_key: k}
general_settings:
  master_key: %[3]s
  pass_through_endpoints:
    - path: /v1/rerank
      target: %[2]s/v2/rerank
      headers:
        Authorization: "bearer os.environ/RERANK_KEY"
        accept: application/json
    - path: /bria/
      target: %[2]s/api
      include_subpath: true
      forward_headers: true
      methods: [GET]
    - path: /secure
      target: %[2]s/secure
      auth: true
`, fake.URL(), target.URL, master), "RERANK_KEY=rerank-secret")

	// POST with a body, the client's key and a query: the configured
	// Authorization replaces the client's key.
	body := `{"model":"rerank-english-v3.0","query":"q","documents":["a","b"]}`
	req, _ := http.NewRequest("POST", g.URL+"/v1/rerank?top_n=2", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+master)
	req.Header.Set("x-api-key", master)
	req.Header.Set("content-type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	rb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(rb) != `{"ok":true,"path":"/v2/rerank"}` || resp.Header.Get("x-target") != "yes" {
		t.Fatalf("/v1/rerank: %d %s %v\n%s", resp.StatusCode, rb, resp.Header, g.Logs())
	}
	got := seen()
	if len(got) != 1 {
		t.Fatalf("the target got %d requests, want 1", len(got))
	}
	r := got[0]
	if r.Method != "POST" || r.URI != "/v2/rerank?top_n=2" || r.Body != body {
		t.Errorf("forwarded %s %s %q; want POST /v2/rerank?top_n=2 and the body unchanged", r.Method, r.URI, r.Body)
	}
	if a := r.Header.Get("Authorization"); a != "bearer rerank-secret" || r.Header.Get("accept") != "application/json" {
		t.Errorf("configured headers: authorization %q, accept %q", a, r.Header.Get("accept"))
	}
	for name, vs := range r.Header {
		for _, v := range vs {
			if strings.Contains(v, master) {
				t.Errorf("the client's key reached the target in %s", name)
			}
		}
	}

	// include_subpath and forward_headers: the subpath appended to the
	// target's path, the client's headers on.
	req, _ = http.NewRequest("GET", g.URL+"/bria/v1/text-to-image?size=2", nil)
	req.Header.Set("Authorization", "Bearer client-token")
	req.Header.Set("x-custom", "kept")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	rb, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/bria/v1/text-to-image: %d %s", resp.StatusCode, rb)
	}
	got = seen()
	r = got[len(got)-1]
	if r.URI != "/api/v1/text-to-image?size=2" || r.Header.Get("x-custom") != "kept" || r.Header.Get("Authorization") != "Bearer client-token" {
		t.Errorf("subpath request forwarded as %s with %v", r.URI, r.Header)
	}
	// The exact path too; a method outside methods never reaches the target.
	if code, _, b := do(t, "GET", g.URL+"/bria", "", ""); code != 200 || seen()[len(seen())-1].URI != "/api" {
		t.Errorf("GET /bria: %d %s, forwarded as %s", code, b, seen()[len(seen())-1].URI)
	}
	before := len(seen())
	if code, _, b := do(t, "POST", g.URL+"/bria/v1/x", master, "{}"); code == 200 || !json.Valid(b) {
		t.Errorf("POST to a GET-only endpoint: %d %s", code, b)
	}
	// auth: true: no key or a wrong one is a 401 that never reaches the
	// target.
	for _, key := range []string{"", "sk-wrong"} {
		if code, _, b := do(t, "POST", g.URL+"/secure", key, `{"q":1}`); code != 401 || !json.Valid(b) {
			t.Errorf("the auth: true endpoint with key %q: %d %s, want 401 JSON", key, code, b)
		}
	}
	if n := len(seen()) - before; n != 0 {
		t.Errorf("the target got %d requests it must not", n)
	}
	// With the master key: forwarded, body unchanged, the key removed; a
	// GET (no body) too.
	if code, _, b := do(t, "POST", g.URL+"/secure?z=1", master, `{"q":1}`); code != 200 {
		t.Fatalf("the auth: true endpoint with the master key: %d %s\n%s", code, b, g.Logs())
	}
	r = seen()[len(seen())-1]
	if r.URI != "/secure?z=1" || r.Body != `{"q":1}` || r.Header.Get("Authorization") != "" {
		t.Errorf("auth: true forwarded %s %q with authorization %q", r.URI, r.Body, r.Header.Get("Authorization"))
	}
	if code, _, b := do(t, "GET", g.URL+"/secure", master, ""); code != 200 || seen()[len(seen())-1].Method != "GET" {
		t.Errorf("GET on the auth: true endpoint: %d %s", code, b)
	}

	// The LLM route beside them is unchanged.
	if code, _, b := do(t, "POST", g.URL+"/v1/chat/completions", master, chatBody("gpt-x", "hi")); code != 200 {
		t.Errorf("chat: %d %s", code, b)
	}
}
