package callbacks

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/llmgate/llmgate/internal/outcome"
)

// spanTries are tries that take every branch of the spans' encoding:
// answered, retried, failed and refused tries, with and without a status,
// a cost, a client traceparent (valid, invalid), model and route; negative
// numbers (ten-byte varints); strings whose lengths take two and three
// bytes, a span over 16 KB (its reserved length widened).
func spanTries() []outcome.Try {
	const id = "0b1c4e9a-5d6f-4a8b-9c0d-1e2f3a4b5c6d"
	var out []outcome.Try
	add := func(f func(t *outcome.Try)) {
		t := sampleTry(id, 200)
		t.Route = "/v1/chat/completions"
		f(&t)
		out = append(out, t)
	}
	add(func(t *outcome.Try) {})
	add(func(t *outcome.Try) {
		t.Status, t.Answer, t.ErrorClass = 500, outcome.AnswerRetried, "InternalServerError"
	})
	add(func(t *outcome.Try) {
		t.Status, t.ErrorClass, t.Attempt, t.Retry, t.Fallback = 429, "RateLimitError", 3, 2, 1
	})
	add(func(t *outcome.Try) { t.Refused, t.Status, t.ErrorClass = true, 400, "BadRequestError" })
	add(func(t *outcome.Try) { t.Status, t.CostKnown, t.Model, t.Route, t.CallID = 0, false, "", "", "call-x" })
	add(func(t *outcome.Try) { t.Traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" })
	add(func(t *outcome.Try) { t.Traceparent = "00-zzzz2f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" })
	add(func(t *outcome.Try) {
		t.PromptTokens, t.CompletionTokens, t.Cost, t.Endpoint = -1, 1<<40, -0.5, "completions"
	})
	add(func(t *outcome.Try) { t.Endpoint, t.Latency = "embeddings", 0 })
	add(func(t *outcome.Try) { t.Model, t.Route = strings.Repeat("m", 200), strings.Repeat("/r", 100) })
	add(func(t *outcome.Try) {
		t.Model, t.ErrorClass, t.Status = strings.Repeat("m", 20000), strings.Repeat("E", 300), 503
	})
	add(func(t *outcome.Try) { t.Start, t.End = time.Time{}, time.Time{} })
	return out
}

// TestSpanEncodingUnchanged: the spans' encoder of D85 exports what the
// encoder before it exported — the same bytes for every batch (one try,
// all of them, a batch over 2 MB), and, received by an in-process OTLP
// receiver over OTLP/HTTP and OTLP/gRPC through the otel callback, the same
// spans field by field.
func TestSpanEncodingUnchanged(t *testing.T) {
	res, err := proto.Marshal(serviceResource("svc"))
	if err != nil {
		t.Fatal(err)
	}
	tries := spanTries()
	big := make([]outcome.Try, 30) // ≈ 2.5 MB: the batch's length takes four bytes
	for i := range big {
		big[i] = tries[10]
	}
	batches := [][]outcome.Try{tries[:1], tries[3:4], tries, big}
	for i := range tries {
		batches = append(batches, tries[i:i+1])
	}
	for i, batch := range batches {
		got, want := exportTraces(res, batch), exportTracesBefore(nil, res, batch)
		if !bytes.Equal(got, want) {
			var g, w collectortrace.ExportTraceServiceRequest
			errG, errW := proto.Unmarshal(got, &g), proto.Unmarshal(want, &w)
			t.Errorf("batch %d (%d tries): %d bytes, want %d (decode %v, %v; equal as messages %v)", i, len(batch), len(got), len(want), errG, errW, proto.Equal(&g, &w))
		}
	}

	var want collectortrace.ExportTraceServiceRequest
	if err := proto.Unmarshal(exportTracesBefore(nil, res, tries), &want); err != nil {
		t.Fatal(err)
	}
	wantSpans := want.ResourceSpans[0].ScopeSpans[0].Spans
	for _, protocol := range []string{"http/protobuf", "grpc"} {
		rcv, endpoint := spanReceiver(t, protocol)
		m := New(nil)
		m.Configure(Settings{FlushInterval: time.Hour, BatchSize: 1000, OTel: &OTelSettings{Protocol: protocol, Endpoint: endpoint, ServiceName: "svc"}})
		sink := m.Sink()
		for _, tr := range tries {
			sink(tr)
		}
		m.Close()
		reqs := rcv.requests()
		if len(reqs) != 1 {
			t.Fatalf("%s: %d export requests, want 1", protocol, len(reqs))
		}
		rs := reqs[0].ResourceSpans
		if len(rs) != 1 || !proto.Equal(rs[0].Resource, want.ResourceSpans[0].Resource) || len(rs[0].ScopeSpans) != 1 ||
			!proto.Equal(rs[0].ScopeSpans[0].Scope, want.ResourceSpans[0].ScopeSpans[0].Scope) {
			t.Fatalf("%s: resource and scope %v", protocol, reqs[0])
		}
		got := rs[0].ScopeSpans[0].Spans
		if len(got) != len(wantSpans) {
			t.Fatalf("%s: %d spans, want %d", protocol, len(got), len(wantSpans))
		}
		for i := range got {
			compareSpan(t, protocol, i, got[i], wantSpans[i])
		}
	}
}

// compareSpan compares two spans field by field.
func compareSpan(t *testing.T, protocol string, i int, got, want *tracepb.Span) {
	t.Helper()
	if !bytes.Equal(got.TraceId, want.TraceId) || !bytes.Equal(got.SpanId, want.SpanId) || !bytes.Equal(got.ParentSpanId, want.ParentSpanId) ||
		got.Flags != want.Flags || got.TraceState != want.TraceState {
		t.Errorf("%s span %d: ids %x/%x/%x flags %x, want %x/%x/%x %x", protocol, i, got.TraceId, got.SpanId, got.ParentSpanId, got.Flags,
			want.TraceId, want.SpanId, want.ParentSpanId, want.Flags)
	}
	if got.Name != want.Name || got.Kind != want.Kind || got.StartTimeUnixNano != want.StartTimeUnixNano || got.EndTimeUnixNano != want.EndTimeUnixNano {
		t.Errorf("%s span %d: %.40q %v %d-%d, want %.40q %v %d-%d", protocol, i, got.Name, got.Kind, got.StartTimeUnixNano, got.EndTimeUnixNano,
			want.Name, want.Kind, want.StartTimeUnixNano, want.EndTimeUnixNano)
	}
	if !proto.Equal(got.Status, want.Status) {
		t.Errorf("%s span %d: status %v, want %v", protocol, i, got.Status, want.Status)
	}
	if len(got.Attributes) != len(want.Attributes) {
		t.Errorf("%s span %d: %d attributes, want %d", protocol, i, len(got.Attributes), len(want.Attributes))
		return
	}
	for j, a := range got.Attributes {
		if a.Key != want.Attributes[j].Key || !proto.Equal(a.Value, want.Attributes[j].Value) {
			t.Errorf("%s span %d attribute %d: %s=%.60v, want %s=%.60v", protocol, i, j, a.Key, a.Value, want.Attributes[j].Key, want.Attributes[j].Value)
		}
	}
	if !proto.Equal(got, want) { // any field not listed above
		t.Errorf("%s span %d differs", protocol, i)
	}
}

// traceRecorder is an in-process OTLP trace receiver (OTLP/HTTP protobuf
// and OTLP/gRPC).
type traceRecorder struct {
	collectortrace.UnimplementedTraceServiceServer
	mu   sync.Mutex
	reqs []*collectortrace.ExportTraceServiceRequest
}

func (r *traceRecorder) Export(_ context.Context, req *collectortrace.ExportTraceServiceRequest) (*collectortrace.ExportTraceServiceResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = append(r.reqs, req)
	return &collectortrace.ExportTraceServiceResponse{}, nil
}

func (r *traceRecorder) requests() []*collectortrace.ExportTraceServiceRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*collectortrace.ExportTraceServiceRequest(nil), r.reqs...)
}

// spanReceiver starts a traceRecorder for the protocol and returns the
// otel callback's endpoint for it.
func spanReceiver(t *testing.T, protocol string) (*traceRecorder, string) {
	rcv := &traceRecorder{}
	if protocol == "grpc" {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		gs := grpc.NewServer(grpc.MaxRecvMsgSize(64 << 20))
		collectortrace.RegisterTraceServiceServer(gs, rcv)
		go func() { _ = gs.Serve(lis) }()
		t.Cleanup(gs.Stop)
		return rcv, "http://" + lis.Addr().String()
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		req := &collectortrace.ExportTraceServiceRequest{}
		if r.URL.Path != "/v1/traces" || proto.Unmarshal(b, req) != nil {
			w.WriteHeader(400)
			return
		}
		_, _ = rcv.Export(r.Context(), req)
	}))
	t.Cleanup(srv.Close)
	return rcv, srv.URL + "/v1/traces"
}
