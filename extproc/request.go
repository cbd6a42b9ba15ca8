package extproc

import (
	"context"
	"encoding/json"
	"maps"
	"reflect"
	"strconv"
	"strings"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/filesapi"
	"github.com/llmgate/llmgate/internal/keys"
	"github.com/llmgate/llmgate/internal/model"
	"github.com/llmgate/llmgate/internal/realtime"
	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
	"github.com/llmgate/llmgate/router"
	"github.com/llmgate/llmgate/translator"
	"github.com/llmgate/llmgate/ui"
)

// requestFields are the parts of an OpenAI request body the request filter
// reads; the body itself goes on unchanged.
type requestFields struct {
	Model         string `json:"model"`
	Stream        bool   `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
	Fallbacks  []string `json:"fallbacks"`
	NumRetries *int     `json:"num_retries"`
	Timeout    *float64 `json:"timeout"`
	User       string   `json:"user"`
	// Tags and Metadata are the body's tags and metadata as sent (read for
	// the spend log's request_tags, tags.go).
	Tags     json.RawMessage `json:"tags"`
	Metadata json.RawMessage `json:"metadata"`
	// clientSide: a top-level key sends the body through checkClientSide
	// (a banned param, api_key, or a container LiteLLM looks into; D156).
	clientSide bool
}

// request serves the request filter's stream: the headers, answered at once
// only to refuse them, then the streamed body, then one answer (pipeline.go).
func (s *Server) request(stream extprocv3.ExternalProcessor_ProcessServer, st *State) error {
	start := s.now()
	msg, err := recv(stream)
	if err != nil {
		return err
	}
	rh := msg.GetRequestHeaders()
	if rh == nil {
		return stream.Send(&extprocv3.ProcessingResponse{})
	}
	h := headerMap(rh.GetHeaders())
	rt := classify(h[":method"], h[":path"])
	if rt.endpoint == translator.BedrockPassThrough && bedrockDirect(st, rt.pathModel, h[":path"]) {
		rt = route{} // a model no group serves: straight to Bedrock (cloudpass.go, D169)
	}
	if rt.kind == routeHealth && s.SelfURL != "" {
		// Calling every model takes longer than message_timeout: extend it first.
		if err := stream.Send(&extprocv3.ProcessingResponse{OverrideMessageTimeout: durationpb.New(healthTimeout + 5*time.Second)}); err != nil {
			return err
		}
	}
	if rt.kind == routeUnknown && realtime.IsRoute(h[":path"]) {
		return s.realtimeSession(stream, st, rh, h, start) // realtime.go (D159)
	}
	if rt.kind == routeUnknown && ui.Match(h[":path"]) {
		return stream.Send(uiReply(h)) // the admin UI (ui.go, D152)
	}
	if reply := s.management(st, rt, h); reply != nil {
		return stream.Send(reply)
	}
	if keys.IsRoute(h[":path"]) {
		return s.keyManagement(stream, st, h, rh.GetEndOfStream())
	}
	if rt.kind == routeCountTokens {
		return s.countTokens(stream, st, h, rh.GetEndOfStream()) // messages.go (D129)
	}
	if rt.kind == routeTokenCounter {
		return s.tokenCounter(stream, st, h, rh.GetEndOfStream()) // tokencounter.go (D160)
	}
	if names, ok := st.isMCPRoute(h[":path"]); ok && rt.kind != routeLLM {
		return s.mcpRoute(stream, st, h, names, rh.GetEndOfStream()) // mcp.go (D140)
	}
	if vsID, ok := vectorStoreSearchID(h[":path"]); ok && rt.kind != routeLLM {
		return s.vectorStoreSearch(stream, st, h, vsID, rh.GetEndOfStream()) // vectorstores.go (D150)
	}
	if isGuardrailsList(h[":path"]) && rt.kind != routeLLM {
		return stream.Send(s.guardrailsList(st, h)) // guardrails_list.go (D157)
	}
	if tool, list, ok := searchRoute(h[":path"]); ok && rt.kind != routeLLM && len(st.Cfg.SearchTools) > 0 {
		return s.searchAPI(stream, st, h, tool, list, rh.GetEndOfStream()) // search.go (D150)
	}
	if isCacheRoute(h[":path"]) {
		return s.cacheRoute(stream, st, h, rh.GetEndOfStream()) // respcache_routes.go (D111)
	}
	if op, ok := filesapi.Parse(h[":method"], h[":path"]); ok && rt.kind != routeLLM &&
		(op.PathProvider == "" || st.Cfg.General.PassThroughAuth(h[":path"]) == nil) {
		return s.filesRoute(stream, st, msg, h, op) // files.go (D147)
	}
	if rt.kind != routeLLM {
		if ep := st.Cfg.General.PassThroughAuth(h[":path"]); ep != nil {
			if e := headerLimitError(rh.GetHeaders()); e != nil {
				return stream.Send(errorReply(e, nil))
			}
			id, e := st.authenticate(h, true)
			if e != nil {
				return stream.Send(errorReply(e, nil))
			}
			return s.passThrough(stream, st, msg, h, ep, id)
		}
		return stream.Send(errorReply(&translator.Error{Status: 404, Type: "not_found_error", Message: "Route not found: " + h[":path"]}, nil))
	}
	if h[":method"] != "POST" && !responsesByIDMethod(rt, h[":method"]) {
		return stream.Send(errorReply(methodNotAllowed(h[":method"]), map[string]string{"allow": "POST"}))
	}
	ticket := s.acceptTicket(st, h, rt)
	var id identity
	if ticket == nil {
		// A replay (internal redirect) carries the first pass's headers too.
		if e := headerLimitError(rh.GetHeaders()); e != nil {
			s.refused(h, rt, id, nil, e, start)
			return stream.Send(errorReply(e, nil))
		}
		var e *translator.Error
		if id, e = st.authenticate(h, true); e != nil {
			s.refused(h, rt, id, nil, e, start)
			return stream.Send(errorReply(e, nil))
		}
	} else if ticket.Key != "" {
		// A replay keeps the first pass's key (its checks already ran).
		id = identity{token: ticket.Key}
	}
	if rh.GetEndOfStream() {
		if rt.responseID != "" {
			// A Responses by-id route has no body (responses.go, D137).
			resp, e := s.routeRequest(st, rt, h, nil, start, ticket, id)
			if e != nil {
				s.refused(h, rt, id, nil, e, start)
				return stream.Send(errorReply(e, map[string]string{"x-litellm-call-id": h["x-request-id"]}))
			}
			return (&pipelined{}).answer(stream, resp)
		}
		return stream.Send(errorReply(translator.NewError(400, "invalid_request_error", "request body is required", ""), nil))
	}
	if reply := declaredTooLarge(h, st.maxBody); reply != nil {
		s.refusedTooLarge(h, rt, id, start)
		return stream.Send(reply)
	}
	in, reply, err := readBody(stream, st.maxBody, duplexMode(msg))
	if err != nil {
		return err
	}
	if reply != nil {
		s.refusedTooLarge(h, rt, id, start)
		return stream.Send(reply)
	}
	if in.trailers {
		return stream.Send(trailersRefused())
	}
	body := in.body
	if st.mockTimeoutPossible(body) {
		// LiteLLM's mock_timeout: planning waits out the timeout; extend the message timeout first.
		if err := stream.Send(&extprocv3.ProcessingResponse{OverrideMessageTimeout: durationpb.New(maxMockTimeout + 5*time.Second)}); err != nil {
			return err
		}
	}
	var gc *guardCall
	if st.guards != nil && ticket == nil {
		// LiteLLM's guardrails (guardrails.go, D139): only a config with one.
		var masked []byte
		var e *translator.Error
		if gc, masked, e = s.guardRequest(stream, st, rt, h, id, body); e != nil {
			s.refused(h, rt, id, body, e, start)
			return stream.Send(errorReply(e, map[string]string{"x-litellm-call-id": h["x-request-id"]}))
		}
		if masked != nil {
			body = masked
		}
	}
	// LiteLLM's vector store hook (vectorstores.go, D150): only a chat body
	// naming a registered store (a replay whose body was changed names none).
	out, aug, err := s.augmentChat(stream, st, rt, body)
	if err != nil {
		return err
	}
	augmented := out != nil
	if augmented {
		body = out
	}
	resp, e := s.routeRequest(st, rt, h, body, start, ticket, id)
	if e != nil {
		s.refused(h, rt, id, body, e, start) // LiteLLM's post-call failure hook
		return stream.Send(errorReply(e, map[string]string{"x-litellm-call-id": h["x-request-id"]}))
	}
	if augmented {
		withBody(resp, body)
	}
	gc.prepare(resp, body)
	// The answer read on this stream: LiteLLM adds the search results to
	// it (vectorstores.go) and its post_call guardrails read it
	// (guardrails.go).
	hooks := answerHooks{guard: gc.readsAnswer(resp), aug: annotating(aug, resp)}
	if err := in.answer(stream, resp); err != nil || !hooks.wanted() {
		return err
	}
	return hooks.read(stream)
}

// forcedModel is general_settings' completion_model or embedding_model for
// an endpoint: it wins over the body's model and an Azure-style path's, as
// in LiteLLM's proxy ("": the request's own). An image request's
// image_generation_model does not win over the path's model (pathModel);
// an image edit takes completion_model first (LiteLLM's
// resolve_inference_model, kind "image_edit").
func forcedModel(gs *config.GeneralSettings, ep translator.Endpoint, pathModel bool) string {
	switch ep {
	case translator.ImageEdits:
		if gs.CompletionModel != "" || pathModel {
			return gs.CompletionModel
		}
		return gs.ImageGenerationModel
	case translator.Chat, translator.Completions, translator.Messages:
		return gs.CompletionModel
	case translator.Embeddings:
		return gs.EmbeddingModel
	case translator.Moderations:
		return gs.ModerationModel
	case translator.ImageGenerations:
		if pathModel {
			return ""
		}
		return gs.ImageGenerationModel
	}
	return ""
}

// clientPath is a request path without its query (which may carry a key).
func clientPath(p string) string {
	if i := strings.IndexByte(p, '?'); i >= 0 {
		return p[:i]
	}
	return p
}

// routeRequest resolves the model, builds the attempt plan and tags the request.
func (s *Server) routeRequest(st *State, rt route, h map[string]string, body []byte, start time.Time, ticket *fallbackTicket, id identity) (_ *extprocv3.ProcessingResponse, te *translator.Error) {
	return s.routeRequestFor(st, rt, h, body, start, ticket, id, nil)
}

// routeRequestFor is routeRequest; with mod (the module's Serve) the fast
// path's answer plan goes into mod instead of llmgate.fp (D60), and a
// planned request's answer into mod.routed instead of the ext_proc answer
// (nil: D65).
func (s *Server) routeRequestFor(st *State, rt route, h map[string]string, body []byte, start time.Time, ticket *fallbackTicket, id identity, mod *moduleRoute) (_ *extprocv3.ProcessingResponse, te *translator.Error) {
	var f requestFields
	if translator.IsForm(rt.endpoint) {
		if e := routeFields(rt, h, body, &f); e != nil { // a multipart form (routes.go, D130)
			return nil, e
		}
	} else if len(body) > 0 || rt.responseID == "" {
		if e := readFieldsOf(body, &f, mod != nil && mod.valid); e != nil {
			return nil, e
		}
	}
	var pinned *configDeployment
	if rt.responseID != "" {
		// A Responses by-id route: the deployment the id names (responses.go).
		var e *translator.Error
		if pinned, e = st.responseDeployment(rt.responseID); e != nil {
			return nil, e
		}
		f.Model, f.Stream = pinned.ModelName, false
	}
	headerKnobs(h, &f)
	st.boundKnobs(&f)
	if rt.endpoint == translator.GenerateContent || rt.endpoint == translator.BedrockPassThrough {
		f.Stream = rt.stream // the path says (:streamGenerateContent, converse-stream), not the body (D160)
	}
	if rt.pathModel != "" {
		f.Model = rt.pathModel
	}
	if m := forcedModel(&st.Cfg.General, rt.endpoint, rt.pathModel != ""); m != "" {
		f.Model = m
	}
	if f.Model == "" {
		return nil, translator.NewError(400, "invalid_request_error", "model is required in the request body", "model")
	}
	var creds *clientCreds
	if f.clientSide {
		// LiteLLM's is_request_body_safe; a body's own credentials (D156).
		var ce *translator.Error
		if creds, ce = st.checkClientSide(body, f.Model); ce != nil {
			return nil, ce
		}
		if creds != nil && mod != nil {
			return nil, errKeyHandOn // (the module serves plain bodies only: never here)
		}
	}
	name := f.Model
	if ticket != nil {
		// A replayed request may carry the body the first pass prepared;
		// the ticket names the group.
		name = ticket.Group
	} else if id.token != "" && st.keys != nil && pinned == nil {
		// A key's aliases rename the requested model (LiteLLM's key aliases).
		name = st.keys.Alias(id.token, name)
	}
	res, err := st.Router.Resolve(name)
	if err != nil {
		return nil, routeErrorFor(rt, err)
	}
	if rt.endpoint == translator.AudioTranscriptions {
		if e := st.checkFileSize(res.Group, body, h["content-type"]); e != nil {
			return nil, e
		}
	}
	if rt.endpoint == translator.Messages {
		if e := translator.MessagesRequired(body); e != nil {
			return nil, e // LiteLLM's anthropic_messages checks (messages.go)
		}
	}
	if id.principal != nil && f.User == "" {
		f.User = id.principal.EndUserID // end_user_id_jwt_field (D97)
	}
	if ticket != nil && f.User == "" {
		f.User = ticket.EndUser // the first pass's (a JWT's end user)
	}
	var slot string
	if id.token != "" {
		slot = h[keys.SlotHeader] // the module's parallel slots (D117)
	}
	grant, ke := st.authorizeKey(id, ticket, name, res.Group, f.User, slot, body)
	if ke != nil {
		return nil, ke
	}
	if mod != nil {
		mod.leased = grant.Leased()
	}
	if grant != nil && grant.Parallel {
		// The slot is released by the try whose answer reaches the client,
		// or here when the request never leaves the gateway.
		defer func() {
			if te != nil {
				st.keys.EndFor(context.Background(), grant.Token, grant.TeamID, grant.UserID)
			}
		}()
	}
	callID := h["x-request-id"]
	if ticket != nil {
		callID = ticket.CallID
	}
	if mod == nil && st.keys != nil && st.Cfg.General.StorePromptsInSpendLogs && keys.MaySpend(id.token, "", f.User) {
		st.keys.KeepRequest(callID, withoutClientKey(body, creds)) // store_prompts_in_spend_logs (D117)
	}
	var ua string
	if st.Router.Model().Routing.TagFiltering {
		ua = h["user-agent"] // tag_regex (D89)
	}
	var p *router.Plan
	var plan []*llmgatev1.Attempt
	if pinned != nil {
		p, plan = pinnedPlan(res, pinned)
	} else {
		var perr *translator.Error
		by := st.stickBy(h, body, mod == nil, id)
		by.call = callID
		if p, plan, perr = s.plan(st, res, &f, body, ticket, st.routingTags(&f, h, id.token), ua, by); perr != nil {
			return nil, perr
		}
	}
	var cr *clientRoute
	if creds != nil {
		var ce *translator.Error
		if plan, cr, ce = st.routeClientSide(creds, plan); ce != nil {
			return nil, ce
		}
	}
	first, _ := st.Router.Model().Deployment(plan[0].DeploymentId)
	if first != nil && first.MockResponse != nil {
		if grant != nil && grant.Parallel {
			st.keys.EndFor(context.Background(), grant.Token, grant.TeamID, grant.UserID)
		}
		if first.Config != nil && first.Config.Params.MockDelay > 0 {
			// litellm_params.mock_delay: LiteLLM sleeps before the mock answer (D119).
			time.Sleep(min(first.Config.Params.MockDelay, maxMockTimeout))
		}
		return mockReplyFor(rt.endpoint, &f, first, plan[0], callID), nil
	}
	ctx := &llmgatev1.RequestContext{
		CallId:          callID,
		ModelGroup:      res.Group,
		RequestedModel:  f.Model,
		Endpoint:        endpointProto(rt.endpoint),
		Stream:          f.Stream,
		IncludeUsage:    f.StreamOptions != nil && f.StreamOptions.IncludeUsage,
		Attempts:        plan,
		StartUnixNano:   start.UnixNano(),
		OverheadNanos:   int64(s.now().Sub(start)),
		ResponseHeaders: withMaxRetries(p.UsageHeaders, plan, grant != nil && mod == nil, true), // (grant.AddHeaders writes into it)
		// Usage is read when something counts it: a limit or strategy, an
		// outcome sink, or (spend sink) a request with a virtual key.
		TrackUsage:        st.trackUsage || s.Outcomes.ActiveBesides(keys.SpendSink) || (grant != nil && s.Outcomes.Active()),
		TrackEnd:          st.trackEnd,
		OriginalPath:      h[":path"],
		OriginalAuthority: h[":authority"],
		Traceparent:       validTraceparent(h["traceparent"]),
		PolicyFallbacks:   len(st.Router.FallbackGroups(res.Group, router.ContentPolicyFallbacks)) > 0,
	}
	if grant != nil {
		ctx.KeyHash, ctx.KeyAlias, ctx.TeamId, ctx.UserId = grant.Token, grant.KeyAlias, grant.TeamID, grant.UserID
		ctx.KeyParallel = grant.Parallel
		if mod == nil {
			ctx.ResponseHeaders = grant.AddHeaders(ctx.ResponseHeaders)
		}
	} else if id.token != "" {
		ctx.KeyHash = id.token
	}
	if ctx.KeyHash == "" && ticket == nil && id.caller != "" && st.keys != nil && (st.callerSpend || st.keys.CallerLimited(res.Group)) {
		// LiteLLM logs a keyless caller's spend under its api_key (the
		// master key's alias, as the proxy admin's; a JWT's hash) when it
		// has a database, and counts its tokens to the group's default
		// per-key tpm_limit (D136): the try carries it (a replay's ticket
		// keeps it) and its usage is read.
		ctx.KeyHash = id.caller
		if id.caller == MasterKeyAlias {
			ctx.UserId = ProxyAdminUser
		}
		ctx.TrackUsage = ctx.TrackUsage || s.Outcomes.Active()
	}
	if grant == nil && ticket != nil {
		// A replay's spend counts to the first pass's key, team and user:
		// its usage is read as the first pass's was.
		ctx.TeamId, ctx.UserId = ticket.Team, ticket.User
		ctx.TrackUsage = ctx.TrackUsage || keys.MaySpend(ctx.KeyHash, ctx.TeamId, f.User) && s.Outcomes.Active()
	}
	ctx.EndUser = f.User
	st.setRequestTags(ctx, &f, h)    // D84
	st.setMetadataLabels(ctx, &f, h) // D91, D98
	if ticket != nil && ticket.Kind == pinKind {
		// A pinned /health check reports the deployment's own answer: no
		// redirect target, so never redirected into fallbacks (D13).
		ctx.OriginalPath, ctx.PolicyFallbacks = "", false
	}
	if ticket != nil && ticket.Kind != pinKind {
		ctx.FallbackKinds = ticket.Taken
		ctx.ModelGroup = ticket.Group
	}
	if ticket != nil && ticket.Model != "" {
		ctx.RequestedModel = ticket.Model // a replay's body may carry the prepared model
	}
	var cacheStore string
	if mod == nil && st.Cfg.LiteLLM.Cache && cr == nil { // (never a request's own credentials: D156)
		// LiteLLM's response cache (respcache.go, D111): a hit answers here.
		var reply *extprocv3.ProcessingResponse
		if reply, cacheStore = s.cacheLookup(st, rt, ctx, body, first, start); reply != nil {
			if grant != nil && grant.Parallel {
				st.keys.EndFor(context.Background(), grant.Token, grant.TeamID, grant.UserID)
			}
			return reply, nil
		}
	}
	s.begun(ctx, first) // llm_requests_hanging, when on (hanging.go)
	var span bodySpan
	if mod != nil {
		span = mod.model
	}
	var prepared []byte
	if !translator.IsRoute(rt.endpoint) && cr == nil { // (each try writes a route's body, routes.go; a client-side try reads its credentials from the body, D156)
		prepared = st.prepareBody(rt.endpoint, plan, body, f.Stream, span)
	}
	ctx.BodyPrepared = prepared != nil
	t := s.perTryTimeout(st, first, &f)
	sp := st.planSpacing(plan, t) // the module spaces same-deployment retries (spacing_module.go, D59)
	if sp != nil {
		t = sp.envoy
	}
	// The group, for Envoy's own replies (the 408 of a timed-out request
	// names it); the group, the requested name and the client's path for
	// the access log (upstream filters rewrite :path).
	r := &routed{plan: plan, group: ctx.ModelGroup, model: ctx.RequestedModel, path: clientPath(h[":path"]), spacing: sp, body: prepared}
	r.set = append(r.setBuf[:0], [2]string{contract.GroupHeader, routeGroup(res.Group, plan, ticket)}, [2]string{"x-envoy-max-retries", strconv.Itoa(len(plan) - 1)})
	if t > 0 {
		r.set = append(r.set, [2]string{"x-envoy-upstream-rq-per-try-timeout-ms", strconv.FormatInt(t.Milliseconds(), 10)})
	}
	var keyHeaders [][2]string
	if grant != nil && mod != nil && cacheStore == "" {
		// In the module, the key's x-litellm-key-* headers go once into a
		// fast answer plan's common headers (D108: they were copied into
		// every plan entry, then found common again), and never into a
		// fast request's context, which Envoy's metadata, the outcome
		// record and the gateway's intake carry (D96); a request that is
		// not fast has them in its context for the attempt filter.
		var buf [4][2]string
		keyHeaders = grant.AppendHeaders(buf[:0])
	}
	if cr != nil {
		r.client = cr
		if cr.sni != "" {
			r.set = append(r.set, [2]string{contract.ClientSideSNIHeader, cr.sni})
		}
	}
	switch {
	case cr != nil:
		// Its own cluster and attempt filter: never fast (D156).
	case rt.endpoint == translator.Chat && !f.Stream && (mod == nil || !mod.valid) && schemaCheckAsked(st.Cfg.LiteLLM.EnableJSONSchemaValidation, body):
		// (A body the module checked has plain keys only (plainBody), and
		// the module is off when the setting is on: nothing to look up.)
		// The attempt filter checks the answer (jsonschema.go, D148): never fast.
		r.deps = s.ModuleUpstream
	case cacheStore == "":
		s.fastTag(st, ctx, h, r, mod, keyHeaders) // D45
	default:
		// The attempt filter stores the answer: never fast.
		r.deps, r.cache = s.ModuleUpstream, cacheStore
	}
	if grant != nil && mod != nil && mod.resp == nil {
		ctx.ResponseHeaders = grant.AddHeaders(maps.Clone(ctx.ResponseHeaders))
	}
	enc, err := encodeContext(ctx)
	if err != nil {
		return nil, translator.NewError(500, "internal_server_error", err.Error(), "")
	}
	r.ctx = enc
	if mod != nil && r.fast && !ctx.BodyPrepared && s.tryCtx != nil {
		// A fast plan whose body is not prepared is translated by the
		// module's tries: they take the context from here (D107).
		s.tryCtx.put(enc, ctx)
	}
	if mod != nil {
		mod.routed = r // written as bytes by the module (routed.go, D65)
		return nil, nil
	}
	resp, err := r.processingResponse(st)
	if err != nil {
		return nil, translator.NewError(500, "internal_server_error", err.Error(), "")
	}
	return resp, nil
}

// routeGroup is the group whose route Envoy takes: the requested group, or
// after a context-window or content-policy redirect the fallback group the
// plan starts with. With priority_group the plan picks the clusters on any
// group route; the degraded mode's weighted clusters (D43) are the route's
// own, so the route must be the serving group's.
func routeGroup(requested string, plan []*llmgatev1.Attempt, ticket *fallbackTicket) string {
	if ticket != nil && ticket.Kind != pinKind && len(plan) > 0 && plan[0].ModelGroup != "" {
		return plan[0].ModelGroup
	}
	return requested
}

// perTryTimeout: per-request timeout, else the deployment's (stream_)timeout,
// else the router's (model.Deployment.Timeout, StreamTimeout).
func (s *Server) perTryTimeout(st *State, d *model.Deployment, f *requestFields) time.Duration {
	if f.Timeout != nil && *f.Timeout > 0 {
		// Envoy's timeouts count whole milliseconds, and 0 means none: a
		// timeout below 1 ms would turn into no timeout at all.
		return max(time.Duration(*f.Timeout*float64(time.Second)), time.Millisecond)
	}
	if d != nil {
		if f.Stream {
			return d.StreamTimeout
		}
		return d.Timeout
	}
	if f.Stream {
		return st.Router.Model().Routing.StreamTimeout
	}
	return st.Router.Model().Routing.Timeout
}

// planMetadata writes the plan as a PriorityGroupsOverride (one group per
// attempt, one cluster per group) into the plan namespace.
func planMetadata(st *State, plan []*llmgatev1.Attempt, ctx string) (*structpb.Struct, error) {
	// Built by hand: structpb.NewStruct's reflection was a tenth of the
	// request filter's allocations (docs/benchmarks.md).
	// The groups are built once per config (planmeta.go).
	groups := make([]*structpb.Value, 0, len(plan))
	for i, a := range plan {
		groups = append(groups, st.planGroups.group(st, i, a))
	}
	// The messages in one allocation (planMD), the maps sized for what
	// routeRequest and fastTag add.
	m := new(planMD)
	m.list.Values = groups
	m.listKind.ListValue = &m.list
	m.groupsV.Kind = &m.listKind
	m.planS.Fields = map[string]*structpb.Value{"priority_groups": &m.groupsV}
	m.ctxKind.StringValue = ctx
	m.ctxV.Kind = &m.ctxKind
	m.ctxS.Fields = make(map[string]*structpb.Value, 6)
	m.ctxS.Fields["ctx"] = &m.ctxV
	m.planKind.StructValue, m.ctxSKind.StructValue = &m.planS, &m.ctxS
	m.planNS.Kind, m.ctxNS.Kind = &m.planKind, &m.ctxSKind
	m.top.Fields = make(map[string]*structpb.Value, 4)
	m.top.Fields[contract.PlanMetadataNamespace] = &m.planNS
	m.top.Fields[contract.ContextMetadataNamespace] = &m.ctxNS
	return &m.top, nil
}

// planMD holds the plan metadata's messages: {llmgate.plan: {priority_groups:
// [...]}, llmgate.ctx: {ctx: "..."}}.
type planMD struct {
	top, planS, ctxS   structpb.Struct
	planNS, ctxNS      structpb.Value
	planKind, ctxSKind structpb.Value_StructValue
	groupsV, ctxV      structpb.Value
	listKind           structpb.Value_ListValue
	list               structpb.ListValue
	ctxKind            structpb.Value_StringValue
}

func endpointProto(e translator.Endpoint) llmgatev1.Endpoint {
	if e < translator.Chat || e > translator.BedrockPassThrough {
		return llmgatev1.Endpoint_ENDPOINT_CHAT
	}
	return llmgatev1.Endpoint(e) + llmgatev1.Endpoint_ENDPOINT_CHAT // (the enums share their order)
}

func endpointFromProto(e llmgatev1.Endpoint) translator.Endpoint {
	if e < llmgatev1.Endpoint_ENDPOINT_CHAT || e > llmgatev1.Endpoint_ENDPOINT_BEDROCK_PASS_THROUGH {
		return translator.Chat
	}
	return translator.Endpoint(e - llmgatev1.Endpoint_ENDPOINT_CHAT)
}

// prepareBody writes the provider body once, in the request filter, when
// every attempt of the plan would get the same one: OpenAI-compatible
// deployments with the same model id, defaults and dropped params. The
// attempt filter then skips the request body phase (one gRPC round trip and
// one body copy fewer per try). nil when the attempts differ. span is where
// the model's value is in a body the module read as plain (splicedBody).
func (st *State) prepareBody(ep translator.Endpoint, plan []*llmgatev1.Attempt, body []byte, stream bool, span bodySpan) []byte {
	if translator.OwnTranslator(ep) {
		return nil // every try translates (messages.go, responses.go)
	}
	if ep == translator.Chat && !stream && span.end == 0 && schemaCheckAsked(st.Cfg.LiteLLM.EnableJSONSchemaValidation, body) {
		// (span: a body the module read as plain, which cannot ask)
		return nil // each try reads the request's json_schema (jsonschema.go, D148)
	}
	var first *configDeployment
	for _, a := range plan {
		d, ok := st.Router.Deployment(a.DeploymentId)
		if !ok || d.Provider == "" || !translator.IsPassThrough(d.Provider) || a.Model != plan[0].Model || d.Params.RewritesMessages() {
			// (supports_system_message: false and the message params: each try's requestBody rewrites the messages, D103, D119)
			return nil
		}
		if first == nil {
			first = d
			continue
		}
		if !reflect.DeepEqual(d.Params.Defaults, first.Params.Defaults) ||
			!reflect.DeepEqual(d.Params.AdditionalDropParams, first.Params.AdditionalDropParams) {
			return nil
		}
	}
	if span.end > 0 && !stream && len(first.Params.Defaults) == 0 && len(st.Cfg.LiteLLM.AdditionalDropParams) == 0 && len(first.Params.AdditionalDropParams) == 0 {
		if out, ok := splicedBody(body, span, plan[0].Model); ok {
			return out
		}
	}
	merged, err := mergeDefaults(body, first.Params.Defaults)
	if err != nil {
		return nil
	}
	out, ok, err := translator.PassThroughBody(first.Provider, ep, merged, translator.Target{
		Provider: first.Provider, Model: plan[0].Model, Stream: stream,
		AdditionalDropParams: append(append([]string{}, st.Cfg.LiteLLM.AdditionalDropParams...), first.Params.AdditionalDropParams...),
	})
	if err != nil || !ok {
		return nil
	}
	return out
}
