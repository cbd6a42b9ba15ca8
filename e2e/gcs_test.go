package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/internal/fakegcs"
	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestGCSBucketCallback (D170): callbacks: ["gcs_bucket"] with LiteLLM's
// environment (GCS_BUCKET_NAME with a folder, GCS_PATH_SERVICE_ACCOUNT a
// service account's JSON key file, GCS_FLUSH_INTERVAL, GCS_BATCH_SIZE)
// uploads each client request's StandardLoggingPayload, off the request
// path, as lines of NDJSON objects named as LiteLLM names them
// (<folder>/YYYY-MM-DD/batch-<ms>-<hex>.ndjson), through a fake Cloud
// Storage that speaks the JSON API's media upload and takes only the
// access token its OAuth endpoint issued for the service account's signed
// JWT: exactly one line per request, matched by call id, a success with
// its tokens and cost, a failure with its error; no provider key and no
// private key in any object.
func TestGCSBucketCallback(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/bad/"}, Fault: fakeprovider.Fault{Status: 500}}); err != nil {
		t.Fatal(err)
	}
	gcs := fakegcs.Start(t, "llm-logs")
	sa := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(sa, []byte(gcs.ServiceAccountJSON()), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`
model_list:
  - model_name: good
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/good/v1, api_key: sk-gcs-provider-secret}
    model_info: {id: good-deployment}
  - model_name: bad
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/bad/v1, api_key: sk-gcs-provider-secret}
    model_info: {id: bad-deployment}
router_settings:
  num_retries: 0
litellm_settings:
  callbacks: ["gcs_bucket"]
general_settings:
  master_key: %[2]s
`, fake.URL(), master)
	g := startGateway(t, cfg, "GCS_BUCKET_NAME=llm-logs/proxy/dev", "GCS_PATH_SERVICE_ACCOUNT="+sa, "GCS_FLUSH_INTERVAL=1", "GCS_BATCH_SIZE=2",
		"CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE="+gcs.URL+"/storage/v1/")
	sent := sendCallbackTraffic(t, g, 3, 2)

	type line struct {
		object  string
		payload map[string]any
	}
	lines := waitReceived(t, g, "GCS payload lines", len(sent), func() ([]line, []string) {
		objs, refused := gcs.Objects()
		var out []line
		for _, o := range objs {
			for _, l := range strings.Split(string(o.Body), "\n") {
				var p map[string]any
				if err := json.Unmarshal([]byte(l), &p); err != nil {
					refused = append(refused, fmt.Sprintf("object %s: line %q is not JSON", o.Name, l))
				}
				out = append(out, line{o.Name, p})
			}
			if o.ContentType != "application/json" {
				refused = append(refused, fmt.Sprintf("object %s: Content-Type %q", o.Name, o.ContentType))
			}
			if strings.Contains(string(o.Body), "sk-gcs-provider-secret") || strings.Contains(string(o.Body), "PRIVATE KEY") {
				refused = append(refused, fmt.Sprintf("object %s holds a secret", o.Name))
			}
		}
		return out, refused
	})
	nameRE := regexp.MustCompile(`^proxy/dev/\d{4}-\d{2}-\d{2}/batch-\d{13}-[0-9a-f]{8}\.ndjson$`)
	byCall := map[string]map[string]any{}
	for _, l := range lines {
		if !nameRE.MatchString(l.object) {
			t.Errorf("object name %q is not LiteLLM's batch name under the bucket's folder", l.object)
		}
		id, _ := l.payload["id"].(string)
		if byCall[id] != nil {
			t.Errorf("call %s logged twice", id)
		}
		byCall[id] = l.payload
	}
	for _, r := range sent {
		p := byCall[r.callID]
		if p == nil {
			t.Fatalf("no line for call %s", r.callID)
		}
		wantStatus := "success"
		if r.status != 200 {
			wantStatus = "failure"
		}
		if p["status"] != wantStatus || p["model_group"] != r.group || p["model_id"] != r.deploymentID ||
			p["prompt_tokens"] != r.prompt || p["completion_tokens"] != r.completion || p["custom_llm_provider"] != "openai" {
			t.Errorf("call %s: payload %v, want group %s status %s tokens %v/%v", r.callID, p, r.group, wantStatus, r.prompt, r.completion)
		}
		cost, _ := p["response_cost"].(float64)
		if (r.status == 200) != (cost > 0) {
			t.Errorf("call %s: response_cost %v", r.callID, p["response_cost"])
		}
		if r.status != 200 && p["error_str"] == nil {
			t.Errorf("call %s: failure without error_str: %v", r.callID, p)
		}
	}
	if n := gcs.TokensIssued(); n != 1 {
		t.Errorf("%d access tokens issued, want 1 (cached across uploads)", n)
	}
}
