package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestModuleTranslatedStreamError (D66): a translated stream that ends with
// the provider's error inside it — an Anthropic `error` event after the 200
// headers — is a failed try for the router, as the attempt filter counts it:
// in module mode the module translates the stream (no attempt filter) and
// its outcome record reports the error's status, so the deployment cools
// down and /metrics counts its failures. Before D66 the record said 200: the
// failing deployment was never cooled down and kept half the traffic.
func TestModuleTranslatedStreamError(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{StreamChunks: 4})
	// Every stream of the "err" deployment: two events, then Anthropic's
	// overloaded_error inside the stream.
	if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/err/"}, Fault: fakeprovider.Fault{Status: 529, CutAfter: 2}}); err != nil {
		t.Fatal(err)
	}
	g := startGatewayArgs(t, fmt.Sprintf(`
model_list:
  - model_name: pair
    litellm_params: {model: anthropic/claude-3-5-haiku-20241022, api_base: %[1]s/ok, api_key: sk-ant-ok}
    model_info: {id: ok-deployment}
  - model_name: pair
    litellm_params: {model: anthropic/claude-3-5-haiku-20241022, api_base: %[1]s/err, api_key: sk-ant-err}
    model_info: {id: err-deployment}
router_settings:
  num_retries: 0
  allowed_fails: 1
  cooldown_time: 120
litellm_settings:
  callbacks: ["prometheus"]
  require_auth_for_metrics_endpoint: false
general_settings:
  master_key: %[2]s
`, fake.URL(), master), moduleArgs)
	waitLog(t, g, "llmgate module: config")
	waitForMinuteLeft(20 * time.Second) // failures are counted per minute

	stream := func(i int) (modelID string, failed bool) {
		code, hdr, body := do(t, "POST", g.URL+"/v1/chat/completions", master, chatBody("pair", "stream error "+strconv.Itoa(i), `"stream":true`))
		if code != 200 {
			t.Fatalf("request %d: %d %s", i, code, body)
		}
		return hdr.Get("x-litellm-model-id"), strings.Contains(string(body), `"error"`)
	}
	streams0 := extProcStreamCount(t, g)
	failed, sent := 0, 0
	for ; sent < 60 && failed < 2; sent++ {
		id, bad := stream(sent)
		if bad != (id == "err-deployment") {
			t.Fatalf("request %d: answered by %q, error event in the stream: %v", sent, id, bad)
		}
		if bad {
			failed++
			time.Sleep(300 * time.Millisecond) // the outcome record's flush, the join
		}
	}
	if failed < 2 {
		t.Fatalf("the failing deployment answered %d of %d streams", failed, sent)
	}
	if got := extProcStreamCount(t, g) - streams0; got != 0 {
		t.Errorf("%d ext_proc streams for %d translated streams: the module did not serve them", got, sent)
	}
	// The cooldown reaches the module with a table push, which it logs
	// (a fixed wait was too short on a loaded machine).
	waitLog(t, g, "applied (1 cooling)")
	errCalls := fake.Count("/err/")
	for i := 0; i < 20; i++ {
		if id, bad := stream(100 + i); bad || id != "ok-deployment" {
			t.Errorf("request %d after two failed streams: answered by %q (error event: %v): the failing deployment was not cooled down", 100+i, id, bad)
		}
	}
	if got := fake.Count("/err/"); got != errCalls {
		t.Errorf("the cooled-down deployment got %d more calls", got-errCalls)
	}
	_, _, mb := do(t, "GET", g.URL+"/metrics", "", "")
	if got := metricSum(mb, "litellm_deployment_failure_responses_total", `model_id="err-deployment"`); got != float64(failed) {
		t.Errorf("err deployment failures = %v, want %d\n%s", got, failed, grepLines(string(mb), "err-deployment"))
	}
	if got := metricSum(mb, "litellm_deployment_cooled_down_total", `model_id="err-deployment"`); got != 1 {
		t.Errorf("litellm_deployment_cooled_down_total{err} = %v, want 1", got)
	}
}
