package extproc

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3filter "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/guardrails"
	"github.com/llmgate/llmgate/internal/vectorstores"
	"github.com/llmgate/llmgate/translator"
)

// LiteLLM's guardrails in the request filter (docs/architecture.md D139).
// Only a config with a guardrails list has any of this: the module hands
// its every request on (module.go), and the request filter's stream asks
// Envoy for the answer only when a guardrail reads it (xds: the request
// filter's response modes) and only for a request that runs one: any other
// request's stream ends after the request is answered, and Envoy then
// sends it nothing more.

// guardCall is one request's guardrails in the request filter.
type guardCall struct {
	s      *Server
	call   *guardrails.Call
	masked bool // the request's texts changed: the body goes on replaced
	stream bool // stream: true — the answer is checked as it streams (D149)
	chat   bool // a chat completion (the streamed answers checked)
}

// applied is LiteLLM's response header naming the guardrails that ran.
const appliedGuardrailsHeader = "x-litellm-applied-guardrails"

// guardRequest selects the request's guardrails and runs pre_call and
// during_call: a refusal, or the body with its texts masked (nil:
// unchanged).
func (s *Server) guardRequest(stream extprocv3.ExternalProcessor_ProcessServer, st *State, rt route, h map[string]string, id identity, body []byte) (*guardCall, []byte, *translator.Error) {
	if !guardedEndpoint(rt) {
		return nil, nil, nil
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil {
		return nil, nil, nil // the request's own 400 comes from routing
	}
	names, extra, mapping := guardrails.Requested(top)
	if v, ok := st.keys.Guardrails(id.token); ok {
		names, extra, mapping = guardrails.Names(v), nil, nil // a key's (or team's) replace the request's
	}
	var model string
	if json.Unmarshal(top["model"], &model) != nil || model == "" {
		model = rt.pathModel
	}
	names = st.guards.WithModel(names, model) // the model group's own (D157)
	meta := map[string]any{}
	if id.token != "" {
		meta["user_api_key_hash"] = id.token
	}
	call := st.guards.Begin(names, extra, mapping, h["x-request-id"], meta, st.keys.DisableGlobalGuardrails(id.token))
	if call == nil {
		return nil, nil, nil
	}
	gc := &guardCall{s: s, call: call, chat: rt.endpoint == translator.Chat}
	_ = json.Unmarshal(top["stream"], &gc.stream)
	if err := extendTimeout(stream); err != nil {
		return nil, nil, translator.NewError(500, "internal_server_error", err.Error(), "")
	}
	masked, e := call.Request(stream.Context(), body)
	if e != nil {
		return nil, nil, e
	}
	gc.masked = masked != nil
	return gc, masked, nil
}

// guardedEndpoint: the routes whose texts the guardrails read (chat
// completions and Anthropic Messages: the messages' texts).
func guardedEndpoint(rt route) bool {
	switch rt.endpoint {
	case translator.Chat, translator.Messages:
		return true
	}
	return false
}

// extendTimeout raises the stream's message timeout for a guardrail call
// (the guardrail's own bound, and some slack).
func extendTimeout(stream extprocv3.ExternalProcessor_ProcessServer) error {
	return stream.Send(&extprocv3.ProcessingResponse{OverrideMessageTimeout: durationpb.New(guardrails.Timeout + 5*time.Second)})
}

// prepare puts the guardrails' outcome in the request's answer: the
// masked body (when the guardrails changed it and routing did not build a
// body from it) and the names of the guardrails that ran.
func (gc *guardCall) prepare(resp *extprocv3.ProcessingResponse, body []byte) {
	if gc == nil {
		return
	}
	if gc.masked {
		withBody(resp, body)
	}
	if applied := gc.call.Applied(); applied != "" {
		appliedMetadata(resp, applied)
	}
}

// readsAnswer is gc when a guardrail reads the provider's answer to this
// request (a streamed one only when it is a chat completion's), else nil.
func (gc *guardCall) readsAnswer(resp *extprocv3.ProcessingResponse) *guardCall {
	if gc == nil || resp.GetRequestBody() == nil || !gc.call.NeedsAnswer() || (gc.stream && (!gc.chat || gc.call.NewStream() == nil)) {
		return nil
	}
	return gc
}

// streamMode is the request filter's mode for a streamed answer a
// post_call guardrail reads: its body chunk by chunk (the filter's
// allow_mode_override is set in a config whose guardrails read answers).
var streamMode = &extprocv3filter.ProcessingMode{
	RequestHeaderMode:   extprocv3filter.ProcessingMode_SEND,
	RequestBodyMode:     extprocv3filter.ProcessingMode_FULL_DUPLEX_STREAMED,
	RequestTrailerMode:  extprocv3filter.ProcessingMode_SEND,
	ResponseHeaderMode:  extprocv3filter.ProcessingMode_SEND,
	ResponseBodyMode:    extprocv3filter.ProcessingMode_STREAMED,
	ResponseTrailerMode: extprocv3filter.ProcessingMode_SKIP,
}

// checkStream runs the post_call guardrails on a streamed answer as it
// passes (guardrails.Stream): each chunk goes on with what the client gets
// for it; a block ends the client's stream with LiteLLM's error frame.
func (gc *guardCall) checkStream(stream extprocv3.ExternalProcessor_ProcessServer, hr *extprocv3.HeadersResponse) error {
	if err := stream.Send(&extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseHeaders{ResponseHeaders: hr}, ModeOverride: streamMode}); err != nil {
		return err
	}
	check := gc.call.NewStream()
	for {
		msg, err := recv(stream)
		if err != nil {
			return err
		}
		rb := msg.GetResponseBody()
		if rb == nil {
			return nil
		}
		if err := extendTimeout(stream); err != nil {
			return err
		}
		out := check.Feed(stream.Context(), rb.GetBody(), rb.GetEndOfStream())
		mut := &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_Body{Body: out}}
		if len(out) == 0 {
			mut.Mutation = &extprocv3.BodyMutation_ClearBody{ClearBody: true}
		}
		if err := stream.Send(&extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseBody{ResponseBody: &extprocv3.BodyResponse{Response: &extprocv3.CommonResponse{BodyMutation: mut}}}}); err != nil {
			return err
		}
		if rb.GetEndOfStream() {
			return nil
		}
	}
}

// answerHooks are what reads a provider's answer on the request's own
// stream (the request filter's response phases, in a config whose
// guardrails read answers or that has a vector store registry): the
// vector stores' search results added to it (D150), then the post_call
// guardrails (D139) — LiteLLM's deployment hook runs before the proxy's
// post-call hooks, so a guardrail reads the annotated answer.
type answerHooks struct {
	guard *guardCall              // nil: no guardrail reads the answer
	aug   *vectorstores.Augmented // nil: no annotation
}

// wanted says whether the answer is read at all; when not, the request's
// stream ends with its answer and Envoy sends it nothing more.
func (ah answerHooks) wanted() bool { return ah.guard != nil || ah.aug != nil }

// read reads the answer's headers and body and runs the hooks on a
// success: a guardrail's refusal replaces the answer with LiteLLM's
// error, a changed answer goes on with its new body. A streamed answer a
// guardrail reads goes through checkStream.
func (ah answerHooks) read(stream extprocv3.ExternalProcessor_ProcessServer) error {
	gc := ah.guard
	msg, err := recv(stream)
	if err != nil {
		return err
	}
	rh := msg.GetResponseHeaders()
	if rh == nil {
		return nil
	}
	rhs := headerMap(rh.GetHeaders())
	ok := rhs[":status"] == "200" && !rh.GetEndOfStream()
	hr := &extprocv3.HeadersResponse{}
	if ok {
		// The body may change: its length is set with it.
		hr.Response = &extprocv3.CommonResponse{HeaderMutation: &extprocv3.HeaderMutation{RemoveHeaders: []string{"content-length"}}}
		if gc != nil && gc.stream {
			if applied := gc.call.Applied(); applied != "" {
				hr.Response.HeaderMutation.SetHeaders = []*corev3.HeaderValueOption{hdr(appliedGuardrailsHeader, applied)}
			}
		}
	}
	if ok && gc != nil && gc.stream && strings.HasPrefix(rhs["content-type"], "text/event-stream") {
		return gc.checkStream(stream, hr)
	}
	if err := stream.Send(&extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseHeaders{ResponseHeaders: hr}}); err != nil {
		return err
	}
	if rh.GetEndOfStream() {
		return nil
	}
	msg, err = recv(stream)
	if err != nil {
		return err
	}
	rb := msg.GetResponseBody()
	if rb == nil {
		return nil
	}
	cr := &extprocv3.CommonResponse{}
	if !ok {
		return stream.Send(&extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseBody{ResponseBody: &extprocv3.BodyResponse{Response: cr}}})
	}
	body, changed := rb.GetBody(), false
	if out := ah.aug.Annotate(body); out != nil {
		body, changed = out, true
	}
	if gc != nil {
		if err := extendTimeout(stream); err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(stream.Context(), guardrails.Timeout)
		defer cancel()
		out, e := gc.call.Answer(ctx, body)
		if e != nil {
			return stream.Send(errorReply(e, nil))
		}
		if out != nil {
			body, changed = out, true
		}
		if applied := gc.call.Applied(); applied != "" {
			cr.HeaderMutation = &extprocv3.HeaderMutation{SetHeaders: []*corev3.HeaderValueOption{hdr(appliedGuardrailsHeader, applied)}}
		}
	}
	if changed {
		cr.BodyMutation = &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_Body{Body: body}}
	}
	return stream.Send(&extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseBody{ResponseBody: &extprocv3.BodyResponse{Response: cr}}})
}

// appliedMetadata writes the guardrails the request ran into its context
// metadata, which the virtual host's x-litellm-applied-guardrails reads.
func appliedMetadata(resp *extprocv3.ProcessingResponse, applied string) {
	if resp.DynamicMetadata == nil {
		resp.DynamicMetadata = &structpb.Struct{Fields: map[string]*structpb.Value{}}
	}
	ns := resp.DynamicMetadata.Fields[contract.ContextMetadataNamespace].GetStructValue()
	if ns == nil {
		ns = &structpb.Struct{Fields: map[string]*structpb.Value{}}
		resp.DynamicMetadata.Fields[contract.ContextMetadataNamespace] = structpb.NewStructValue(ns)
	}
	if ns.Fields == nil {
		ns.Fields = map[string]*structpb.Value{}
	}
	ns.Fields[contract.AppliedGuardrailsField] = structpb.NewStringValue(applied)
}
