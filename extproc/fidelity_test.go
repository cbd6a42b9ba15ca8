package extproc

import (
	"testing"

	extprocv3filter "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"

	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
)

// TestRestampMode: an OpenAI-compatible success is buffered to restamp its
// model name, unless it is too large (then it passes unread) or the request
// fell back (LiteLLM keeps the answering model); streams are always streamed.
func TestRestampMode(t *testing.T) {
	for _, tc := range []struct {
		name     string
		stream   bool
		fallback int32
		length   string
		want     extprocv3filter.ProcessingMode_BodySendMode
	}{
		{"small answer", false, 0, "1300", extprocv3filter.ProcessingMode_BUFFERED},
		{"no content-length", false, 0, "", extprocv3filter.ProcessingMode_BUFFERED},
		{"huge answer", false, 0, "50000000", extprocv3filter.ProcessingMode_NONE},
		{"after a fallback", false, 1, "1300", extprocv3filter.ProcessingMode_NONE},
		{"stream", true, 0, "", extprocv3filter.ProcessingMode_STREAMED},
		{"stream after a fallback", true, 1, "", extprocv3filter.ProcessingMode_STREAMED},
	} {
		tr := &try{
			rc:   &llmgatev1.RequestContext{RequestedModel: "smart", Stream: tc.stream},
			a:    &llmgatev1.Attempt{ModelGroup: "smart", FallbackIndex: tc.fallback},
			d:    &configDeployment{ID: "d1"},
			pass: true,
		}
		h := map[string]string{":status": "200"}
		if tc.length != "" {
			h["content-length"] = tc.length
		}
		if got, _ := tr.responseHeaders(h, false); got != tc.want {
			t.Errorf("%s: mode %v, want %v", tc.name, got, tc.want)
		}
	}
}
