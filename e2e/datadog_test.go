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
// gunzipped JSON array of events, and answers 202 as Datadog does.
type ddIntake struct {
	mu     sync.Mutex
	events []map[string]any
	hdrs   []http.Header
	bad    []string
}

func (d *ddIntake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	defer d.mu.Unlock()
	body, err := io.ReadAll(r.Body)
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

// TestDatadogCallback: callbacks: [datadog] sends each request's
// StandardLoggingPayload to Datadog's logs intake (DD_BASE_URL, as
// LiteLLM's override) off the request path: gzipped, with DD-API-KEY, one
// event per client request with LiteLLM's ddsource, service, hostname,
// status (info / error) and ddtags (env, request tags and the team's alias
// normalised).
func TestDatadogCallback(t *testing.T) {
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
  callbacks: ["datadog"]
general_settings:
  master_key: %[2]s
`, fake.URL(), master)
	if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/broken/"}, Fault: fakeprovider.Fault{Status: 500}}); err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, cfg, "LLMGATE_DATA_DIR="+t.TempDir(), "DD_API_KEY=dd-secret-key", "DD_SITE=us5.datadoghq.com",
		"DD_BASE_URL="+srv.URL, "DD_ENV=staging", "DD_SERVICE=llm-gw", "HOSTNAME=gw-host-1", "DEFAULT_FLUSH_INTERVAL_SECONDS=1")
	k := keyAPI{t, g}
	st, team := k.call("POST", "/team/new", master, `{"team_alias":"Search Team"}`)
	if st != 200 {
		t.Fatalf("/team/new: %d %v", st, team)
	}
	key, _ := k.generate(fmt.Sprintf(`{"team_id":%q}`, team["team_id"]))

	ids := map[string]string{} // call id → the status LiteLLM logs
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
		ids[id] = c.status
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
}
