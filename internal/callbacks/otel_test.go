package callbacks

import (
	"testing"

	"github.com/llmgate/llmgate/internal/outcome"
)

// The tries of one request share a trace (from the call id, or the
// client's traceparent); each attempt span is a child of the request span,
// which only the try whose answer was sent emits.
func TestSpansOfARequest(t *testing.T) {
	first := sampleTry("0b1c4e9a-5d6f-4a8b-9c0d-1e2f3a4b5c6d", 500)
	first.Answer, first.ErrorClass = outcome.AnswerRetried, "InternalServerError"
	second := sampleTry(first.CallID, 200)
	second.Attempt, second.Fallback = 1, 1
	a := Spans(&first, otelResource("x"))
	b := Spans(&second, otelResource("x"))
	if len(a) != 1 || len(b) != 3 {
		t.Fatalf("%d and %d spans, want 1 (attempt) and 3 (attempt, server, request)", len(a), len(b))
	}
	srv, req := b[1], b[2]
	if srv.Name() != ServerSpanName || srv.SpanKind().String() != "server" || srv.Parent().IsValid() {
		t.Fatalf("server span %q kind %v parent %v", srv.Name(), srv.SpanKind(), srv.Parent())
	}
	if req.Name() != "litellm_request" || req.Parent().SpanID() != srv.SpanContext().SpanID() {
		t.Fatalf("request span %q parent %v, want the server span", req.Name(), req.Parent())
	}
	if req.SpanContext().TraceID().String() != "0b1c4e9a5d6f4a8b9c0d1e2f3a4b5c6d" {
		t.Fatalf("trace id %s, want the call id", req.SpanContext().TraceID())
	}
	if a[0].Parent().SpanID() != req.SpanContext().SpanID() || b[0].Parent().SpanID() != req.SpanContext().SpanID() {
		t.Fatal("attempt spans are not children of the request span")
	}
	if a[0].SpanContext().SpanID() == b[0].SpanContext().SpanID() {
		t.Fatal("two attempts share a span id")
	}
	if a[0].Status().Code.String() != "Error" || b[0].Status().Code.String() != "Ok" {
		t.Fatalf("statuses %v %v", a[0].Status(), b[0].Status())
	}

	second.Traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	c := Spans(&second, otelResource("x"))
	if c[1].SpanContext().TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" || c[1].Parent().SpanID().String() != "00f067aa0ba902b7" ||
		!c[1].Parent().IsRemote() || c[2].SpanContext().TraceID() != c[1].SpanContext().TraceID() {
		t.Fatalf("with a traceparent: trace %s parent %s", c[1].SpanContext().TraceID(), c[1].Parent().SpanID())
	}
}
