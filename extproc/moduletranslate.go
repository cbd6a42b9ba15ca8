package extproc

import (
	"strconv"
	"time"

	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
	"github.com/llmgate/llmgate/router"
	"github.com/llmgate/llmgate/translator"
	"github.com/llmgate/llmgate/xds"
)

// Translated tries served by the module (docs/architecture.md D61). In
// module mode the module, every try's upstream filter (D55), translates the
// tries of xds.ModuleTranslated deployments itself when the request filter
// tagged the request fast (moduleTranslatedPlan): the request with the
// attempt filter's requestBody (defaults merged, translated, path, host,
// provider headers and key), a success's answer with its finalBody (a JSON
// body) or its stream translator (an SSE stream). The x-litellm-* headers,
// the model restamp of a stream's chunks and the usage for the outcome are
// the fast path's response side (D54), as for a fast OpenAI try; errors
// (4xx/5xx) pass untouched to the attempt filter, which the composite starts
// from the response headers on (D45). So a successful translated try opens
// no ext_proc stream, and its bytes are the attempt filter's.

// moduleTranslatedPlan: every attempt of a request whose body the request
// filter did not prepare is a deployment whose tries the module translates,
// its streams too for a stream (only in module mode, only the chat endpoint).
func (s *Server) moduleTranslatedPlan(st *State, rc *llmgatev1.RequestContext) bool {
	if !s.ModuleUpstream || rc.BodyPrepared || endpointFromProto(rc.Endpoint) != translator.Chat || len(rc.Attempts) == 0 {
		return false
	}
	for _, a := range rc.Attempts {
		if d := st.compiled(a.DeploymentId); !xds.ModuleTranslated(d) || rc.Stream && !xds.ModuleTranslatedStream(d) {
			return false
		}
	}
	return true
}

// ModuleTry is one try of a translated deployment served in the module's
// upstream filter.
type ModuleTry struct {
	t       *try
	stream  translator.Stream
	created int64
	stamped bool // the stream writes created itself (translator.CreatedSetter)
}

// ModuleTranslates reports whether the module translates the tries of the
// deployment cluster (xds.ModuleTranslated).
func (m *ModuleFilter) ModuleTranslates(cluster string) bool {
	d, ok := m.st.clusterDeployment(cluster)
	return ok && xds.ModuleTranslated(m.st.compiled(d.ID))
}

// NewModuleTry builds the try of a translated deployment's cluster: attempt
// is Envoy's attempt count (1 for the first try), ctx the request's
// llmgate.ctx. ok false: the module leaves the try alone.
func (m *ModuleFilter) NewModuleTry(cluster string, attempt int, ctx string) (*ModuleTry, bool) {
	d, ok := m.st.clusterDeployment(cluster)
	if !ok || !xds.ModuleTranslated(m.st.compiled(d.ID)) {
		return nil, false
	}
	h := map[string]string{"x-envoy-attempt-count": strconv.Itoa(attempt)}
	var t *try
	var e *translator.Error
	if rc := m.s.tryCtx.get(ctx); rc != nil {
		t, e = m.s.newTryOf(m.st, d.ID, d.Provider, h, rc) // the context Serve encoded (D107)
	} else {
		t, e = m.s.newTry(m.st, d.ID, d.Provider, h, ctx)
	}
	if e != nil || t.pass {
		return nil, false
	}
	return &ModuleTry{t: t}, true
}

// Request translates the try's request body: the new body, the headers to
// set (path, host, content-length, provider headers, key, extra headers) and
// to remove (internal ones, other providers' key headers); or a reply (the
// attempt filter's local reply for a body it cannot translate).
func (mt *ModuleTry) Request(body []byte) (out []byte, set [][2]string, remove []string, reply *ModuleReply) {
	t := mt.t
	out, set, remove, e := t.requestPairs(body)
	if e != nil {
		return nil, nil, nil, replyAnswer(errorReply(e, t.clientHeaders())).Reply
	}
	t.sent = time.Now()
	return out, set, remove, nil
}

// Translating the answer: what ResponseHeaders decided.
const (
	ModuleTryPass   = 0 // an error or nothing to translate: passes untouched
	ModuleTryJSON   = 1 // held until whole, then ResponseJSON
	ModuleTryStream = 2 // each chunk through ResponseChunk
)

// ResponseHeaders reads the provider's status: a success is translated
// (mode JSON or Stream, with the header changes of the attempt filter's
// responseHeaders for a stream); an error passes to the attempt filter.
func (mt *ModuleTry) ResponseHeaders(status int, eos bool) (mode int, set [][2]string, remove []string) {
	t := mt.t
	t.status = status
	if status >= 400 || status < 200 || eos {
		return ModuleTryPass, nil, nil
	}
	if !t.rc.Stream {
		return ModuleTryJSON, nil, nil
	}
	st := t.tr.NewStream(t.ep, t.target)
	if u, ok := st.(translator.IncludeUsageSetter); ok {
		// Always the usage chunk: the response side (D54) reads the usage
		// from it and removes it when the client did not ask for it.
		u.SetIncludeUsage(true)
	}
	mt.created = time.Now().Unix()
	if cs, ok := st.(translator.CreatedSetter); ok {
		cs.SetCreated(mt.created) // its chunks need no stampChunks (D107)
		mt.stamped = true
	}
	mt.stream = translator.ModelStream(st, t.responseModel())
	if t.d != nil && t.d.Params.MergeReasoning {
		mt.stream = translator.MergeReasoningStream(mt.stream) // D119
	}
	return ModuleTryStream, [][2]string{{"content-type", "text/event-stream"}, {"cache-control", "no-cache"}}, []string{"content-length", "content-encoding"}
}

// ResponseJSON translates a whole successful answer as the attempt filter's
// finalBody does: the OpenAI body and the headers to set (cost,
// content-length, content-type; content-encoding removed).
func (mt *ModuleTry) ResponseJSON(body []byte, contentEncoding string) (out []byte, set [][2]string, remove []string) {
	t := mt.t
	t.respHdr = map[string]string{"content-encoding": contentEncoding}
	var o router.Outcome
	out, hs, rm := t.finalBody(body, &o)
	for _, h := range hs {
		set = append(set, [2]string{h.GetHeader().GetKey(), string(h.GetHeader().GetRawValue())})
	}
	set = append(set, [2]string{"content-length", strconv.Itoa(len(out))}, [2]string{"content-type", "application/json"})
	return out, set, append(rm, "content-encoding")
}

// ResponseChunk translates a chunk of a successful stream (last: the
// stream's end), as the attempt filter's responseBody does.
func (mt *ModuleTry) ResponseChunk(b []byte, last bool) []byte {
	out, err := mt.stream.Feed(b, last)
	if err != nil && len(out) == 0 {
		out = translator.WriteSSEError(nil, translator.NewError(502, "api_error", "llmgate: "+err.Error(), ""))
	}
	if mt.stamped {
		return out
	}
	return stampChunks(out, mt.created)
}

// StreamError is the status and the class the outcome reports for a
// translated stream with the provider's error inside it (an Anthropic `error`
// event after the 200 headers: the translator's StreamErr), so that the try
// counts as the failure it is — cooldown, metrics, callbacks — as the attempt
// filter counts it: translator.StreamFailureOf, LiteLLM's status and class
// for an error inside a stream (D71, D82); 0 while the stream has no error.
func (mt *ModuleTry) StreamError() (status int, class translator.ErrorClass) {
	if mt.stream == nil {
		return 0, translator.ErrNone
	}
	se, ok := mt.stream.(translator.StreamErr)
	if !ok {
		return 0, translator.ErrNone
	}
	e := se.Err()
	if e == nil {
		return 0, translator.ErrNone
	}
	f := translator.StreamFailureOf(mt.t.target.Provider, e)
	return f.Status, f.Class
}
