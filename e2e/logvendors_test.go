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

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// vendorIntake is Datadog's logs intake (POST /api/v2/logs, a gzipped
// JSON array of events) and, under /ls/, LangSmith's batch ingestion
// (POST /ls/api/v1/runs/batch, {"post": [runs]}): it keeps the items and
// each post's headers by vendor ("datadog", "langsmith") and answers 202
// as both do; anything else is kept as malformed and answered 400.
type vendorIntake struct {
	mu    sync.Mutex
	items map[string][]map[string]any
	hdrs  map[string][]http.Header
	bad   []string
}

func (d *vendorIntake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	defer d.mu.Unlock()
	body, err := io.ReadAll(r.Body)
	vendor, path := "datadog", "/api/v2/logs"
	var items []map[string]any
	if strings.HasPrefix(r.URL.Path, "/ls/") {
		vendor, path = "langsmith", "/ls/api/v1/runs/batch"
		var batch struct {
			Post []map[string]any `json:"post"`
		}
		if err == nil {
			err = json.Unmarshal(body, &batch)
		}
		items = batch.Post
	} else {
		if err == nil && r.Header.Get("Content-Encoding") == "gzip" {
			var zr *gzip.Reader
			if zr, err = gzip.NewReader(bytes.NewReader(body)); err == nil {
				body, err = io.ReadAll(zr)
			}
		}
		if err == nil {
			err = json.Unmarshal(body, &items)
		}
	}
	if r.Method != http.MethodPost || r.URL.Path != path || err != nil {
		d.bad = append(d.bad, fmt.Sprintf("%s %s %s: %v", vendor, r.Method, r.URL.Path, err))
		w.WriteHeader(400)
		return
	}
	if d.items == nil {
		d.items, d.hdrs = map[string][]map[string]any{}, map[string][]http.Header{}
	}
	d.items[vendor] = append(d.items[vendor], items...)
	d.hdrs[vendor] = append(d.hdrs[vendor], r.Header.Clone())
	w.WriteHeader(http.StatusAccepted)
}

// wait returns the vendor's items and post headers once it holds n items
// (waitReceived: it fails t on a malformed post or another count).
func (d *vendorIntake) wait(t *testing.T, g *Gateway, vendor string, n int) ([]map[string]any, []http.Header) {
	t.Helper()
	items := waitReceived(t, g, vendor+" items (one per request)", n, func() ([]map[string]any, []string) {
		d.mu.Lock()
		defer d.mu.Unlock()
		return append([]map[string]any(nil), d.items[vendor]...), append([]string(nil), d.bad...)
	})
	d.mu.Lock()
	defer d.mu.Unlock()
	return items, append([]http.Header(nil), d.hdrs[vendor]...)
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
	intake := &vendorIntake{}
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

	events, hdrs := intake.wait(t, g, "datadog", len(ids))
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

	runs, lsHdrs := intake.wait(t, g, "langsmith", len(lsIDs))
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
