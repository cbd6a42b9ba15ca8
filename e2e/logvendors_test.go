package e2e

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// ddIntake is a Datadog logs intake: it keeps each post's headers and its
// gunzipped JSON array of events, and answers 202 as Datadog does. Under
// /ls/ it is LangSmith's batch ingestion: the runs of each {"post": […]}
// and the headers, answered 202.
type ddIntake struct {
	mu     sync.Mutex
	events []map[string]any
	hdrs   []http.Header
	bad    []string
	runs   []map[string]any
	lsHdrs []http.Header
}

func (d *ddIntake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	defer d.mu.Unlock()
	body, err := io.ReadAll(r.Body)
	if strings.HasPrefix(r.URL.Path, "/ls/") {
		var batch struct {
			Post []map[string]any `json:"post"`
		}
		if err == nil {
			err = json.Unmarshal(body, &batch)
		}
		if r.Method != http.MethodPost || r.URL.Path != "/ls/api/v1/runs/batch" || err != nil {
			d.bad = append(d.bad, fmt.Sprintf("langsmith %s %s: %v", r.Method, r.URL.Path, err))
			w.WriteHeader(400)
			return
		}
		d.runs = append(d.runs, batch.Post...)
		d.lsHdrs = append(d.lsHdrs, r.Header.Clone())
		w.WriteHeader(http.StatusAccepted)
		return
	}
	if err == nil && r.Header.Get("Content-Encoding") == "gzip" {
		var zr *gzip.Reader
		if zr, err = gzip.NewReader(bytes.NewReader(body)); err == nil {
			body, err = io.ReadAll(zr)
		}
	}
	var evs []map[string]any
	if err == nil {
		err = json.Unmarshal(body, &evs)
	}
	if r.Method != http.MethodPost || r.URL.Path != "/api/v2/logs" || err != nil {
		d.bad = append(d.bad, fmt.Sprintf("%s %s: %v", r.Method, r.URL.Path, err))
		w.WriteHeader(400)
		return
	}
	d.events = append(d.events, evs...)
	d.hdrs = append(d.hdrs, r.Header.Clone())
	w.WriteHeader(http.StatusAccepted)
}

func (d *ddIntake) snapshot() ([]map[string]any, []http.Header, []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]map[string]any(nil), d.events...), append([]http.Header(nil), d.hdrs...), append([]string(nil), d.bad...)
}

func (d *ddIntake) langsmith() ([]map[string]any, []http.Header) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]map[string]any(nil), d.runs...), append([]http.Header(nil), d.lsHdrs...)
}

// TestLoggingVendorCallbacks (D151): callbacks: [datadog, langsmith].
// Datadog: each request's StandardLoggingPayload to the logs intake
// (DD_BASE_URL, as LiteLLM's override) off the request path: gzipped, with
// DD-API-KEY, one event per client request with LiteLLM's ddsource,
// service, hostname, status (info / error) and ddtags (env, request tags
// and the team's alias normalised). LangSmith: one llm run per request at
// LANGSMITH_BASE_URL/api/v1/runs/batch with x-api-key and x-tenant-id, in
// the project, with the usage, tags and the error of a failure.
func TestLoggingVendorCallbacks(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	intake := &ddIntake{}
	srv := httptest.NewServer(intake)
	defer srv.Close()
	cfg := fmt.Sprintf(`
model_list:
  - model_name: good
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/v1, api_key: sk-provider-secret}
  - model_name: bad
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/broken/v1, api_key: sk-provider-secret}
router_settings:
  num_retries: 0
litellm_settings:
  callbacks: ["datadog", "langsmith"]
general_settings:
  master_key: %[2]s
`, fake.URL(), master)
	if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/broken/"}, Fault: fakeprovider.Fault{Status: 500}}); err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, cfg, "LLMGATE_DATA_DIR="+t.TempDir(), "DD_API_KEY=dd-secret-key", "DD_SITE=us5.datadoghq.com",
		"DD_BASE_URL="+srv.URL, "DD_ENV=staging", "DD_SERVICE=llm-gw", "HOSTNAME=gw-host-1", "DEFAULT_FLUSH_INTERVAL_SECONDS=1",
		"LANGSMITH_API_KEY=ls-secret", "LANGSMITH_TENANT_ID=tenant-9", "LANGSMITH_PROJECT=proj-x", "LANGSMITH_BASE_URL="+srv.URL+"/ls")
	k := keyAPI{t, g}
	st, team := k.call("POST", "/team/new", master, `{"team_alias":"Search Team"}`)
	if st != 200 {
		t.Fatalf("/team/new: %d %v", st, team)
	}
	key, _ := k.generate(fmt.Sprintf(`{"team_id":%q}`, team["team_id"]))

	ids := map[string]string{} // call id → the status LiteLLM logs
	lsIDs := map[string]string{}
	for _, c := range []struct{ model, status string }{{"good", "success"}, {"bad", "failure"}} {
		st, h, b := post(t, g.URL+"/v1/chat/completions", key,
			`{"model":"`+c.model+`","messages":[{"role":"user","content":"hi"}],"metadata":{"tags":["Batch Job!"]}}`)
		if (st == 200) != (c.status == "success") {
			t.Fatalf("%s: %d %s", c.model, st, b)
		}
		id := h.Get("x-litellm-call-id")
		if id == "" {
			t.Fatalf("%s: no x-litellm-call-id", c.model)
		}
		ids[id], lsIDs[id] = c.status, c.status
	}

	deadline := time.Now().Add(20 * time.Second)
	var events []map[string]any
	var hdrs []http.Header
	for {
		var bad []string
		events, hdrs, bad = intake.snapshot()
		if len(bad) > 0 {
			t.Fatalf("the intake got malformed posts: %v", bad)
		}
		if len(events) >= len(ids) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(events) != len(ids) {
		t.Fatalf("the intake got %d events, want %d (one per request)\n%s", len(events), len(ids), g.Logs())
	}
	for _, h := range hdrs {
		if h.Get("DD-API-KEY") != "dd-secret-key" || h.Get("Content-Type") != "application/json" {
			t.Errorf("intake post headers: DD-API-KEY %q, Content-Type %q", h.Get("DD-API-KEY"), h.Get("Content-Type"))
		}
	}
	for _, ev := range events {
		var msg map[string]any
		if err := json.Unmarshal([]byte(fmt.Sprint(ev["message"])), &msg); err != nil {
			t.Fatalf("event message is not a StandardLoggingPayload: %v\n%v", err, ev)
		}
		id, _ := msg["id"].(string)
		want, ok := ids[id]
		if !ok {
			t.Errorf("event for an unknown call id %q", id)
			continue
		}
		delete(ids, id)
		ddStatus := map[string]string{"success": "info", "failure": "error"}[want]
		if msg["status"] != want || ev["status"] != ddStatus || ev["ddsource"] != "litellm" || ev["service"] != "llm-gw" || ev["hostname"] != "gw-host-1" {
			t.Errorf("event %s: status %v/%v, ddsource %v, service %v, hostname %v", id, msg["status"], ev["status"], ev["ddsource"], ev["service"], ev["hostname"])
		}
		if rt := fmt.Sprint(msg["request_tags"]); !strings.Contains(rt, "Batch Job!") {
			t.Errorf("event %s: the payload's request_tags %s lack the request's tag", id, rt)
		}
		tags := fmt.Sprint(ev["ddtags"])
		for _, want := range []string{"env:staging", "service:llm-gw", "version:unknown", "HOSTNAME:gw-host-1", "POD_NAME:unknown", "request_tag:batch_job", "team:search_team"} {
			if !strings.Contains(","+tags+",", ","+want+",") {
				t.Errorf("event %s: ddtags %q lack %q", id, tags, want)
			}
		}
		if strings.Contains(fmt.Sprint(ev), "sk-provider-secret") {
			t.Errorf("event %s carries the provider key", id)
		}
	}

	var runs []map[string]any
	var lsHdrs []http.Header
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if runs, lsHdrs = intake.langsmith(); len(runs) >= len(lsIDs) || time.Now().After(deadline) {
			break
		}
	}
	if len(runs) != len(lsIDs) {
		t.Fatalf("LangSmith got %d runs, want %d (one per request)\n%s", len(runs), len(lsIDs), g.Logs())
	}
	for _, h := range lsHdrs {
		if h.Get("x-api-key") != "ls-secret" || h.Get("x-tenant-id") != "tenant-9" {
			t.Errorf("LangSmith post headers: x-api-key %q, x-tenant-id %q", h.Get("x-api-key"), h.Get("x-tenant-id"))
		}
	}
	for _, run := range runs {
		in, _ := run["inputs"].(map[string]any)
		id, _ := in["id"].(string)
		want, ok := lsIDs[id]
		if !ok {
			t.Errorf("run for an unknown call id %q: %v", id, run)
			continue
		}
		delete(lsIDs, id)
		out, _ := run["outputs"].(map[string]any)
		usage, _ := out["usage_metadata"].(map[string]any)
		order, _ := run["dotted_order"].(string)
		if run["name"] != "LLMRun" || run["run_type"] != "llm" || run["session_name"] != "proj-x" || in["status"] != want ||
			run["id"] != id || run["trace_id"] != id || !strings.HasSuffix(order, "Z"+id) || len(order) != len("20261130T041500123456Z")+len(id) {
			t.Errorf("run %s: name %v, type %v, project %v, status %v, id %v, trace %v, dotted_order %q", id, run["name"], run["run_type"], run["session_name"], in["status"], run["id"], run["trace_id"], order)
		}
		if tags := fmt.Sprint(run["tags"]); !strings.Contains(tags, "Batch Job!") {
			t.Errorf("run %s: tags %s", id, tags)
		}
		if _, hasErr := run["error"]; (want == "failure") != hasErr {
			t.Errorf("run %s (%s): error %v", id, want, run["error"])
		}
		if want == "success" && (usage["input_tokens"] == float64(0) || usage["total_cost"] == nil) {
			t.Errorf("run %s: usage_metadata %v", id, usage)
		}
		if strings.Contains(fmt.Sprint(run), "sk-provider-secret") {
			t.Errorf("run %s carries the provider key", id)
		}
	}
}
