package extproc

import (
	"context"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/translator"
)

// passThrough lets a request to a pass_through_endpoints entry with auth:
// true go on once its key is accepted (D113) and the caller's checks pass
// (D128: budgets, blocked, expiry, limits): Envoy's route sends it to the
// target. The body goes back unchanged; without forward_headers the
// client's credential headers are removed (a route's own removal would run
// before this filter has read the key). The key was identified by the
// caller.
func (s *Server) passThrough(stream extprocv3.ExternalProcessor_ProcessServer, st *State, first *extprocv3.ProcessingRequest, h map[string]string, ep *config.PassThroughEndpoint, id identity) error {
	cr := &extprocv3.CommonResponse{}
	if !ep.ForwardHeaders {
		cr.HeaderMutation = &extprocv3.HeaderMutation{RemoveHeaders: st.Cfg.General.PassThroughCredentialHeaders()}
	}
	if first.GetRequestHeaders().GetEndOfStream() {
		if e := s.passThroughCheck(st, ep, h, id, nil); e != nil {
			return stream.Send(errorReply(e, nil))
		}
		if e := withCloudHeaders(stream.Context(), cr, ep, h, nil); e != nil {
			return stream.Send(errorReply(e, nil))
		}
		return stream.Send(&extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestHeaders{RequestHeaders: &extprocv3.HeadersResponse{Response: cr}}})
	}
	if reply := declaredTooLarge(h, st.maxBody); reply != nil {
		return stream.Send(reply)
	}
	in, reply, err := readBody(stream, st.maxBody, duplexMode(first))
	if err != nil {
		return err
	}
	if reply != nil {
		return stream.Send(reply)
	}
	if in.trailers {
		return stream.Send(trailersRefused())
	}
	if e := s.passThroughCheck(st, ep, h, id, in.body); e != nil {
		return stream.Send(errorReply(e, nil))
	}
	if e := withCloudHeaders(stream.Context(), cr, ep, h, in.body); e != nil {
		return stream.Send(errorReply(e, nil))
	}
	return in.answer(stream, &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestBody{RequestBody: &extprocv3.BodyResponse{Response: cr}}})
}

// withCloudHeaders adds the provider credential of a cloud pass-through
// route (/vertex_ai, /bedrock: cloudpass.go, D169) to the answer's header
// mutation.
func withCloudHeaders(ctx context.Context, cr *extprocv3.CommonResponse, ep *config.PassThroughEndpoint, h map[string]string, body []byte) *translator.Error {
	if ep.Vertex == nil && ep.AWS == nil {
		return nil
	}
	set, remove, e := cloudHeaders(ctx, ep, h, body)
	if e != nil {
		return e
	}
	if cr.HeaderMutation == nil {
		cr.HeaderMutation = &extprocv3.HeaderMutation{}
	}
	cr.HeaderMutation.SetHeaders = append(cr.HeaderMutation.SetHeaders, headerValues(set)...)
	cr.HeaderMutation.RemoveHeaders = append(cr.HeaderMutation.RemoveHeaders, remove...)
	return nil
}
