package e2e

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// refusedConfig: one model, the prometheus callback and generic_api as a
// failure callback, virtual keys, and a 1 MB request size limit.
func refusedConfig(fake string) string {
	return fmt.Sprintf(`
model_list:
  - model_name: gpt-x
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/v1, api_key: k}
litellm_settings:
  callbacks: ["prometheus"]
  failure_callback: ["generic_api"]
general_settings:
  master_key: %[2]s
  max_request_size_mb: 1
`, fake, master)
}

// TestRefusedRequestsCounted: requests the gateway refuses before any try —
// a bad key (401), an unknown model (400), a key over its budget, a key over
// its rpm limit (429), a body over max_request_size_mb (413) — are counted by
// a real Prometheus as LiteLLM's post-call failure hook counts them (failed
// and total client requests with the status and exception class; the 401s
// not at all), and each one reaches the failure callback.
func TestRefusedRequestsCounted(t *testing.T) {
	promBin := needPrometheus(t)
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	hook := &collector{}
	hookSrv := httptest.NewServer(hook)
	t.Cleanup(hookSrv.Close)
	metricsPort := freePort(t)
	g := startGateway(t, refusedConfig(fake.URL()), "PROMETHEUS_METRICS_PORT="+strconv.Itoa(metricsPort),
		"GENERIC_LOGGER_ENDPOINT="+hookSrv.URL+"/log", "LLMGATE_DATA_DIR="+t.TempDir())
	prom := startPrometheus(t, promBin, fmt.Sprintf("127.0.0.1:%d", metricsPort))
	k := keyAPI{t: t, g: g}
	broke, _ := k.generate(`{"max_budget": 0}`)
	limited, _ := k.generate(`{"rpm_limit": 1}`)

	chat := func(key, model, extra string) int {
		st, _, b := post(t, g.URL+"/v1/chat/completions", key, `{"model":"`+model+`","messages":[{"role":"user","content":"hi`+extra+`"}]}`)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%d, not JSON: %s", st, b)
		}
		return st
	}
	expect := func(what string, got, want int) {
		t.Helper()
		if got != want {
			t.Fatalf("%s: %d, want %d", what, got, want)
		}
	}
	expect("bad key", chat("sk-wrong", "gpt-x", ""), 401)
	expect("bad key", chat("sk-wrong", "gpt-x", ""), 401)
	expect("unknown model", chat(master, "nope", ""), 400)
	expect("unknown model", chat(master, "nope", ""), 400)
	expect("over budget", chat(broke, "gpt-x", ""), 400)
	expect("first within rpm", chat(limited, "gpt-x", ""), 200)
	expect("over rpm", chat(limited, "gpt-x", ""), 429)
	expect("too large", chat(master, "gpt-x", strings.Repeat("x", 1<<20+10)), 413)
	const refusedCounted, refusedAll = 5, 7

	want := map[string]float64{
		`sum(litellm_proxy_failed_requests_metric_total)`:                                                                   refusedCounted,
		`sum(litellm_proxy_total_requests_metric_total)`:                                                                    refusedCounted + 1,
		`sum(litellm_proxy_total_requests_metric_total{status_code="401"}) or vector(0)`:                                    0,
		`sum(litellm_proxy_failed_requests_metric_total{exception_class="ProxyModelNotFoundError",requested_model="nope"})`: 2,
		`sum(litellm_proxy_failed_requests_metric_total{exception_class="BudgetExceededError",exception_status="400"})`:     1,
		`sum(litellm_proxy_failed_requests_metric_total{exception_status="429",requested_model="gpt-x"})`:                   1,
		`sum(litellm_proxy_failed_requests_metric_total{exception_status="413"})`:                                           1,
		`sum(litellm_deployment_total_requests_total)`:                                                                      1,
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var diffs []string
		for q, w := range want {
			if got, ok := prom.query(t, q); !ok || got != w {
				diffs = append(diffs, fmt.Sprintf("%s = %v (present %v), want %v", q, got, ok, w))
			}
		}
		if len(diffs) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus disagrees:\n%s", strings.Join(diffs, "\n"))
		}
		time.Sleep(time.Second)
	}

	// The failure callback: one event per refused request, 401s included
	// (LiteLLM logs auth errors through its failure handler).
	var events []map[string]any
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		bodies, _ := hook.snapshot()
		events = events[:0]
		for _, b := range bodies {
			var batch []map[string]any
			if err := json.Unmarshal(b, &batch); err != nil {
				t.Fatalf("webhook body %s: %v", b, err)
			}
			events = append(events, batch...)
		}
		if len(events) >= refusedAll || time.Now().After(deadline) {
			break
		}
	}
	if len(events) != refusedAll {
		t.Fatalf("%d failure events, want %d: %v", len(events), refusedAll, events)
	}
	classes := map[string]int{}
	for _, e := range events {
		info, _ := e["error_information"].(map[string]any)
		if e["status"] != "failure" || info == nil {
			t.Fatalf("event %v", e)
		}
		classes[fmt.Sprint(info["error_code"], " ", info["error_class"])]++
		if info["error_class"] == "ProxyModelNotFoundError" && e["model"] != "nope" {
			t.Fatalf("refused event names model %v, want the requested one", e["model"])
		}
	}
	for c, n := range map[string]int{"401 ProxyException": 2, "400 ProxyModelNotFoundError": 2, "400 BudgetExceededError": 1,
		"429 HTTPException": 1, "413 ProxyException": 1} {
		if classes[c] != n {
			t.Fatalf("failure events by class %v, want %d of %q", classes, n, c)
		}
	}
}
