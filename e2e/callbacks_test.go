package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// callbacksConfig: a group that answers, one whose deployment fails (500),
// no retries, and the logging callbacks plus prometheus (for the
// llmgate_callback_* counters).
func callbacksConfig(fake string) string {
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
  callbacks: ["generic_api", "langfuse", "prometheus"]
  require_auth_for_metrics_endpoint: false
general_settings:
  master_key: %[2]s
`, fake, master)
}

// collector records the JSON bodies posted to it.
type collector struct {
	mu     sync.Mutex
	bodies [][]byte
	auth   []string
}

func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	c.bodies = append(c.bodies, b)
	c.auth = append(c.auth, r.Header.Get("Authorization"))
	c.mu.Unlock()
	if r.URL.Path == "/api/public/ingestion" {
		w.WriteHeader(207)
		_, _ = w.Write([]byte(`{"successes":[],"errors":[]}`))
		return
	}
	w.WriteHeader(200)
}

func (c *collector) snapshot() ([][]byte, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte(nil), c.bodies...), append([]string(nil), c.auth...)
}

type sentRequest struct {
	callID              string
	status              int
	prompt, completion  float64
	group, deploymentID string
}

// sendCallbackTraffic sends good and bad chat requests and returns what the
// client saw.
func sendCallbackTraffic(t *testing.T, g *Gateway, good, bad int) []sentRequest {
	t.Helper()
	var out []sentRequest
	for i := 0; i < good+bad; i++ {
		group, dep, want := "good", "good-deployment", 200
		if i >= good {
			group, dep, want = "bad", "bad-deployment", 500
		}
		code, hdr, body := do(t, "POST", g.URL+"/v1/chat/completions", master, chatBody(group, "log me please"))
		if code != want {
			t.Fatalf("request %d to %s: %d %s, want %d", i, group, code, body, want)
		}
		r := sentRequest{callID: hdr.Get("x-litellm-call-id"), status: code, group: group, deploymentID: dep}
		if r.callID == "" {
			t.Fatalf("request %d: no x-litellm-call-id", i)
		}
		if code == 200 {
			var resp struct {
				Usage struct {
					Prompt     float64 `json:"prompt_tokens"`
					Completion float64 `json:"completion_tokens"`
				} `json:"usage"`
			}
			if err := json.Unmarshal(body, &resp); err != nil || resp.Usage.Prompt == 0 {
				t.Fatalf("request %d: no usage in %s", i, body)
			}
			r.prompt, r.completion = resp.Usage.Prompt, resp.Usage.Completion
		}
		out = append(out, r)
	}
	return out
}

// TestLoggingCallbacksDeliverOneEventPerRequest: a webhook server
// (generic_api) and a fake Langfuse ingestion server receive one event per
// client request with the model group, deployment, tokens, cost, status and
// call id the client saw.
func TestLoggingCallbacksDeliverOneEventPerRequest(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/bad/"}, Fault: fakeprovider.Fault{Status: 500}}); err != nil {
		t.Fatal(err)
	}
	hook, lf := &collector{}, &collector{}
	hookSrv, lfSrv := httptest.NewServer(hook), httptest.NewServer(lf)
	defer hookSrv.Close()
	defer lfSrv.Close()
	g := startGateway(t, callbacksConfig(fake.URL()),
		"GENERIC_LOGGER_ENDPOINT="+hookSrv.URL+"/log", "GENERIC_LOGGER_HEADERS=Authorization=Bearer hook-secret",
		"LANGFUSE_HOST="+lfSrv.URL, "LANGFUSE_PUBLIC_KEY=pk-lf", "LANGFUSE_SECRET_KEY=sk-lf",
		"DEFAULT_FLUSH_INTERVAL_SECONDS=0.2")
	sent := sendCallbackTraffic(t, g, 3, 2)

	// The webhook: a JSON array of StandardLoggingPayload per batch.
	events := map[string]map[string]any{}
	waitReceived(t, g, "webhook events", len(sent), func() ([]string, []string) {
		bodies, auth := hook.snapshot()
		events = map[string]map[string]any{}
		var ids, refused []string
		for i, b := range bodies {
			if auth[i] != "Bearer hook-secret" {
				refused = append(refused, fmt.Sprintf("webhook post without GENERIC_LOGGER_HEADERS: %q", auth[i]))
			}
			var batch []map[string]any
			if err := json.Unmarshal(b, &batch); err != nil {
				refused = append(refused, fmt.Sprintf("webhook body %s: %v", b, err))
			}
			for _, e := range batch {
				id, _ := e["id"].(string)
				if events[id] != nil {
					refused = append(refused, "call "+id+" logged twice")
				}
				events[id] = e
				ids = append(ids, id)
			}
		}
		return ids, refused
	})
	for _, r := range sent {
		e := events[r.callID]
		if e == nil {
			t.Fatalf("no webhook event for call %s", r.callID)
		}
		wantStatus := "success"
		if r.status != 200 {
			wantStatus = "failure"
		}
		if e["model_group"] != r.group || e["model_id"] != r.deploymentID || e["status"] != wantStatus ||
			e["prompt_tokens"] != r.prompt || e["completion_tokens"] != r.completion || e["custom_llm_provider"] != "openai" {
			t.Errorf("call %s: event %v, want group %s deployment %s status %s tokens %v/%v", r.callID, e, r.group, r.deploymentID, wantStatus, r.prompt, r.completion)
		}
		if cost, _ := e["response_cost"].(float64); (r.status == 200) != (cost > 0) {
			t.Errorf("call %s: response_cost %v", r.callID, e["response_cost"])
		}
		if r.status != 200 {
			if ei, _ := e["error_information"].(map[string]any); ei == nil || ei["error_code"] != "500" {
				t.Errorf("call %s: error_information %v", r.callID, e["error_information"])
			}
		}
	}

	// Langfuse: a trace and a generation per request, basic auth with the keys.
	traces, gens := map[string]bool{}, map[string]map[string]any{}
	waitReceived(t, g, "langfuse generations", len(sent), func() ([]string, []string) {
		bodies, auth := lf.snapshot()
		traces, gens = map[string]bool{}, map[string]map[string]any{}
		var genIDs, refused []string
		for i, b := range bodies {
			if auth[i] != "Basic cGstbGY6c2stbGY=" { // pk-lf:sk-lf
				refused = append(refused, fmt.Sprintf("langfuse auth %q", auth[i]))
			}
			var in struct {
				Batch []struct {
					Type string         `json:"type"`
					Body map[string]any `json:"body"`
				} `json:"batch"`
			}
			if err := json.Unmarshal(b, &in); err != nil {
				refused = append(refused, fmt.Sprintf("langfuse body %s: %v", b, err))
			}
			for _, ev := range in.Batch {
				switch ev.Type {
				case "trace-create":
					traces[ev.Body["id"].(string)] = true
				case "generation-create":
					gens[ev.Body["traceId"].(string)] = ev.Body
					genIDs = append(genIDs, ev.Body["traceId"].(string))
				}
			}
		}
		return genIDs, refused
	})
	for _, r := range sent {
		gen := gens[r.callID]
		if !traces[r.callID] || gen == nil {
			t.Fatalf("langfuse: no trace/generation for call %s (traces %v)", r.callID, traces)
		}
		usage, _ := gen["usageDetails"].(map[string]any)
		wantLevel := "DEFAULT"
		if r.status != 200 {
			wantLevel = "ERROR"
		}
		if usage["input"] != r.prompt || usage["output"] != r.completion || gen["level"] != wantLevel {
			t.Errorf("call %s: generation %v", r.callID, gen)
		}
	}
	if len(gens) != len(sent) || len(traces) != len(sent) {
		t.Errorf("langfuse got %d traces, %d generations, want %d", len(traces), len(gens), len(sent))
	}
}

// TestLoggingCallbacksReceiverDown: with both receivers refusing
// connections every request still succeeds, and the undelivered events
// are counted in llmgate_callback_events_dropped_total.
func TestLoggingCallbacksReceiverDown(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + l.Addr().String()
	l.Close() // nothing listens there now
	g := startGateway(t, callbacksConfig(fake.URL()),
		"GENERIC_LOGGER_ENDPOINT="+down+"/log", "LANGFUSE_HOST="+down, "LANGFUSE_PUBLIC_KEY=pk", "LANGFUSE_SECRET_KEY=sk",
		"DEFAULT_FLUSH_INTERVAL_SECONDS=0.2")
	const n = 20
	replies := sendMany(g.URL, n, 4, func(int) string { return chatBody("good", "nobody listens") })
	for i, r := range replies {
		if r.err != nil || r.code != 200 {
			t.Fatalf("request %d with the receivers down: %d %v %s", i, r.code, r.err, r.body)
		}
	}
	re := regexp.MustCompile(`(?m)^llmgate_callback_(events_dropped|send_failures)_total\{callback="(\w+)"\} (\S+)$`)
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, _, body := do(t, "GET", g.URL+"/metrics", "", "")
		got := map[string]float64{}
		for _, m := range re.FindAllStringSubmatch(string(body), -1) {
			v, _ := strconv.ParseFloat(m[3], 64)
			got[m[1]+"/"+m[2]] = v
		}
		if got["events_dropped/generic_api"] == n && got["events_dropped/langfuse"] == n &&
			got["send_failures/generic_api"] > 0 && got["send_failures/langfuse"] > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("drops not counted: %v\n%s", got, grepLines(string(body), "llmgate_callback"))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
