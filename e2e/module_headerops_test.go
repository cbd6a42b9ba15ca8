package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestModuleHeaderOpsPresence: the module's header operations read the
// headers once and leave out the removal of a header that is not there and
// add (not set) one that is not there (hooks.c llmgate_header_ops, D174).
// A header that is there is still replaced: a provider's own x-litellm-*
// headers on a fast answer reach the client as one value, the gateway's,
// never beside it; the client's key headers and the internal ones never
// reach the provider, and the deployment's key does, for first tries and
// retries alike.
func TestModuleHeaderOpsPresence(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{ResponseHeaders: map[string]string{
		"x-litellm-model-id": "provider-own", "x-litellm-response-cost": "99", "x-litellm-model-group": "theirs",
		"x-litellm-attempted-retries": "7",
	}})
	g := startGatewayArgs(t, fmt.Sprintf(`
model_list:
  - model_name: ho
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/ho-a/v1, api_key: sk-ho-a}
  - model_name: ho
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/ho-b/v1, api_key: sk-ho-b}
general_settings:
  master_key: %[2]s
`, fake.URL(), master), moduleArgs)
	url := g.URL + "/v1/chat/completions"
	warmModule(t, g, url, "ho")
	from := time.Now()
	const n = 6
	for i := 0; i < n; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		req, _ := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(`{"model":"ho","messages":[{"role":"user","content":"hello"}]}`))
		req.Header.Set("content-type", "application/json")
		req.Header.Set("authorization", "Bearer "+master)
		req.Header.Set("x-api-key", "client-x-api-key")
		req.Header.Set("api-key", "client-api-key")
		req.Header.Set("accept-encoding", "identity")
		req.Header.Set("x-litellm-model-id", "client-own")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		if resp.StatusCode != 200 {
			t.Fatalf("answer %d: %d %s", i, resp.StatusCode, b)
		}
		for h, bad := range map[string]string{"x-litellm-model-id": "provider-own", "x-litellm-response-cost": "99",
			"x-litellm-model-group": "theirs", "x-litellm-attempted-retries": "7"} {
			vs := resp.Header.Values(h)
			if len(vs) != 1 || vs[0] == bad {
				t.Errorf("answer %d: %s %q, want one value, the gateway's", i, h, vs)
			}
		}
		if v := resp.Header.Get("x-litellm-model-group"); v != "ho" {
			t.Errorf("answer %d: x-litellm-model-group %q", i, v)
		}
	}
	seen := 0
	for _, r := range fake.Requests() {
		if r.Time.Before(from) || !strings.HasPrefix(r.Path, "/ho-") {
			continue
		}
		seen++
		for _, h := range []string{"x-api-key", "api-key", "accept-encoding", "x-litellm-model-id", "x-llmgate-group",
			"x-llmgate-cluster", "x-llmgate-module", "x-envoy-attempt-count"} {
			if v := r.Header.Get(h); v != "" {
				t.Errorf("the provider got %s: %q", h, v)
			}
		}
		if a := r.Header.Values("authorization"); len(a) != 1 || (a[0] != "Bearer sk-ho-a" && a[0] != "Bearer sk-ho-b") {
			t.Errorf("the provider got authorization %q", a)
		}
		if ct := r.Header.Values("content-type"); len(ct) != 1 || ct[0] != "application/json" {
			t.Errorf("the provider got content-type %q", ct)
		}
	}
	if seen < n {
		t.Errorf("the provider recorded %d requests, want at least %d", seen, n)
	}
}
