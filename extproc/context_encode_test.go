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
