package e2e

import (
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	collectorlogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	logspb "go.opentelemetry.io/proto/otlp/logs/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestEnvoyTracerJoinsGatewayTrace: with callbacks: ["otel"], Envoy's own
// OpenTelemetry tracer exports to the same OTLP receiver: a request with
// the client's traceparent gives Envoy's server span (a child of the
// client's span), Envoy's ext_proc client span under it, and the gateway's
// litellm_request span under that, all in the client's trace. The provider
// gets no traceparent unless forward_traceparent_to_llm_provider is set;
// with it, one in the client's trace. Both on the fast path (a plain
// OpenAI-compatible answer) and through the attempt filter (a fallback
// after a 500).
func TestEnvoyTracerJoinsGatewayTrace(t *testing.T) {
	for _, forward := range []bool{false, true} {
		t.Run(fmt.Sprintf("forward=%v", forward), func(t *testing.T) { envoyTracerJoins(t, forward) })
	}
}

func envoyTracerJoins(t *testing.T, forward bool) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/bad/"}, Fault: fakeprovider.Fault{Status: 500}}); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rcv := &otlpReceiver{}
	gs := grpc.NewServer()
	collectortrace.RegisterTraceServiceServer(gs, rcv)
	logs := &otlpLogs{}
	collectorlogs.RegisterLogsServiceServer(gs, logs)
	go func() { _ = gs.Serve(l) }()
	defer gs.Stop()
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
  callbacks: ["otel"]
  forward_traceparent_to_llm_provider: %[3]v
general_settings:
  master_key: %[2]s
`, fake.URL(), master, forward)
	g := startGateway(t, cfg, "OTEL_EXPORTER_OTLP_PROTOCOL=grpc", "OTEL_EXPORTER_OTLP_ENDPOINT=http://"+l.Addr().String(),
		"OTEL_SERVICE_NAME=llmgate-e2e")

	const clientTrace, clientSpan = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
	var callIDs []string
	for _, model := range []string{"good", "bad"} {
		req, _ := http.NewRequest("POST", g.URL+"/v1/chat/completions", strings.NewReader(chatBody(model, "trace me")))
		req.Header.Set("authorization", "Bearer "+master)
		req.Header.Set("content-type", "application/json")
		req.Header.Set("traceparent", "00-"+clientTrace+"-"+clientSpan+"-01")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %s", model, resp.StatusCode, b)
		}
		callID := resp.Header.Get("x-litellm-call-id")
		callIDs = append(callIDs, callID)
		var reqSpan *tracepb.Span
		for deadline := time.Now().Add(30 * time.Second); reqSpan == nil; time.Sleep(100 * time.Millisecond) {
			for _, s := range rcv.snapshot() {
				if s.Name == "litellm_request" && spanAttr(s, "litellm.call_id").GetStringValue() == callID {
					reqSpan = s
				}
			}
			if reqSpan == nil && time.Now().After(deadline) {
				t.Fatalf("%s: no request span", model)
			}
		}
		chain := waitEnvoyChain(t, rcv, reqSpan, clientSpan)
		if hex.EncodeToString(reqSpan.TraceId) != clientTrace || len(chain) < 2 || hex.EncodeToString(chain[len(chain)-1].ParentSpanId) != clientSpan {
			names := []string{}
			for _, c := range chain {
				names = append(names, fmt.Sprintf("%s(%s)", c.Name, c.Kind))
			}
			t.Fatalf("%s: request span in trace %x under %v: want Envoy's server span and its ext_proc span between it and the client's span %s",
				model, reqSpan.TraceId, names, clientSpan)
		}
		if top := chain[len(chain)-1]; top.Kind != tracepb.Span_SPAN_KIND_SERVER || string(top.TraceId) != string(reqSpan.TraceId) {
			t.Errorf("%s: Envoy's top span %q kind %v", model, top.Name, top.Kind)
		}
		if chain[0].Kind != tracepb.Span_SPAN_KIND_CLIENT || !strings.Contains(chain[0].Name, "ext_proc") {
			t.Errorf("%s: the request span's parent is %q (%v), want Envoy's ext_proc client span", model, chain[0].Name, chain[0].Kind)
		}
	}
	// The OTLP access log: one record per request, in the request's trace,
	// naming the client's path, the model group and the call id.
	for _, id := range callIDs {
		var rec *logspb.LogRecord
		for deadline := time.Now().Add(20 * time.Second); rec == nil && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			rec = logs.find(id)
		}
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
			attr("http.response.status_code") != "200" || attr("llm.model_group") != "good" && attr("llm.model_group") != "bad" ||
			!strings.Contains(rec.Body.GetStringValue(), "id="+id) {
			t.Errorf("access log record %v", rec)
		}
	}
	// One per request; the fallback's internal redirect (D11) is a request
	// of its own to Envoy, under the same call id.
	if n := logs.count(); n != len(callIDs)+1 {
		t.Errorf("%d OTLP access log records, want one per request and one for the fallback's redirect (%d)", n, len(callIDs)+1)
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
			t.Errorf("%s got traceparent %q, want one in the client's trace", r.Path, tp)
		}
	}
	if tries != 3 {
		t.Fatalf("the provider got %d tries, want 3 (good; bad, then good)", tries)
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
