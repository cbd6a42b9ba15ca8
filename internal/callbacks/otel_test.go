package callbacks

import (
	"bytes"
	"encoding/hex"
	"testing"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/llmgate/llmgate/internal/outcome"
)

// The tries of one request share a trace (from the call id, or the
// client's traceparent); each attempt span is a child of the request span,
// which only the try whose answer was sent emits, under the server span
// (D58), itself a child of the client's span when it sent one.
func TestSpansOfARequest(t *testing.T) {
	first := sampleTry("0b1c4e9a-5d6f-4a8b-9c0d-1e2f3a4b5c6d", 500)
	first.Answer, first.ErrorClass = outcome.AnswerRetried, "InternalServerError"
	second := sampleTry(first.CallID, 200)
	second.Attempt, second.Fallback = 1, 1
	a := Spans(&first)
	b := Spans(&second)
	if len(a) != 1 || len(b) != 3 {
		t.Fatalf("%d and %d spans, want 1 (attempt) and 3 (attempt, server, request)", len(a), len(b))
	}
	srv, req := b[1], b[2]
	if srv.Name != ServerSpanName || srv.Kind != tracepb.Span_SPAN_KIND_SERVER || len(srv.ParentSpanId) != 0 {
		t.Fatalf("server span %q kind %v parent %x", srv.Name, srv.Kind, srv.ParentSpanId)
	}
	if req.Name != "litellm_request" || !bytes.Equal(req.ParentSpanId, srv.SpanId) {
		t.Fatalf("request span %q parent %x, want the server span", req.Name, req.ParentSpanId)
	}
	if hex.EncodeToString(req.TraceId) != "0b1c4e9a5d6f4a8b9c0d1e2f3a4b5c6d" || !bytes.Equal(srv.TraceId, req.TraceId) {
		t.Fatalf("trace id %x, want the call id", req.TraceId)
	}
	if !bytes.Equal(a[0].ParentSpanId, req.SpanId) || !bytes.Equal(b[0].ParentSpanId, req.SpanId) {
		t.Fatal("attempt spans are not children of the request span")
	}
	if bytes.Equal(a[0].SpanId, b[0].SpanId) {
		t.Fatal("two attempts share a span id")
	}
	if a[0].Status.Code != tracepb.Status_STATUS_CODE_ERROR || b[0].Status.Code != tracepb.Status_STATUS_CODE_OK {
		t.Fatalf("statuses %v %v", a[0].Status, b[0].Status)
	}
	if a[0].Name != "chat gpt-4o" || a[0].Kind != tracepb.Span_SPAN_KIND_CLIENT || a[0].StartTimeUnixNano == 0 || a[0].EndTimeUnixNano <= a[0].StartTimeUnixNano {
		t.Fatalf("attempt span %v", a[0])
	}

	second.Traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	c := Spans(&second)
	if hex.EncodeToString(c[1].TraceId) != "4bf92f3577b34da6a3ce929d0e0e4736" || hex.EncodeToString(c[1].ParentSpanId) != "00f067aa0ba902b7" ||
		c[1].Flags&0x200 == 0 || !bytes.Equal(c[2].TraceId, c[1].TraceId) {
		t.Fatalf("with a traceparent: trace %x parent %x flags %x", c[1].TraceId, c[1].ParentSpanId, c[1].Flags)
	}
}
