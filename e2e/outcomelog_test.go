package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// metricSum adds the samples of a Prometheus metric whose labels contain
// every one of want (`model_id="x"`).
func metricSum(body []byte, name string, want ...string) float64 {
	var sum float64
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(line, w)
		}
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err == nil {
			sum += v
		}
	}
	return sum
}

var extProcRqTotal = regexp.MustCompile(`(?m)^cluster\.llmgate_extproc\.upstream_rq_total: (\d+)$`)

// extProcStreamCount is the number of ext_proc streams Envoy opened so far
// (request filter and attempt filter alike).
func extProcStreamCount(t *testing.T, g *Gateway) int {
	t.Helper()
	c, base := adminClient(t, g)
	resp, err := c.Get(base + "/stats?filter=^cluster.llmgate_extproc.upstream_rq_total$")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := extProcRqTotal.FindSubmatch(b)
	if m == nil {
		t.Fatalf("no ext_proc stream count in %s", b)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// TestOutcomeLogFastPath: on the fast path no attempt filter sees a
// successful try or a try without a response; Envoy's access-log service
// reports them (D44). A group of two OpenAI-compatible deployments, one on a
// port nobody listens on: its connection-refused tries count toward its
// cooldown (allowed_fails 1: the second failure cools it down, LiteLLM's
// rule) and then no request tries it; every answer reaches /metrics and the
// generic_api callback with the tokens the client saw; and Envoy opened one
// ext_proc stream per request (the request filter's), none per try.
func TestOutcomeLogFastPath(t *testing.T) {
	outcomeLogFastPath(t, extProcArgs, 1)
}

// TestOutcomeLogFastPathModule is TestOutcomeLogFastPath with the module
// serving the requests (D54): the module's outcome records (one per request,
// with the try that answered) and Envoy's entries of the failed tries feed
// the same cooldown, metrics and callback; no ext_proc stream at all until
// the cooldown hands the group to ext_proc.
func TestOutcomeLogFastPathModule(t *testing.T) {
	outcomeLogFastPath(t, moduleArgs, 0)
}

func outcomeLogFastPath(t *testing.T, args []string, streamsPerRequest int) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	hook := &collector{}
	hookSrv := httptest.NewServer(hook)
	defer hookSrv.Close()
	dead := freePort(t)
	g := startGatewayArgs(t, fmt.Sprintf(`
model_list:
  - model_name: pair
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/ok/v1, api_key: k}
    model_info: {id: ok-deployment}
  - model_name: pair
    litellm_params: {model: openai/gpt-4o, api_base: "http://127.0.0.1:%[3]d/v1", api_key: k}
    model_info: {id: dead-deployment}
router_settings:
  num_retries: 2
  allowed_fails: 1
  cooldown_time: 120
litellm_settings:
  callbacks: ["generic_api", "prometheus"]
  require_auth_for_metrics_endpoint: false
general_settings:
  master_key: %[2]s
`, fake.URL(), master, dead), args,
		"GENERIC_LOGGER_ENDPOINT="+hookSrv.URL+"/log", "DEFAULT_FLUSH_INTERVAL_SECONDS=0.2")
	waitForMinuteLeft(20 * time.Second) // failures are counted per minute

	type answer struct {
		callID           string
		prompt, complete float64
		retried          bool
		attemptedRetries string
		modelID          string
	}
	send := func(i int) answer {
		code, hdr, body := do(t, "POST", g.URL+"/v1/chat/completions", master, chatBody("pair", "outcome log "+strconv.Itoa(i)))
		if code != 200 {
			t.Fatalf("request %d: %d %s", i, code, body)
		}
		var r struct {
			Usage struct {
				Prompt     float64 `json:"prompt_tokens"`
				Completion float64 `json:"completion_tokens"`
			} `json:"usage"`
		}
		if err := json.Unmarshal(body, &r); err != nil || r.Usage.Prompt == 0 {
			t.Fatalf("request %d: no usage in %s", i, body)
		}
		a := answer{callID: hdr.Get("x-litellm-call-id"), prompt: r.Usage.Prompt, complete: r.Usage.Completion,
			attemptedRetries: hdr.Get("x-litellm-attempted-retries"), modelID: hdr.Get("x-litellm-model-id")}
		a.retried = a.attemptedRetries != "0"
		if a.callID == "" || a.modelID != "ok-deployment" {
			t.Fatalf("request %d: call id %q, model id %q", i, a.callID, a.modelID)
		}
		return a
	}

	streams0 := extProcStreamCount(t, g)
	var sent []answer
	refused := 0
	for i := 0; i < 60 && refused < 2; i++ {
		a := send(i)
		if a.retried {
			refused++
		}
		sent = append(sent, a)
	}
	if refused < 2 {
		t.Fatalf("the dead deployment was first in the plan %d times in %d requests", refused, len(sent))
	}
	if got := extProcStreamCount(t, g) - streams0; got != streamsPerRequest*len(sent) {
		t.Errorf("Envoy opened %d ext_proc streams for %d requests: an attempt filter ran on a fast-path try", got, len(sent))
	}
	// The cooldown holds once the gateway recorded it (ext_proc plans with
	// the gateway's state) and, with the module, once the module applied
	// the table that carries it: a fixed 500 ms for the access log's flush
	// and the join was too short on a loaded machine (D167).
	waitLog(t, g, `msg="deployment cooling down" deployment=dead-deployment`)
	if streamsPerRequest == 0 {
		waitLog(t, g, "applied (1 cooling)")
	}
	for i := 0; i < 20; i++ {
		a := send(100 + i)
		if a.retried {
			t.Fatalf("request %d after 2 connection failures (allowed_fails 1) still tried the dead deployment: not cooled down", i)
		}
		sent = append(sent, a)
	}

	// /metrics: every answer, its tokens, the dead deployment's failures and
	// its cooldown.
	var prompt, complete float64
	for _, a := range sent {
		prompt, complete = prompt+a.prompt, complete+a.complete
	}
	var mb []byte
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		_, _, mb = do(t, "GET", g.URL+"/metrics", "", "")
		if metricSum(mb, "litellm_deployment_success_responses_total", `model_id="ok-deployment"`) >= float64(len(sent)) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := metricSum(mb, "litellm_deployment_success_responses_total", `model_id="ok-deployment"`); got != float64(len(sent)) {
		t.Errorf("litellm_deployment_success_responses_total = %v, want %d", got, len(sent))
	}
	if got := metricSum(mb, "litellm_input_tokens_metric_total"); got != prompt {
		t.Errorf("litellm_input_tokens_metric_total = %v, want %v (what the client was answered)", got, prompt)
	}
	if got := metricSum(mb, "litellm_output_tokens_metric_total"); got != complete {
		t.Errorf("litellm_output_tokens_metric_total = %v, want %v", got, complete)
	}
	if got := metricSum(mb, "litellm_proxy_total_requests_metric_total", `status_code="200"`); got != float64(len(sent)) {
		t.Errorf("litellm_proxy_total_requests_metric_total{status_code=200} = %v, want %d", got, len(sent))
	}
	if got := metricSum(mb, "litellm_deployment_failure_responses_total", `model_id="dead-deployment"`, `exception_class="Openai.APIConnectionError"`); got != float64(refused) {
		t.Errorf("dead deployment failures = %v, want %d\n%s", got, refused, grepLines(string(mb), "dead-deployment"))
	}
	if got := metricSum(mb, "litellm_deployment_cooled_down_total", `model_id="dead-deployment"`); got != 1 {
		t.Errorf("litellm_deployment_cooled_down_total{dead} = %v, want 1", got)
	}
	if got := metricSum(mb, "litellm_proxy_failed_requests_metric_total"); got != 0 {
		t.Errorf("a retried connection failure counted as a failed client request: %v", got)
	}

	// The callback: one event per request, with the client's tokens.
	events := map[string]map[string]any{}
	deadline = time.Now().Add(20 * time.Second)
	for len(events) < len(sent) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		bodies, _ := hook.snapshot()
		events = map[string]map[string]any{}
		for _, b := range bodies {
			var batch []map[string]any
			if err := json.Unmarshal(b, &batch); err != nil {
				t.Fatalf("webhook body %s: %v", b, err)
			}
			for _, e := range batch {
				id, _ := e["id"].(string)
				if events[id] != nil {
					t.Fatalf("call %s logged twice", id)
				}
				events[id] = e
			}
		}
	}
	if len(events) != len(sent) {
		t.Fatalf("webhook got %d events, want %d", len(events), len(sent))
	}
	for _, a := range sent {
		e := events[a.callID]
		if e == nil || e["status"] != "success" || e["model_id"] != "ok-deployment" || e["model_group"] != "pair" ||
			e["prompt_tokens"] != a.prompt || e["completion_tokens"] != a.complete {
			t.Errorf("call %s: event %v, want success on ok-deployment with %v/%v tokens", a.callID, e, a.prompt, a.complete)
		}
		if cost, _ := e["response_cost"].(float64); cost <= 0 {
			t.Errorf("call %s: response_cost %v", a.callID, e["response_cost"])
		}
	}
}
