package extproc

import (
	"context"
	"strconv"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/llmgate/llmgate/router"
)

// attemptError serves the attempt filter of a fast-path try that answered
// 4xx or 5xx (docs/architecture.md D45): the composite matcher starts it at
// the response headers, so there was no request phase. The try is rebuilt
// from the cluster's gRPC initial metadata (deployment, provider), the
// forwarded llmgate.ctx and the try index Envoy sends as an attribute; the
// response is then handled exactly as the full attempt filter handles it:
// retry decision (D3), fallback redirect (D11), error mapping (D17), the
// cooldown report and the outcome publish.
func (s *Server) attemptError(stream extprocv3.ExternalProcessor_ProcessServer, st *State, depID, provider string, msg *extprocv3.ProcessingRequest) error {
	h := map[string]string{}
	if idx, ok := attemptIndex(msg); ok {
		h["x-envoy-attempt-count"] = strconv.Itoa(idx + 1)
	}
	t, e := s.newTry(st, depID, provider, h, contextFromMetadata(msg))
	if e != nil {
		// Nothing to decide with: the provider's answer passes unchanged.
		s.log.Warn("attempt filter (error only)", "deployment", depID, "error", e.Message)
		return stream.Send(&extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseHeaders{ResponseHeaders: &extprocv3.HeadersResponse{}}})
	}
	t.sent = time.Now()
	o := router.Outcome{DeploymentID: t.d.ID, Group: t.a.ModelGroup, Stream: t.rc.Stream, CallID: t.rc.CallId}
	defer func() {
		until, err := st.Router.Report(context.Background(), o)
		if err != nil {
			s.log.Warn("router report", "deployment", t.d.ID, "error", err)
		}
		s.publish(t, o, until)
	}()
	return t.respond(stream, msg, &o)
}
