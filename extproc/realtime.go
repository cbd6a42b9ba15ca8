package extproc

import (
	"context"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/backendauth"
	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/keys"
	"github.com/llmgate/llmgate/internal/realtime"
	"github.com/llmgate/llmgate/router"
	"github.com/llmgate/llmgate/translator"
)

// LiteLLM's Realtime API (D159). Envoy's realtime routes send the request
// filter only the upgrade request's headers (no body, no answer); it
// answers once: a refusal as OpenAI error JSON (no upgrade), or the
// session's deployment — its path, host and key, the client's credentials
// removed, the cluster named in contract.RealtimeHeader and the route
// cache cleared, so that Envoy upgrades the connection to that deployment.
// A virtual key's session is then finished by the observer
// (passthrough_observe.go): the usage of the provider's response.done
// events priced and counted for the key when the session ends.

// rtSession is what the observer needs of a virtual key's session.
type rtSession struct {
	d     *configDeployment
	model string // the deployment's model
	group string
	cost  func(d *config.Deployment, provider, model string, u translator.Usage, dur time.Duration) (float64, bool)
}

// realtimeSession answers a realtime route's upgrade request.
func (s *Server) realtimeSession(stream extprocv3.ExternalProcessor_ProcessServer, st *State, rh *extprocv3.HttpHeaders, h map[string]string, start time.Time) error {
	resp, e := s.realtimePlan(st, rh, h, start)
	if e != nil {
		return stream.Send(errorReply(e, nil))
	}
	if err := stream.Send(resp); err != nil {
		return err
	}
	return s.boundClientMessages(stream, realtime.NewLimiter(realtime.MaxClientMessage))
}

// boundClientMessages reads the client's side of an upgraded session (the
// realtime route streams it to the request filter chunk by chunk, each
// chunk held by Envoy until answered) and passes each chunk on, until a
// client's message is longer than the bound (D164): then the session is
// ended — the chunk that declares it is not passed on, and Envoy resets
// the connections both ways (the response has begun, so the immediate
// response is not sent). LiteLLM's server closes such a session with
// 1009 (message too big).
func (s *Server) boundClientMessages(stream extprocv3.ExternalProcessor_ProcessServer, lim *realtime.Limiter) error {
	for {
		msg, err := recv(stream)
		if err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		rb := msg.GetRequestBody()
		if rb == nil {
			return nil // nothing else is sent on a realtime route
		}
		if lim.Feed(rb.GetBody()) {
			s.log.Warn("realtime session ended: the client sent a message longer than the bound", "max_bytes", realtime.MaxClientMessage)
			return stream.Send(errorReply(translator.NewError(413, "invalid_request_error",
				"realtime: a client message is longer than "+strconv.Itoa(realtime.MaxClientMessage)+" bytes", ""), nil))
		}
		if err := stream.Send(&extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestBody{RequestBody: &extprocv3.BodyResponse{}}}); err != nil {
			return err
		}
	}
}

// realtimePlan checks the session's request and picks its deployment.
func (s *Server) realtimePlan(st *State, rh *extprocv3.HttpHeaders, h map[string]string, start time.Time) (*extprocv3.ProcessingResponse, *translator.Error) {
	if e := headerLimitError(rh.GetHeaders()); e != nil {
		return nil, e
	}
	id, e := st.authenticate(h, true)
	if e != nil {
		return nil, e
	}
	if h[":method"] != "GET" {
		return nil, methodNotAllowed(h[":method"])
	}
	if !strings.EqualFold(h["upgrade"], "websocket") {
		return nil, &translator.Error{Status: 426, Type: "invalid_request_error", Code: "426",
			Message: "The realtime API is a WebSocket: send the request with Upgrade: websocket"}
	}
	q := realtime.ParseQuery(h[":path"])
	group := q.Group()
	if group == "" {
		return nil, translator.NewError(400, "invalid_request_error", "model query parameter is required", "model")
	}
	res, err := st.Router.Resolve(group)
	if err != nil {
		return nil, routerError(err)
	}
	g, e := st.authorizeKey(id, nil, group, res.Group, "", "", nil)
	if e != nil {
		return nil, e
	}
	release := func() {
		if g != nil && g.Parallel {
			(&ptRequest{keys: st.keys, token: g.Token, team: g.TeamID, user: g.UserID, parallel: true}).release()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), planBudget)
	defer cancel()
	p, err := st.Router.Plan(ctx, router.PlanRequest{Resolution: &res})
	if err != nil {
		release()
		return nil, routerError(err)
	}
	var d *configDeployment
	var model string
	for _, a := range p.Attempts {
		md, ok := st.Router.Model().Deployment(a.DeploymentID)
		if ok && realtime.Supported(md.Provider) && !md.Mock() && !md.AnyProvider {
			d, model = md.Config, a.Model
			break
		}
	}
	if d == nil {
		release()
		return nil, translator.NewError(400, "invalid_request_error",
			"realtime: model group "+res.Group+" has no openai or azure deployment available for the realtime API", "model")
	}
	tb, err := st.tryBase(d, false)
	if err != nil {
		release()
		return nil, translator.NewError(500, "internal_server_error", "deployment "+d.ID+": "+err.Error(), "")
	}
	b := tb.base
	// The session's address (D164: one cluster per scheme, addressed per
	// session): the deployment's host resolved here, as the client-side
	// credentials' (D156); a configured host is not checked as a client's.
	ip, e := resolveChecked(b.Host, false)
	if e != nil {
		release()
		return nil, translator.NewError(500, "internal_server_error", "realtime: deployment "+d.ID+": cannot resolve its host "+b.Host, "")
	}
	path, err := realtime.Target(d, b, model, q, realtime.BetaHeader(h["openai-beta"]), os.Getenv("LITELLM_AZURE_REALTIME_PROTOCOL"))
	if err != nil {
		release()
		return nil, translator.NewError(500, "internal_server_error", err.Error(), "")
	}
	p0, query, _ := strings.Cut(path, "?")
	creds, err := injector(d).Headers(backendauth.Request{Method: "GET", Host: b.Authority(), Path: p0, Query: query, Time: time.Now().UTC()})
	if err != nil {
		release()
		return nil, translator.NewError(500, "internal_server_error", "deployment "+d.ID+": "+err.Error(), "")
	}
	set := make([][2]string, 0, 3+len(creds))
	set = append(set, [2]string{":path", path}, [2]string{":authority", b.Authority()},
		[2]string{contract.RealtimeHeader, contract.RealtimeCluster(b.TLS)})
	for k, v := range creds {
		set = append(set, [2]string{k, v})
	}
	var remove []string
	for _, k := range st.Cfg.General.PassThroughCredentialHeaders() {
		if _, ok := creds[k]; !ok {
			remove = append(remove, k)
		}
	}
	// No compression is negotiated: the observer reads the provider's frames.
	remove = append(remove, "sec-websocket-extensions", contract.GroupHeader, contract.FallbackHeader)
	if d.Provider == "azure" {
		remove = append(remove, "openai-beta") // LiteLLM's Azure handshake sends only the key
	}
	slices.Sort(remove)
	remove = slices.Compact(remove)
	if g != nil {
		now := s.now()
		r := &ptRequest{keys: st.keys, token: g.Token, team: g.TeamID, user: g.UserID, provider: d.Provider, model: model,
			path: clientPath(h[":path"]), parallel: g.Parallel, start: start, deadline: now.Add(realtime.MaxDuration + passThroughGrace),
			rt: &rtSession{d: d, model: model, group: res.Group, cost: st.Router.Cost}}
		if id.token == "" {
			r.token = ""
		}
		if !s.pt.add(h["x-request-id"], r, now) {
			s.log.Warn("realtime session not observed (no request id, or too many in flight): its spend is not counted", "model_group", res.Group)
			r.release()
		}
	}
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestHeaders{RequestHeaders: &extprocv3.HeadersResponse{Response: &extprocv3.CommonResponse{
		HeaderMutation:  headerMutation(set, remove),
		ClearRouteCache: true,
	}}}, DynamicMetadata: realtimeDst(net.JoinHostPort(ip.String(), strconv.Itoa(int(b.Port))))}, nil
}

// realtimeDst is the answer's dynamic metadata: the session's address in
// llmgate.ctx, where the realtime cluster reads it (original destination).
func realtimeDst(addr string) *structpb.Struct {
	return &structpb.Struct{Fields: map[string]*structpb.Value{contract.ContextMetadataNamespace: structpb.NewStructValue(
		&structpb.Struct{Fields: map[string]*structpb.Value{contract.ClientSideDstKey: structpb.NewStringValue(addr)}})}}
}

// observedRealtime finishes a virtual key's realtime session: its parallel
// slots released; the usage of the provider's response.done events priced
// at the deployment's rates (the model its session.created named, else the
// deployment's) and recorded for the key, call type _arealtime as
// LiteLLM's, the tokens counted against the key's tpm limit.
func (s *Server) observedRealtime(id string, r *ptRequest, m *realtime.Meter) {
	r.release()
	if m.Usage.Responses == 0 {
		return
	}
	rt := r.rt
	u := translator.Usage{PromptTokens: int(m.Usage.Input), CompletionTokens: int(m.Usage.Output),
		TotalTokens: int(m.Usage.Input + m.Usage.Output), CachedTokens: int(m.Usage.Cached)}
	model := rt.model
	end := s.now()
	e := keys.SpendEvent{RequestID: id, CallType: "_arealtime", KeyToken: r.token, TeamID: r.team, UserID: r.user,
		Model: model, ModelGroup: rt.group, Provider: rt.d.Provider, PromptTokens: m.Usage.Input, CompletionTokens: m.Usage.Output,
		Start: r.start, End: end}
	if c, ok := rt.cost(rt.d, rt.d.Provider, pricedModel(m.Model, model), u, end.Sub(r.start)); ok {
		e.Cost = c
	}
	if n := m.Usage.Input + m.Usage.Output; n > 0 && r.token != "" {
		ctx, cancel := context.WithTimeout(context.Background(), keys.LimitTimeout)
		r.keys.RecordUsage(ctx, r.token, "", n)
		cancel()
	}
	r.keys.Record(e)
}

// pricedModel is the model a session is priced as: the deployment's, as
// LiteLLM tries the deployment's pricing before the session's model; the
// session's when the deployment names none.
func pricedModel(session, deployment string) string {
	if deployment != "" {
		return deployment
	}
	return session
}

// observeRealtime reads a virtual key's session as it passes (the observer
// filter: nothing is answered): the provider's frames after its 101. The
// session is finished when Envoy ends the observer's stream, however the
// connection ended.
func (s *Server) observeRealtime(stream extprocv3.ExternalProcessor_ProcessServer, id string) error {
	m := realtime.NewMeter()
	upgraded := false
	defer func() {
		if r := s.pt.take(id); r != nil {
			if !upgraded {
				m = realtime.NewMeter() // no session: nothing to count
			}
			s.observedRealtime(id, r, m)
		}
	}()
	for {
		msg, err := recv(stream)
		if err != nil {
			return err
		}
		switch {
		case msg.GetResponseHeaders() != nil:
			rh := msg.GetResponseHeaders()
			upgraded = oneHeader(rh.GetHeaders(), ":status") == "101"
			if rh.GetEndOfStream() {
				return nil
			}
		case msg.GetResponseBody() != nil:
			rb := msg.GetResponseBody()
			if upgraded {
				m.Feed(rb.GetBody())
			}
			if rb.GetEndOfStream() || m.Closed() {
				// (Envoy closes an observer's stream only up to
				// deferred_close_timeout after the connection.)
				return nil
			}
		}
	}
}
