package e2e

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	collectorlogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// TestTraceJoinsClientTrace (D58, was TestEnvoyTracerJoinsGatewayTrace
// with Envoy's tracer, D37): with callbacks: ["otel"] a request with the
// client's traceparent gives one trace in the client's trace id: the
// gateway's server span "Received Proxy Server Request" (a child of the
// client's span), litellm_request under it, the attempt spans under that.
// Envoy traces nothing (it exports no span of its own). The provider gets
// no traceparent unless forward_traceparent_to_llm_provider is set; with it,
// the client's. A client traceparent whose sampled flag is off gives no
// spans (parentbased_always_on, the OTel default). With OTEL_LOGS_EXPORTER=otlp
// each request gives one OTLP log record in its trace. Both on the fast
// path (a plain OpenAI-compatible answer) and through the attempt filter (a
// fallback after a 500), with the request filter in ext_proc and in the
// module — which serves these requests itself (no request-filter stream
// but perhaps the fallback's redirect).
func TestTraceJoinsClientTrace(t *testing.T) {
	for _, mode := range []string{"extproc", "module"} {
		for _, forward := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/forward=%v", mode, forward), func(t *testing.T) {
				t.Setenv("LLMGATE_REQUEST_FILTER", mode)
				traceJoins(t, mode == "module", forward)
			})
		}
	}
}

func traceJoins(t *testing.T, module, forward bool) {
	fake := badFailsFake(t)
	col := startOTLPCollector(t)
	rcv, logs := col.traces, col.logs
	cfg := fmt.Sprintf(`
model_list:
  - model_name: good
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/good/v1, api_key: k}
  - model_name: bad
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/bad/v1, api_key: k}
router_settings:
  num_retries: 0
  fallbacks: [{"bad": ["good"]}]
litellm_settings:
  callbacks: ["otel", "prometheus"]
  forward_traceparent_to_llm_provider: %[3]v
general_settings:
  master_key: %[2]s
`, fake.URL(), master, forward)
	g := startGateway(t, cfg, "OTEL_EXPORTER_OTLP_PROTOCOL=grpc", "OTEL_EXPORTER_OTLP_ENDPOINT=http://"+col.addr,
		"OTEL_SERVICE_NAME=llmgate-e2e", "OTEL_LOGS_EXPORTER=otlp", "DEFAULT_FLUSH_INTERVAL_SECONDS=0.2")

	const clientTrace, clientSpan = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
	post := func(model, traceparent string) string {
		req, _ := http.NewRequest("POST", g.URL+"/v1/chat/completions", strings.NewReader(chatBody(model, "trace me")))
		req.Header.Set("authorization", "Bearer "+master)
		req.Header.Set("content-type", "application/json")
		req.Header.Set("traceparent", traceparent)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", model, resp.StatusCode, b)
		}
		return resp.Header.Get("x-litellm-call-id")
	}
	streams0 := requestFilterStreams(t, g) // the harness's readiness checks
	var callIDs []string
	for _, model := range []string{"good", "bad"} {
		callID := post(model, "00-"+clientTrace+"-"+clientSpan+"-01")
		callIDs = append(callIDs, callID)
		if n := requestFilterStreams(t, g) - streams0; module && model == "good" && n != 0 {
			t.Errorf("module: %d request-filter streams after a traced request, want 0 (served by the module)", n)
		}
		var reqSpan *tracepb.Span
		waitUntil(t, g, model+"'s request span", func() ([]string, []string, bool) {
			for _, s := range rcv.snapshot() {
				if s.Name == "litellm_request" && spanAttr(s, "litellm.call_id").GetStringValue() == callID {
					reqSpan = s
				}
			}
			return nil, nil, reqSpan != nil
		})
		if reqSpan == nil {
			t.Fatalf("%s: no request span", model)
		}
		chain := waitChain(t, rcv, reqSpan, clientSpan)
		if hex.EncodeToString(reqSpan.TraceId) != clientTrace || len(chain) != 1 || chain[0].Name != "Received Proxy Server Request" ||
			chain[0].Kind != tracepb.Span_SPAN_KIND_SERVER || hex.EncodeToString(chain[0].ParentSpanId) != clientSpan {
			names := []string{}
			for _, c := range chain {
				names = append(names, fmt.Sprintf("%s(%s)", c.Name, c.Kind))
			}
			t.Fatalf("%s: request span in trace %x under %v: want the gateway's server span, a child of the client's span %s",
				model, reqSpan.TraceId, names, clientSpan)
		}
		if spanAttr(chain[0], "url.path").GetStringValue() != "/v1/chat/completions" || spanAttr(chain[0], "http.response.status_code").GetIntValue() != 200 {
			t.Errorf("%s: server span attributes %v", model, chain[0].Attributes)
		}
	}
	if n := requestFilterStreams(t, g) - streams0; module && n > 1 {
		t.Errorf("module: %d request-filter streams, want at most the fallback's redirect", n)
	}
	// Not sampled by the client: no span, still a log record.
	unsampled := post("good", "00-"+clientTrace+"-"+clientSpan+"-00")
	callIDs = append(callIDs, unsampled)
	// The OTLP access log: one record per request, in the request's trace,
	// naming the client's path, the model group and the call id.
	for _, id := range callIDs {
		var rec *logspb.LogRecord
		waitUntil(t, g, "the access log record of "+id, func() ([]string, []string, bool) {
			rec = logs.find(id)
			return nil, nil, rec != nil
		})
		if rec == nil {
			t.Fatalf("no OTLP access log record for call %s", id)
		}
		attr := func(k string) string {
			for _, a := range rec.Attributes {
				if a.Key == k {
					return a.Value.GetStringValue()
				}
			}
			return ""
		}
		if hex.EncodeToString(rec.TraceId) != clientTrace || attr("url.path") != "/v1/chat/completions" ||
			attr("http.response.status_code") != "200" || attr("llm.model_group") != "good" ||
			!strings.Contains(rec.Body.GetStringValue(), "id="+id) {
			t.Errorf("access log record %v", rec)
		}
	}
	time.Sleep(time.Second) // a batch more
	if n := logs.count(); n != len(callIDs) {
		t.Errorf("%d OTLP access log records, want one per request (%d)", n, len(callIDs))
	}
	for _, s := range rcv.snapshot() {
		if spanAttr(s, "litellm.call_id").GetStringValue() == unsampled {
			t.Errorf("span %q of a request whose traceparent is not sampled", s.Name)
		}
		if spanAttr(s, "litellm.call_id") == nil {
			t.Errorf("a span not the gateway's (Envoy's tracer?): %q", s.Name)
		}
	}
	// What the provider got.
	tries := 0
	for _, r := range fake.Requests() {
		if !strings.HasSuffix(r.Path, "/chat/completions") {
			continue
		}
		tries++
		tp := r.Header.Get("traceparent")
		switch {
		case !forward && tp != "":
			t.Errorf("%s got traceparent %q without forward_traceparent_to_llm_provider", r.Path, tp)
		case forward && (len(tp) != 55 || tp[3:35] != clientTrace):
			t.Errorf("%s got traceparent %q, want the client's", r.Path, tp)
		}
	}
	if tries != 4 {
		t.Fatalf("the provider got %d tries, want 4 (good; bad, then good; good)", tries)
	}
}

// otlpLogs is an in-process OTLP/gRPC logs collector.
type otlpLogs struct {
	collectorlogs.UnimplementedLogsServiceServer
	mu   sync.Mutex
	recs []*logspb.LogRecord
}

func (r *otlpLogs) Export(_ context.Context, req *collectorlogs.ExportLogsServiceRequest) (*collectorlogs.ExportLogsServiceResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rl := range req.ResourceLogs {
		for _, sl := range rl.ScopeLogs {
			r.recs = append(r.recs, sl.LogRecords...)
		}
	}
	return &collectorlogs.ExportLogsServiceResponse{}, nil
}

func (r *otlpLogs) find(callID string) *logspb.LogRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rec := range r.recs {
		for _, a := range rec.Attributes {
			if a.Key == "litellm.call_id" && a.Value.GetStringValue() == callID {
				return rec
			}
		}
	}
	return nil
}

func (r *otlpLogs) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.recs)
}
