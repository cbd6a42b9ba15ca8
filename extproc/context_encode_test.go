package extproc

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
)

// TestEncodeContextHeaders: the hand-appended response headers decode as
// the protobuf runtime's own encoding (the field number is the proto's).
func TestEncodeContextHeaders(t *testing.T) {
	fd := (&llmgatev1.RequestContext{}).ProtoReflect().Descriptor().Fields().ByName("response_headers")
	if fd == nil || fd.Number() != protoreflect.FieldNumber(responseHeadersField) || !fd.IsMap() {
		t.Fatalf("response_headers is %v", fd)
	}
	for _, h := range []map[string]string{nil, {}, {"x-litellm-max-retries": "2", "": "", "k": strings.Repeat("v", 300)}} {
		in := &llmgatev1.RequestContext{CallId: "c", ModelGroup: "g", Attempts: []*llmgatev1.Attempt{{DeploymentId: "d"}}, ResponseHeaders: h}
		enc, err := encodeContext(in)
		if err != nil {
			t.Fatal(err)
		}
		out, err := decodeContext(enc)
		if err != nil {
			t.Fatal(err)
		}
		if len(h) == 0 {
			out.ResponseHeaders, in.ResponseHeaders = nil, nil
		}
		if !proto.Equal(in, out) {
			t.Errorf("decoded %v, want %v", out, in)
		}
		if len(in.ResponseHeaders) != len(h) {
			t.Error("encodeContext changed its argument")
		}
	}
}

// TestDecodeReportContext (D84): the outcome log's report decodes the
// context without its response headers — every other field as written
// (the request's tags included) —; a context whose response headers are
// followed by another field (not encodeContext's order) is decoded whole.
func TestDecodeReportContext(t *testing.T) {
	in := &llmgatev1.RequestContext{CallId: "c", ModelGroup: "g", KeyHash: strings.Repeat("a", 64), KeyAlias: "al", TeamId: "t",
		Attempts: []*llmgatev1.Attempt{{DeploymentId: "d"}}, Tags: []string{"x"}, LateTags: []string{"y"}, UserAgent: "ua",
		ResponseHeaders: map[string]string{"x-litellm-key-spend": "0.5", "x-litellm-max-retries": "2"}}
	enc, err := encodeContext(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := decodeReportContext(enc)
	if err != nil {
		t.Fatal(err)
	}
	want := proto.Clone(in).(*llmgatev1.RequestContext)
	want.ResponseHeaders = nil
	if !proto.Equal(out, want) || len(out.ResponseHeaders) != 0 {
		t.Errorf("report context %v, want %v", out, want)
	}
	// The runtime's own order: a field after the headers.
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(&llmgatev1.RequestContext{CallId: "c",
		ResponseHeaders: map[string]string{"k": "v"}, BodyPrepared: true, Traceparent: "tp"})
	if err != nil {
		t.Fatal(err)
	}
	if got := withoutResponseHeaders(b); len(got) != len(b) {
		t.Errorf("cut %d of %d bytes with a field after the headers", len(b)-len(got), len(b))
	}
	if got := withoutResponseHeaders([]byte{0xff}); len(got) != 1 {
		t.Errorf("bytes that do not parse changed: %v", got)
	}
}

// BenchmarkDecodeContextReport: a virtual key's context (its x-litellm-key-*
// headers) decoded whole (decodeContext) and for the report (D84).
func BenchmarkDecodeContextReport(b *testing.B) {
	in := &llmgatev1.RequestContext{CallId: "0b1f6a52-5d0e-4c1e-9d55-3d5e3c0e4f11", ModelGroup: "gpt-x", RequestedModel: "gpt-x",
		KeyHash: strings.Repeat("a", 64), KeyAlias: "alias", Attempts: []*llmgatev1.Attempt{{DeploymentId: "d1", ModelGroup: "gpt-x", Model: "gpt-4o"}},
		StartUnixNano: 1, OverheadNanos: 2, UserAgent: "OpenAI/Go 3.96.0",
		ResponseHeaders: map[string]string{"x-litellm-key-spend": "0.0123", "x-litellm-key-max-budget": "10", "x-litellm-max-retries": "2"}}
	enc, err := encodeContext(in)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		fn   func(string) (*llmgatev1.RequestContext, error)
	}{{"whole", decodeContext}, {"report", decodeReportContext}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.fn(enc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
