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

	collectorlogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// otlpReceiver is an in-process OTLP/gRPC trace collector.
type otlpReceiver struct {
	collectortrace.UnimplementedTraceServiceServer
	mu    sync.Mutex
	spans []*tracepb.Span
	svc   []string
}

func (r *otlpReceiver) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rs := range req.ResourceSpans {
		for _, a := range rs.GetResource().GetAttributes() {
			if a.Key == "service.name" {
				r.svc = append(r.svc, a.GetValue().GetStringValue())
			}
		}
		for _, ss := range rs.ScopeSpans {
			r.spans = append(r.spans, ss.Spans...)
		}
	}
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

func (r *otlpReceiver) snapshot() []*tracepb.Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*tracepb.Span(nil), r.spans...)
}

func spanAttr(s *tracepb.Span, key string) *commonpb.AnyValue {
	for _, a := range s.Attributes {
		if a.Key == key {
			return a.Value
		}
	}
	return nil
}

// TestOTelTracesPerRequest: with callbacks: ["otel"] and the standard
// OTEL_* variables, an in-process OTLP/gRPC receiver gets one trace per
// request: a request span (child of the client's traceparent when sent) and
// an attempt span per try under it — a fallback shows as two attempts —
// with the GenAI semantic-convention attributes; above the request span
// the gateway's server span (D58). With the request filter in ext_proc and
// in the module (which serves these requests itself, D58).
func TestOTelTracesPerRequest(t *testing.T) {
	for _, mode := range []string{"extproc", "module"} {
		t.Run(mode, func(t *testing.T) {
			t.Setenv("LLMGATE_REQUEST_FILTER", mode)
			otelTracesPerRequest(t)
		})
	}
}

func otelTracesPerRequest(t *testing.T) {
	fake := badFailsFake(t)
	col := startOTLPCollector(t)
	rcv := col.traces

	cfg := fmt.Sprintf(`
model_list:
  - model_name: good
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/good/v1, api_key: k}
    model_info: {id: good-deployment}
  - model_name: bad
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/bad/v1, api_key: k}
    model_info: {id: bad-deployment}
router_settings:
  num_retries: 0
  fallbacks: [{"bad": ["good"]}]
litellm_settings:
  callbacks: ["otel"]
general_settings:
  master_key: %[2]s
`, fake.URL(), master)
	g := startGateway(t, cfg, "OTEL_EXPORTER_OTLP_PROTOCOL=grpc", "OTEL_EXPORTER_OTLP_ENDPOINT=http://"+col.addr,
		"OTEL_SERVICE_NAME=llmgate-e2e", "DEFAULT_FLUSH_INTERVAL_SECONDS=0.2")

	const clientTrace, clientSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	post := func(model, traceparent string) string {
		req, _ := http.NewRequest("POST", g.URL+"/v1/chat/completions", strings.NewReader(chatBody(model, "trace me")))
		req.Header.Set("authorization", "Bearer "+master)
		req.Header.Set("content-type", "application/json")
		if traceparent != "" {
			req.Header.Set("traceparent", traceparent)
		}
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
	call1 := post("good", "00-"+clientTrace+"-"+clientSpan+"-01")
	call2 := post("bad", "") // 500 on bad, then the fallback to good

	byCall := func(spans []*tracepb.Span) map[string][]*tracepb.Span {
		out := map[string][]*tracepb.Span{}
		for _, s := range spans {
			if v := spanAttr(s, "litellm.call_id"); v != nil {
				out[v.GetStringValue()] = append(out[v.GetStringValue()], s)
			}
		}
		return out
	}
	var calls map[string][]*tracepb.Span
	waitUntil(t, nil, "the collector's spans", func() ([]string, []string, bool) {
		calls = byCall(rcv.snapshot())
		return nil, nil, len(calls[call1]) >= 3 && len(calls[call2]) >= 4
	})
	if len(calls[call1]) < 3 || len(calls[call2]) < 4 {
		t.Fatalf("spans received: call1 %d, call2 %d, want 3 and 4", len(calls[call1]), len(calls[call2]))
	}
	// split returns the request span and the attempt spans of a call, all
	// in one trace, each attempt a child of the request span.
	split := func(call string, spans []*tracepb.Span) (*tracepb.Span, []*tracepb.Span) {
		var req *tracepb.Span
		var attempts []*tracepb.Span
		for _, s := range spans {
			switch s.Name {
			case "Received Proxy Server Request":
			case "litellm_request":
				if req != nil {
					t.Fatalf("call %s: two request spans", call)
				}
				req = s
			default:
				attempts = append(attempts, s)
			}
		}
		if req == nil {
			t.Fatalf("call %s: no request span", call)
		}
		for _, a := range attempts {
			if string(a.TraceId) != string(req.TraceId) || string(a.ParentSpanId) != string(req.SpanId) {
				t.Errorf("call %s: attempt span %q not under the request span", call, a.Name)
			}
			if a.Kind != tracepb.Span_SPAN_KIND_CLIENT || spanAttr(a, "gen_ai.operation.name").GetStringValue() != "chat" ||
				spanAttr(a, "gen_ai.provider.name").GetStringValue() != "openai" || spanAttr(a, "gen_ai.system").GetStringValue() != "openai" {
				t.Errorf("call %s: attempt span %q attributes %v", call, a.Name, a.Attributes)
			}
		}
		return req, attempts
	}

	req1, att1 := split(call1, calls[call1])
	// The client's trace: the request span hangs under the gateway's server
	// span, a child of the client's.
	if chain := waitChain(t, rcv, req1, clientSpan); hex.EncodeToString(req1.TraceId) != clientTrace || len(chain) != 1 ||
		chain[0].Kind != tracepb.Span_SPAN_KIND_SERVER || hex.EncodeToString(chain[0].ParentSpanId) != clientSpan {
		t.Errorf("request span trace %x, spans above it %d: want the client's trace %s, the server span under its span %s", req1.TraceId, len(chain), clientTrace, clientSpan)
	}
	if len(att1) != 1 || att1[0].Name != "chat gpt-4o" || spanAttr(att1[0], "gen_ai.request.model").GetStringValue() != "gpt-4o" ||
		spanAttr(att1[0], "gen_ai.response.model").GetStringValue() != "gpt-4o" ||
		spanAttr(att1[0], "gen_ai.usage.input_tokens").GetIntValue() <= 0 || spanAttr(att1[0], "gen_ai.usage.output_tokens").GetIntValue() <= 0 {
		t.Errorf("call 1 attempts %v", att1)
	}

	req2, att2 := split(call2, calls[call2])
	if chain := waitChain(t, rcv, req2, ""); len(chain) != 1 || len(chain[0].ParentSpanId) != 0 || string(req2.TraceId) == string(req1.TraceId) {
		t.Errorf("call 2: request span trace %x, spans above it %d: want a trace of its own rooted at the server span", req2.TraceId, len(chain))
	}
	if len(att2) != 2 {
		t.Fatalf("call 2: %d attempt spans, want 2 (the 500 and the fallback)", len(att2))
	}
	models := map[string]tracepb.Status_StatusCode{}
	for _, a := range att2 {
		models[spanAttr(a, "gen_ai.request.model").GetStringValue()] = a.Status.GetCode()
	}
	if models["gpt-4o-mini"] != tracepb.Status_STATUS_CODE_ERROR || models["gpt-4o"] != tracepb.Status_STATUS_CODE_OK {
		t.Errorf("call 2 attempts: %v, want gpt-4o-mini failed and gpt-4o ok", models)
	}
	rcv.mu.Lock()
	svc := rcv.svc
	rcv.mu.Unlock()
	if len(svc) == 0 || svc[0] != "llmgate-e2e" {
		t.Errorf("service.name %v, want OTEL_SERVICE_NAME", svc)
	}
}

// spanChain returns the spans above s (its parent, the parent's parent, …)
// among the received ones, nearest first; a parent outside the collector
// (the client's) ends it.
func spanChain(t *testing.T, spans []*tracepb.Span, s *tracepb.Span) []*tracepb.Span {
	t.Helper()
	byID := map[string]*tracepb.Span{}
	for _, x := range spans {
		if string(x.TraceId) == string(s.TraceId) {
			byID[string(x.SpanId)] = x
		}
	}
	var chain []*tracepb.Span
	for cur := s; len(cur.ParentSpanId) != 0; {
		p := byID[string(cur.ParentSpanId)]
		if p == nil {
			break
		}
		if strings.HasPrefix(p.Name, "litellm") {
			t.Errorf("span %q above the request span", p.Name)
		}
		chain = append(chain, p)
		cur = p
		if len(chain) > 10 {
			t.Fatal("a cycle of parents")
		}
	}
	return chain
}

// waitChain waits until the spans above s end at the span whose parent is
// rootParent (hex; "" for a root span), and returns them.
func waitChain(t *testing.T, rcv *otlpReceiver, s *tracepb.Span, rootParent string) []*tracepb.Span {
	t.Helper()
	return waitUntil(t, nil, "the span chain", func() ([]*tracepb.Span, []string, bool) {
		chain := spanChain(t, rcv.snapshot(), s)
		return chain, nil, len(chain) > 0 && hex.EncodeToString(chain[len(chain)-1].ParentSpanId) == rootParent
	})
}

// otlpCollector is an OTLP/gRPC collector on a free local port that keeps
// the traces and logs it receives (stopped with the test).
type otlpCollector struct {
	addr   string
	traces *otlpReceiver
	logs   *otlpLogs
}

func startOTLPCollector(t *testing.T) *otlpCollector {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &otlpCollector{addr: l.Addr().String(), traces: &otlpReceiver{}, logs: &otlpLogs{}}
	gs := grpc.NewServer()
	collectortrace.RegisterTraceServiceServer(gs, c.traces)
	collectorlogs.RegisterLogsServiceServer(gs, c.logs)
	go func() { _ = gs.Serve(l) }()
	t.Cleanup(gs.Stop)
	return c
}

// badFailsFake is a fake provider whose /bad/ deployment answers 500.
func badFailsFake(t *testing.T) *fakeprovider.Server {
	t.Helper()
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/bad/"}, Fault: fakeprovider.Fault{Status: 500}}); err != nil {
		t.Fatal(err)
	}
	return fake
}
