package e2e

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakes3"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// objectsOf is the bucket's objects (parsed JSON) by key.
func objectsOf(t *testing.T, f *fakes3.Server, bucket string) map[string]map[string]any {
	objs, _ := f.Objects(t, bucket)
	return objs
}

// s3Config: callbacksConfig's groups with the s3 callback (and prometheus
// for the llmgate_callback_* counters) writing to endpoint.
func s3Config(fake, endpoint string) string {
	return fmt.Sprintf(`
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
  callbacks: ["s3_v2", "prometheus"]
  require_auth_for_metrics_endpoint: false
  s3_callback_params:
    s3_bucket_name: llm-logs
    s3_region_name: us-east-1
    s3_endpoint_url: %[3]s
    s3_aws_access_key_id: os.environ/S3_TEST_KEY_ID
    s3_aws_secret_access_key: os.environ/S3_TEST_SECRET
    s3_path: proxy/logs
general_settings:
  master_key: %[2]s
`, fake, master, endpoint)
}

// TestS3CallbackOneObjectPerRequest (D64): through the real Envoy (the
// module, the default request filter), the s3 callback puts one object per
// client request in an S3-compatible bucket, at LiteLLM's key
// ([s3_path/]YYYY-MM-DD/time-…_<call id>.json), holding the
// StandardLoggingPayload with the call id, group, deployment, tokens, cost
// and status the client saw, signed with the configured credentials.
func TestS3CallbackOneObjectPerRequest(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/bad/"}, Fault: fakeprovider.Fault{Status: 500}}); err != nil {
		t.Fatal(err)
	}
	s3 := fakes3.Start(t, "llm-logs")
	g := startGateway(t, s3Config(fake.URL(), s3.URL), "S3_TEST_KEY_ID=AKIDE2E", "S3_TEST_SECRET=e2e-secret",
		"DEFAULT_S3_FLUSH_INTERVAL_SECONDS=0.2")
	sent := sendCallbackTraffic(t, g, 3, 2)

	objs := s3Objects(t, g, s3, "llm-logs", len(sent))
	byCall := map[string]string{}
	keyRE := regexp.MustCompile(`^proxy/logs/\d{4}-\d{2}-\d{2}/time-\d{2}-\d{2}-\d{2}-\d{6}_([0-9a-f-]+)\.json$`)
	for k := range objs {
		m := keyRE.FindStringSubmatch(k)
		if m == nil {
			t.Fatalf("object key %q is not LiteLLM's layout", k)
		}
		byCall[m[1]] = k
	}
	for _, r := range sent {
		k := byCall[r.callID]
		if k == "" {
			t.Fatalf("no object for call %s: %v", r.callID, keysOf(objs))
		}
		e := objs[k]
		wantStatus := "success"
		if r.status != 200 {
			wantStatus = "failure"
		}
		if e["id"] != r.callID || e["model_group"] != r.group || e["model_id"] != r.deploymentID || e["status"] != wantStatus ||
			e["prompt_tokens"] != r.prompt || e["completion_tokens"] != r.completion || e["custom_llm_provider"] != "openai" {
			t.Errorf("call %s: object %v, want group %s deployment %s status %s tokens %v/%v", r.callID, e, r.group, r.deploymentID, wantStatus, r.prompt, r.completion)
		}
		if cost, _ := e["response_cost"].(float64); (r.status == 200) != (cost > 0) {
			t.Errorf("call %s: response_cost %v", r.callID, e["response_cost"])
		}
		if day := time.Unix(int64(e["startTime"].(float64)), 0).UTC().Format("2006-01-02"); !strings.HasPrefix(k, "proxy/logs/"+day+"/") {
			t.Errorf("call %s: key %s not dated by its start %s", r.callID, k, day)
		}
	}
	for _, a := range s3.Auth() {
		if !strings.HasPrefix(a, "PUT AWS4-HMAC-SHA256 Credential=AKIDE2E/") || !strings.Contains(a, "/us-east-1/s3/aws4_request") {
			t.Errorf("put not signed with the configured credentials: %q", a)
		}
	}
}

// s3Objects waits for the bucket to hold n objects (waitReceived) and
// returns them by key.
func s3Objects(t *testing.T, g *Gateway, s3 *fakes3.Server, bucket string, n int) map[string]map[string]any {
	t.Helper()
	var objs map[string]map[string]any
	waitReceived(t, g, bucket+" objects (one per request)", n, func() ([]string, []string) {
		objs = objectsOf(t, s3, bucket)
		return keysOf(objs), nil
	})
	return objs
}

func keysOf[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestS3CallbackEndpointDown (D64): with the S3 endpoint refusing
// connections every request still succeeds, and the objects not written
// are counted in llmgate_callback_events_dropped_total{callback="s3"}.
func TestS3CallbackEndpointDown(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + l.Addr().String()
	l.Close() // nothing listens there now
	g := startGateway(t, s3Config(fake.URL(), down), "S3_TEST_KEY_ID=AKIDE2E", "S3_TEST_SECRET=e2e-secret",
		"DEFAULT_S3_FLUSH_INTERVAL_SECONDS=0.2")
	const n = 20
	replies := sendMany(g.URL, n, 4, func(int) string { return chatBody("good", "nobody stores this") })
	for i, r := range replies {
		if r.err != nil || r.code != 200 {
			t.Fatalf("request %d with the S3 endpoint down: %d %v %s", i, r.code, r.err, r.body)
		}
	}
	re := regexp.MustCompile(`(?m)^llmgate_callback_(events_dropped|send_failures|events_sent)_total\{callback="s3"\} (\S+)$`)
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		_, _, body := do(t, "GET", g.URL+"/metrics", "", "")
		got := map[string]float64{}
		for _, m := range re.FindAllStringSubmatch(string(body), -1) {
			got[m[1]], _ = strconv.ParseFloat(m[2], 64)
		}
		if got["events_dropped"] == n && got["send_failures"] > 0 && got["events_sent"] == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("drops not counted: %v\n%s", got, grepLines(string(body), "llmgate_callback"))
		}
	}
}

// TestS3V1Callback (D170): LiteLLM's v1 "s3" logger (integrations/s3.py)
// with enable_preview_features writes a key's request under its team's
// alias but never under the key's alias (s3_use_key_prefix is s3_v2's),
// and logs successes only: a team key's success under
// logs/Engineering/<day>/, the master key's under logs/<day>/, nothing for
// the team key's failure.
func TestS3V1Callback(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/bad/"}, Fault: fakeprovider.Fault{Status: 500}}); err != nil {
		t.Fatal(err)
	}
	s3 := fakes3.Start(t, "v1-logs")
	cfg := fmt.Sprintf(`
model_list:
  - model_name: good
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/good/v1, api_key: k}
  - model_name: bad
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/bad/v1, api_key: k}
router_settings:
  num_retries: 0
litellm_settings:
  callbacks: ["s3"]
  enable_preview_features: true
  s3_callback_params:
    s3_bucket_name: v1-logs
    s3_endpoint_url: %[3]s
    s3_aws_access_key_id: AKIDV1
    s3_aws_secret_access_key: v1-secret
    s3_path: logs
    s3_use_team_prefix: true
    s3_use_key_prefix: true
general_settings:
  master_key: %[2]s
`, fake.URL(), master, s3.URL)
	g := startGateway(t, cfg, "DEFAULT_S3_FLUSH_INTERVAL_SECONDS=0.2", "LLMGATE_DATA_DIR="+t.TempDir())
	k := keyAPI{t: t, g: g}
	if st, m := k.call("POST", "/team/new", master, `{"team_id":"team-1","team_alias":"Engineering"}`); st != 200 {
		t.Fatalf("/team/new: %d %v", st, m)
	}
	key, _ := k.generate(`{"team_id":"team-1","key_alias":"alias-k"}`)
	var teamCall string
	for deadline := time.Now().Add(10 * time.Second); teamCall == ""; time.Sleep(100 * time.Millisecond) {
		st, _, h := k.chat(key, "good")
		if st == 200 {
			teamCall = h.Get("x-litellm-call-id")
		} else if time.Now().After(deadline) {
			t.Fatalf("request with the new key: %d", st)
		}
	}
	if st, _, _ := k.chat(key, "bad"); st != 500 {
		t.Fatalf("the team key's failing request: %d, want 500", st)
	}
	st, _, h := k.chat(master, "good")
	if st != 200 {
		t.Fatalf("master request: %d", st)
	}
	otherCall := h.Get("x-litellm-call-id")
	objs := keysOf(s3Objects(t, g, s3, "v1-logs", 2))
	day := `\d{4}-\d{2}-\d{2}/time-\d{2}-\d{2}-\d{2}-\d{6}_`
	for re, call := range map[string]string{`^logs/Engineering/` + day: teamCall, `^logs/` + day: otherCall} {
		found := false
		for _, o := range objs {
			found = found || regexp.MustCompile(re+regexp.QuoteMeta(call)+`\.json$`).MatchString(o)
		}
		if !found {
			t.Errorf("no object %s%s.json in %v", re, call, objs)
		}
	}
}
