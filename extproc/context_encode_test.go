package extproc

import (
	"bytes"
	"fmt"
	"math/rand/v2"
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

// TestAppendContextIsMarshal (D153): the hand-written encoder writes the
// bytes proto.Marshal writes (response headers aside: encodeContext appends
// them), for contexts with every field set (fillMessage: a field added to
// RequestContext or Attempt and not to appendContext fails here), zero
// values, negative numbers and a nil attempt; a string that is not UTF-8
// fails encodeContext as it failed proto.Marshal.
func TestAppendContextIsMarshal(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	check := func(name string, c *llmgatev1.RequestContext) {
		t.Helper()
		h := c.ResponseHeaders
		c.ResponseHeaders = nil
		want, err := proto.MarshalOptions{Deterministic: true}.Marshal(c)
		c.ResponseHeaders = h
		got, ok := appendContext(nil, c)
		if (err == nil) != ok {
			t.Fatalf("%s: appendContext ok %v, proto.Marshal's error %v", name, ok, err)
		}
		if err == nil && !bytes.Equal(got, want) {
			t.Fatalf("%s: appendContext wrote\n%x\nproto.Marshal\n%x", name, got, want)
		}
		_, eerr := encodeContext(c)
		if (eerr == nil) != (err == nil) {
			t.Fatalf("%s: encodeContext's error %v, proto.Marshal's %v", name, eerr, err)
		}
	}
	for i := 0; i < 500; i++ {
		c := &llmgatev1.RequestContext{}
		fillMessage(c.ProtoReflect(), r, 1+i%4)
		check(fmt.Sprintf("random context %d", i), c)
	}
	check("empty", &llmgatev1.RequestContext{})
	check("negative numbers", &llmgatev1.RequestContext{InputTokens: -1, OverheadNanos: -5, StartUnixNano: -7, FallbackKinds: []int32{-1, 0, 3},
		Endpoint: -2, Attempts: []*llmgatev1.Attempt{{FallbackIndex: -1, Retry: -300}}})
	check("a nil attempt", &llmgatev1.RequestContext{CallId: "c", Attempts: []*llmgatev1.Attempt{nil, {DeploymentId: "d"}}})
	check("an empty attempt", &llmgatev1.RequestContext{Attempts: []*llmgatev1.Attempt{{}}})
	check("a call id not UTF-8", &llmgatev1.RequestContext{CallId: "a\xffb"})
	check("a tag not UTF-8", &llmgatev1.RequestContext{Tags: []string{"ok", "\xfe"}})
	check("an attempt's model not UTF-8", &llmgatev1.RequestContext{Attempts: []*llmgatev1.Attempt{{Model: "m\xfe"}}})
}

// BenchmarkEncodeContext: the typical config's context (three attempts, the
// max-retries header) encoded as the module encodes it per request.
func BenchmarkEncodeContext(b *testing.B) {
	at := func(id string, retry int32) *llmgatev1.Attempt {
		return &llmgatev1.Attempt{DeploymentId: id, ModelGroup: "bench-gpt", Model: "gpt-4o", Retry: retry, Provider: "openai"}
	}
	in := &llmgatev1.RequestContext{CallId: "0b1f6a52-5d0e-4c1e-9d55-3d5e3c0e4f11", ModelGroup: "bench-gpt", RequestedModel: "bench-gpt",
		Endpoint: llmgatev1.Endpoint_ENDPOINT_CHAT, Attempts: []*llmgatev1.Attempt{at("949df21c2650", 0), at("fe80fa66a20d", 1), at("1055f0c3b9f2", 2)},
		StartUnixNano: 1796021694053000000, OverheadNanos: 42000, OriginalPath: "/v1/chat/completions", OriginalAuthority: "127.0.0.1:8080",
		BodyPrepared: true, ResponseHeaders: map[string]string{"x-litellm-max-retries": "2"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := encodeContext(in); err != nil {
			b.Fatal(err)
		}
	}
}
