package extproc

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3filter "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/outcome"
	"github.com/llmgate/llmgate/internal/upstream"
	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
	"github.com/llmgate/llmgate/router"
	"github.com/llmgate/llmgate/translator"
)

// try is one upstream attempt as the attempt filter sees it.
type try struct {
	// streamKept: a streamed answer as the client got it, kept for the
	// spend log's response (store_prompts_in_spend_logs; streamOver past
	// maxStoredStream), D128.
	streamKept []byte
	streamOver bool
	st         *State
	rc         *llmgatev1.RequestContext
	d          *configDeployment
	a          *llmgatev1.Attempt
	index      int // 0 for the first try
	tr         translator.Translator
	target     translator.Target
	ep         translator.Endpoint
	base       upstream.Base
	pass       bool // OpenAI-compatible: bodies need no translation
	status     int
	respHdr    map[string]string
	// schema is the request's response_format.json_schema.schema the answer
	// is checked against (enable_json_schema_validation, D148); nil: none.
	schema  []byte
	reqHdr  map[string]string // the request headers as the try got them
	sent    time.Time
	answer  outcome.Answer   // set when the answer is known to be retried or sent
	spaced  bool             // the response carries the wait before a retry on this deployment (D18)
	srv     *Server          // set by attempt: the try's outcome is reported (settle)
	settled bool             // the outcome is reported (settle runs once)
	cache   *cacheStore      // a response cache miss: the answer is stored (respcache.go)
	units   translator.Units // what the request of a route after embeddings fixes of its price (D130)
	byID    bool             // a Responses by-id route (responses.go, D137)
	// client: the try goes to the request's own api_base / with its own
	// api_key, read from the body (clientside.go, D156).
	client bool
}

// attempt serves one upstream try of the deployment depID: it counts the
// call (rpm, in flight), translates the request, and on the way back
// translates the response and reports the outcome to the router (usage,
// latency, failures and cooldowns).
func (s *Server) attempt(stream extprocv3.ExternalProcessor_ProcessServer, st *State, depID, provider string) error {
	msg, err := recv(stream)
	if err != nil {
		return err
	}
	// Module mode's shared attempt filter names the cluster per try (D55).
	depID, provider = s.sharedAttempt(st, depID, provider, msg)
	client := depID == contract.ClientSideDeployment
	if client {
		depID, provider = clientTryDeployment(msg) // (D156)
	}
	rh := msg.GetRequestHeaders()
	if rh == nil {
		if msg.GetResponseHeaders() != nil {
			// A fast-path try that answered 4xx/5xx (D45).
			return s.attemptError(stream, st, depID, provider, msg)
		}
		return stream.Send(&extprocv3.ProcessingResponse{})
	}
	h := headerMap(rh.GetHeaders())
	t, e := s.newTry(st, depID, provider, h, contextFromMetadata(msg))
	if e != nil {
		var retry map[string]string
		if e.Status >= 500 {
			// The gateway's own failure on this try (e.g. a deployment a
			// reload removed). Envoy sends an upstream filter's local reply
			// to the client, so this header does not make it retry (D3);
			// it is kept so that the reply is classified like a provider
			// 5xx wherever it is read.
			retry = map[string]string{contract.RetryHeader: "1"}
		}
		return stream.Send(errorReply(e, retry))
	}
	t.cache = cacheStoreOf(msg)
	t.client = client
	// A retry on the same deployment after a timeout or a reset waits
	// LiteLLM's backoff here (D18).
	if ok, err := t.hold(stream, t.holdFor(msg)); !ok {
		return err
	}
	var resp *extprocv3.ProcessingResponse
	if t.byID && rh.GetEndOfStream() {
		// A Responses by-id route: no body (responses.go).
		if resp, e = t.byIDHeaders(); e != nil {
			return stream.Send(errorReply(e, t.clientHeaders()))
		}
	} else if t.rc.BodyPrepared && t.pass {
		// The request filter wrote the body: set path, host and credentials
		// now and skip the body phase.
		if resp, e = t.preparedHeaders(); e != nil {
			return stream.Send(errorReply(e, t.clientHeaders()))
		}
	} else {
		body, ok, err := awaitBody(stream)
		if !ok {
			return err
		}
		if resp, e = t.requestBody(body); e != nil {
			return stream.Send(errorReply(e, t.clientHeaders()))
		}
	}
	if resp != nil && resp.DynamicMetadata == nil {
		resp.DynamicMetadata = startedMetadata(t.index, time.Now())
	}
	bg := context.Background()
	o := router.Outcome{DeploymentID: t.d.ID, Group: t.a.ModelGroup, Stream: t.rc.Stream, CallID: t.rc.CallId}
	// Count the call (rpm, in flight) only when something reads the counts.
	if st.countCalls && !s.leasedTry(h) && !t.client { // (a try on the module's lease: modulelimits_leased.go; a client's own deployment, D156)
		br, err := st.Router.Begin(bg, t.d.ID)
		if err == nil && !br.Allowed {
			o.Status, o.Class = 429, translator.ErrRateLimit
			until, _ := st.Router.Report(bg, o)
			s.publish(t, o, until)
			return stream.Send(errorReply(&translator.Error{Status: 429, Type: "throttling_error", Code: "429", RetryAfter: time.Second,
				Message: "litellm.RateLimitError: Deployment " + t.d.ID + " of model group " + t.a.ModelGroup + " is at its " + br.Reason + " limit"}, t.clientHeaders()))
		}
		if err == nil {
			defer func() { _ = st.Router.End(bg, t.d.ID) }()
		}
	}
	t.sent, t.srv = time.Now(), s
	defer t.settle(&o) // (unless done before the last reply: beforeLastReply)
	if err := stream.Send(resp); err != nil {
		return err
	}
	msg, err = recv(stream)
	if err != nil {
		// Envoy gave up on the try (per-try timeout) or the upstream reset.
		o.Timeout, o.Class = true, translator.ErrTimeout
		return err
	}
	return t.respond(stream, msg, &o)
}

// respond serves the response half of a try: headers, then the body when
// the mode asks for it; o gets the status, class and usage.
func (t *try) respond(stream extprocv3.ExternalProcessor_ProcessServer, msg *extprocv3.ProcessingRequest, o *router.Outcome) error {
	rsh := msg.GetResponseHeaders()
	if rsh == nil {
		return stream.Send(&extprocv3.ProcessingResponse{})
	}
	mode, resp := t.responseHeaders(headerMap(rsh.GetHeaders()), rsh.GetEndOfStream())
	o.Status = t.status
	o.Class = translator.ClassForStatus(t.status)
	o.RetryAfter = translator.ParseRetryAfter(t.respHdr["retry-after"])
	if t.ep == translator.AudioSpeech && t.status < 300 {
		o.Usage = translator.Usage{Units: t.units} // the binary answer passes unread (D130)
	}
	if err := stream.Send(resp); err != nil {
		// Envoy dropped the try while the headers were here: the upstream
		// reset right after them.
		droppedAfterHeaders(o)
		return err
	}
	if mode == extprocv3filter.ProcessingMode_NONE || rsh.GetEndOfStream() {
		return nil
	}
	return t.responseBody(stream, mode, o)
}

func (s *Server) newTry(st *State, depID, provider string, h map[string]string, enc string) (*try, *translator.Error) {
	rc, err := decodeContext(enc)
	if err != nil {
		return nil, translator.NewError(500, "internal_server_error", "llmgate: "+err.Error()+" (the request did not pass the request filter)", "")
	}
	return s.newTryOf(st, depID, provider, h, rc)
}

// newTryOf is newTry with the request's context decoded (read, never
// written: the module's tries may share it, moduletranslate_ctx.go).
func (s *Server) newTryOf(st *State, depID, provider string, h map[string]string, rc *llmgatev1.RequestContext) (*try, *translator.Error) {
	var err error
	d, ok := st.deployment(depID)
	if !ok {
		return nil, translator.NewError(500, "internal_server_error", "deployment "+depID+" was removed by a config reload", "")
	}
	dOrig := d
	if d.Provider == "" {
		// model: "*": this cluster serves one provider of the deployment.
		dp := *d
		dp.Provider = provider
		d = &dp
	}
	idx := 0
	if n, err := strconv.Atoi(h["x-envoy-attempt-count"]); err == nil && n > 0 {
		idx = n - 1
	}
	t := &try{st: st, rc: rc, d: d, index: idx, ep: endpointFromProto(rc.Endpoint), reqHdr: h}
	if idx < len(rc.Attempts) && rc.Attempts[idx].DeploymentId == depID {
		t.a = rc.Attempts[idx]
	} else {
		for _, a := range rc.Attempts {
			if a.DeploymentId == depID {
				t.a = a
				break
			}
		}
	}
	if t.a == nil {
		t.a = &llmgatev1.Attempt{DeploymentId: depID, ModelGroup: d.ModelName, Model: d.Model}
	}
	t.tr = translator.ForEndpoint(t.ep, d.Provider)
	if t.ep == translator.Responses && d.Params.UseChatCompletionsAPI {
		t.tr = translator.ResponsesBridge(d.Provider) // use_chat_completions_api (D148)
	}
	if t.tr == nil {
		return nil, translator.NewError(501, "not_implemented_error", "provider "+d.Provider+" is not supported yet (deployment "+d.ID+")", "")
	}
	t.pass = translator.IsPassThrough(d.Provider) && !translator.OwnTranslator(t.ep)
	tb, err := st.tryBase(d, d != dOrig)
	if err != nil {
		return nil, translator.NewError(500, "internal_server_error", err.Error(), "")
	}
	t.base = tb.base
	drop := st.Cfg.LiteLLM.DropParams
	if d.Params.DropParams != nil {
		drop = *d.Params.DropParams
	}
	t.target = translator.Target{
		Provider:             d.Provider,
		Model:                t.a.Model,
		APIBase:              tb.apiBase,
		APIVersion:           d.Params.APIVersion,
		Region:               d.Params.AWSRegionName,
		Project:              d.Params.VertexProject,
		Location:             d.Params.VertexLocation,
		Stream:               rc.Stream,
		DropParams:           drop,
		AdditionalDropParams: append(append([]string{}, st.Cfg.LiteLLM.AdditionalDropParams...), d.Params.AdditionalDropParams...),
		MaxTokensDefault:     d.Info.MaxOutputTokens,
		ModifyParams:         st.Cfg.LiteLLM.ModifyParams,
		DeploymentID:         d.ID,
	}
	if translator.IsForm(t.ep) {
		t.target.ContentType = h["content-type"] // the form's boundary (D130)
	}
	t.byID = t.ep == translator.Responses && classify("", rc.OriginalPath).responseID != ""
	if t.ep == translator.BedrockPassThrough {
		t.target.Action = classify("", rc.OriginalPath).action // (bedrockpass.go, D160)
	}
	return t, nil
}

// tryBase is a deployment's api_base as its tries use it: parsed, and as
// the translators' Target.APIBase.
type tryBase struct {
	base    upstream.Base
	apiBase string
}

// tryBase is d's api_base, parsed once per deployment of this state
// (D116: it was parsed on every try). copied: d is a copy made for this try
// (a wildcard deployment's provider), parsed each time, not kept.
func (st *State) tryBase(d *config.Deployment, copied bool) (*tryBase, error) {
	if !copied {
		if v, ok := st.tryBases.Load(d); ok {
			return v.(*tryBase), nil
		}
	}
	base, err := upstream.For(d)
	if err != nil {
		return nil, err
	}
	tb := &tryBase{base: base, apiBase: upstream.WithoutQuery(upstream.APIBase(d))}
	if !copied {
		st.tryBases.Store(d, tb)
	}
	return tb, nil
}

// requestBody translates the body for the deployment and sets path, host and credentials.
func (t *try) requestBody(body []byte) (*extprocv3.ProcessingResponse, *translator.Error) {
	out, set, remove, e := t.requestPairs(body)
	if e != nil {
		return nil, e
	}
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestBody{RequestBody: &extprocv3.BodyResponse{Response: &extprocv3.CommonResponse{
		HeaderMutation: headerMutation(set, remove),
		BodyMutation:   &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_Body{Body: out}},
	}}}}, nil
}

// requestPairs is requestBody's translation: the body, the headers to set
// and to remove (as pairs: the module applies them without protos, D107).
func (t *try) requestPairs(body []byte) (out []byte, set [][2]string, remove []string, te *translator.Error) {
	if t.byID {
		return t.byIDPairs(body != nil) // (responses.go, D137)
	}
	if t.client {
		if e := t.useClientCreds(body); e != nil {
			return nil, nil, nil, e
		}
	}
	if translator.IsRoute(t.ep) {
		t.units = translator.RequestUnits(t.ep, body, t.target.ContentType) // (D130)
	}
	if !translator.IsForm(t.ep) { // (a multipart form: no JSON defaults)
		var err error
		if body, err = mergeDefaults(body, t.d.Params.Defaults); err != nil {
			return nil, nil, nil, translator.NewError(400, "invalid_request_error", "Invalid JSON in request body: "+err.Error(), "")
		}
	}
	t.schema = t.responseSchema(body) // enable_json_schema_validation (jsonschema.go)
	if t.ep == translator.Chat && (t.d.Params.NoSystemMessage || t.d.Params.Messages != nil) {
		var e *translator.Error
		if body, e = rewriteMessages(body, &t.d.Params, t.d.Provider); e != nil {
			return nil, nil, nil, e
		}
	}
	var allowed []translator.RawParam
	if t.ep == translator.Chat && len(t.d.Params.AllowedOpenAIParams) > 0 {
		body, allowed = translator.TakeAllowedParams(wireOf(t.d.Provider), body, t.d.Params.AllowedOpenAIParams, t.target.AdditionalDropParams)
	}
	up, err := t.tr.Request(t.ep, body, t.target)
	if err != nil {
		if te, ok := err.(*translator.Error); ok {
			return nil, nil, nil, te
		}
		return nil, nil, nil, translator.NewError(400, "invalid_request_error", err.Error(), "")
	}
	if len(allowed) > 0 {
		up.Body = translator.PutAllowedParams(up.Body, allowed) // allowed_openai_params (D119)
	}
	if t.ep == translator.Messages {
		t.anthropicClientHeaders(up) // messages.go (D129)
	}
	set, remove, e := t.upstreamHeaderPairs(up, true)
	if e != nil {
		return nil, nil, nil, e
	}
	return up.Body, set, remove, nil
}

// preparedHeaders answers the request headers of a try whose body the
// request filter already prepared: path, host and credentials, and a mode
// override that skips the request body.
func (t *try) preparedHeaders() (*extprocv3.ProcessingResponse, *translator.Error) {
	up := &translator.UpstreamRequest{Method: "POST", Path: translator.PassThroughPath(t.ep, t.target)}
	mut, e := t.upstreamHeaders(up, false)
	if e != nil {
		return nil, e
	}
	return &extprocv3.ProcessingResponse{
		Response: &extprocv3.ProcessingResponse_RequestHeaders{RequestHeaders: &extprocv3.HeadersResponse{Response: &extprocv3.CommonResponse{HeaderMutation: mut}}},
		ModeOverride: &extprocv3filter.ProcessingMode{
			RequestHeaderMode:   extprocv3filter.ProcessingMode_SEND,
			RequestBodyMode:     extprocv3filter.ProcessingMode_NONE,
			RequestTrailerMode:  extprocv3filter.ProcessingMode_SKIP,
			ResponseHeaderMode:  extprocv3filter.ProcessingMode_SEND,
			ResponseBodyMode:    extprocv3filter.ProcessingMode_NONE,
			ResponseTrailerMode: extprocv3filter.ProcessingMode_SKIP,
		},
	}, nil
}

// upstreamHeaders are the header changes of a try (upstreamHeaderPairs)
// as Envoy's header mutation.
func (t *try) upstreamHeaders(up *translator.UpstreamRequest, withLength bool) (*extprocv3.HeaderMutation, *translator.Error) {
	set, remove, e := t.upstreamHeaderPairs(up, withLength)
	if e != nil {
		return nil, e
	}
	return headerMutation(set, remove), nil
}

// headerMutation is the header mutation that sets set and removes remove.
func headerMutation(set [][2]string, remove []string) *extprocv3.HeaderMutation {
	opts := make([]*corev3.HeaderValueOption, len(set))
	for i, kv := range set {
		opts[i] = hdr(kv[0], kv[1])
	}
	return &extprocv3.HeaderMutation{SetHeaders: opts, RemoveHeaders: remove}
}

// upstreamHeaderPairs are the header changes of a try: path, host,
// provider headers, credentials, extra headers; the client's key and the
// gateway's own headers removed. withLength sets content-length for a new
// body.
func (t *try) upstreamHeaderPairs(up *translator.UpstreamRequest, withLength bool) ([][2]string, []string, *translator.Error) {
	creds, cerr := t.credentials(up)
	if cerr != nil {
		return nil, nil, cerr
	}
	set := make([][2]string, 0, 4+len(up.Headers)+len(creds)+len(t.d.Params.ExtraHeaders))
	set = append(set,
		[2]string{":path", t.base.WithQuery(up.Path)},
		[2]string{":authority", t.base.Authority()},
	)
	if withLength {
		set = append(set, [2]string{"content-length", strconv.Itoa(len(up.Body))})
	}
	if up.Method != "" {
		set = append(set, [2]string{":method", up.Method})
	}
	for k, v := range up.Headers {
		set = append(set, [2]string{k, v})
	}
	for k, v := range creds {
		set = append(set, [2]string{k, v})
	}
	for k, v := range t.d.Params.ExtraHeaders {
		set = append(set, [2]string{k, v})
	}
	remove := make([]string, 0, 5+len(clientAuthHeaders))
	remove = append(remove, contract.GroupHeader, contract.FallbackHeader, "accept-encoding", "x-envoy-attempt-count", "x-envoy-expected-rq-timeout-ms")
	if t.client {
		remove = append(remove, contract.ClientSideSNIHeader)
	}
	for _, k := range clientAuthHeaders {
		if _, ok := creds[k]; !ok {
			remove = append(remove, k)
		}
	}
	return set, t.droppedClientHeaders(set, remove), nil
}

// mergeDefaults adds the deployment's default params the request does not set.
func mergeDefaults(body []byte, defaults map[string]any) ([]byte, error) {
	if len(defaults) == 0 {
		return body, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, err
	}
	changed := false
	for k, v := range defaults {
		if _, ok := m[k]; ok {
			continue
		}
		b, err := json.Marshal(v)
		if err != nil {
			continue
		}
		m[k] = b
		changed = true
	}
	if !changed {
		return body, nil
	}
	return json.Marshal(m)
}

// clientHeaders are the x-litellm-* headers every response carries.
func (t *try) clientHeaders() map[string]string {
	var buf [numClientHeaders][2]string
	h := make(map[string]string, numClientHeaders+1)
	for _, kv := range t.appendClientHeaders(buf[:0], t.base.URL(), overheadHeader(t.rc)) {
		h[kv[0]] = kv[1]
	}
	if t.rc.StartUnixNano > 0 {
		// Until the response headers: for a stream, the time to its first byte.
		h["x-litellm-response-duration-ms"] = strconv.FormatFloat(float64(time.Now().UnixNano()-t.rc.StartUnixNano)/1e6, 'f', 3, 64)
	}
	return h
}

// numClientHeaders is the number of appendClientHeaders' headers.
const numClientHeaders = 7

// appendClientHeaders appends the try's x-litellm-* headers but the
// response duration (clientHeaders), with the deployment's api base and
// the request's overhead (overheadHeader) as given.
func (t *try) appendClientHeaders(dst [][2]string, apiBase, overhead string) [][2]string {
	return append(dst,
		[2]string{"x-litellm-call-id", t.rc.CallId},
		[2]string{"x-litellm-model-id", t.d.ID},
		[2]string{"x-litellm-model-group", t.modelGroupHeader()},
		[2]string{"x-litellm-model-api-base", apiBase},
		[2]string{"x-litellm-attempted-retries", strconv.Itoa(int(t.a.Retry))},
		[2]string{"x-litellm-attempted-fallbacks", strconv.Itoa(int(t.a.FallbackIndex))},
		[2]string{"x-litellm-overhead-duration-ms", overhead})
}

// overheadHeader is x-litellm-overhead-duration-ms.
func overheadHeader(rc *llmgatev1.RequestContext) string {
	return strconv.FormatFloat(float64(rc.OverheadNanos)/1e6, 'f', 3, 64)
}

// fellBack reports whether this try serves a fallback group (ordinary, or a
// context-window/content-policy redirect).
func (t *try) fellBack() bool {
	return t.a.FallbackIndex > 0 || len(t.rc.FallbackKinds) > 0
}

// modelGroupHeader is x-litellm-model-group as LiteLLM reports it: the name
// the client asked for (the alias, or the concrete model of a wildcard), and
// the fallback's group once the request fell back.
func (t *try) modelGroupHeader() string {
	if t.rc.RequestedModel == "" || t.fellBack() {
		return t.a.ModelGroup
	}
	return t.rc.RequestedModel
}

// responseModel is the "model" the client's response carries, "" to keep
// the provider's. LiteLLM's proxy restamps the requested model name on every
// response and stream chunk, except on a non-streamed response after a
// fallback, where it keeps the model that actually answered.
func (t *try) responseModel() string {
	if !t.rc.Stream && t.fellBack() {
		return ""
	}
	return t.rc.RequestedModel
}

// maxRestampBody bounds the OpenAI-compatible answers buffered only to
// restamp their model name: a larger one (a big embeddings batch) passes
// unread, with the provider's model name, rather than meeting Envoy's buffer
// limit (docs/architecture.md D16).
const maxRestampBody = 4 << 20

func tooBigToRestamp(contentLength string) bool {
	n, err := strconv.Atoi(contentLength)
	return err == nil && n > maxRestampBody
}

// retryable says whether Envoy should try the next plan entry after an
// error of this class: LiteLLM's retry_policy (RetriesForGroup) against this
// try's retry number, when the plan has another attempt. 401/403 and 404 are
// retried only onto another deployment (it may hold a valid key or know the
// model); the same deployment would answer the same.
func (t *try) retryable(class translator.ErrorClass) bool {
	if t.index+1 >= len(t.rc.Attempts) {
		return false
	}
	next := t.rc.Attempts[t.index+1]
	if (class == translator.ErrAuthentication || class == translator.ErrNotFound) && next.DeploymentId == t.d.ID {
		return false
	}
	if next.ModelGroup != t.a.ModelGroup || next.FallbackIndex != t.a.FallbackIndex {
		// The next attempt is a fallback group (or the group's next
		// litellm_params.order, D89): LiteLLM falls back after any failure
		// once the group's retries are spent.
		return true
	}
	if n, ok := t.st.Router.RetryRule(t.a.ModelGroup, class); ok {
		return int(t.a.Retry) < n
	}
	if n, ok := planRetries(t.rc); ok {
		// No rule for the class: the retries the request was planned with
		// (its num_retries or x-litellm-num-retries, the deployment's, the router's).
		return int(t.a.Retry) < n
	}
	return int(t.a.Retry) < t.st.Router.RetriesForGroup(t.a.ModelGroup, class)
}

// retryMutation is the header change that makes Envoy retry after error e
// (ok false: no retry). Envoy retries an upstream response only when it
// carries RetryHeader, 5xx included, so that retry_policy holds for every
// class (docs/architecture.md D3).
func (t *try) retryMutation(e *translator.Error) (set []*corev3.HeaderValueOption, remove []string, ok bool) {
	if !t.retryable(e.Class) {
		return nil, nil, false
	}
	set = append(set, hdr(contract.RetryHeader, "1"))
	next := t.rc.Attempts[t.index+1]
	if next.DeploymentId != t.d.ID {
		// Another deployment is next: retry at once (LiteLLM), not after Retry-After.
		remove = append(remove, "retry-after")
	} else if t.respHdr[contract.SpacingTimeoutHeader] != "" {
		// The module's spacing filter timed the try out: it holds the
		// next try for LiteLLM's wait itself (D59).
		return set, remove, true
	} else if e.RetryAfter == 0 {
		// The same deployment again: LiteLLM's backoff (0.5·2ⁿ s, at most
		// 8 s), handed to Envoy's rate-limited back-off as a Retry-After
		// in whole seconds (its header formats have no finer unit).
		wait := t.st.Router.Backoff(int(t.a.Retry), 0, false)
		set = append(set, hdr("retry-after", strconv.Itoa(int(math.Ceil(wait.Seconds())))))
	}
	// The next try is told the wait was served (it holds otherwise, D18).
	t.spaced = next.DeploymentId == t.d.ID
	return set, remove, true
}

// responseHeaders decides how the response body is handled and adds the gateway's headers.
func (t *try) responseHeaders(h map[string]string, eos bool) (extprocv3filter.ProcessingMode_BodySendMode, *extprocv3.ProcessingResponse) {
	t.respHdr = h
	t.status, _ = strconv.Atoi(h[":status"])
	set := []*corev3.HeaderValueOption{}
	for k, v := range t.clientHeaders() {
		set = append(set, hdr(k, v))
	}
	for k, v := range t.rc.ResponseHeaders {
		set = append(set, hdr(k, v))
	}
	var remove []string
	mode := extprocv3filter.ProcessingMode_NONE
	switch {
	case t.status >= 400:
		// The retry decision waits for the body (its class); Envoy holds the
		// headers until the buffered body is answered.
		mode = extprocv3filter.ProcessingMode_BUFFERED
	case t.ep == translator.AudioSpeech:
		// Audio bytes go to the client unchanged as they come; the price is
		// the input's characters, known already (D130).
		mode = extprocv3filter.ProcessingMode_NONE
		if cost, ok := t.st.Router.Cost(t.d, t.d.Provider, t.a.Model, translator.Usage{Units: t.units}, 0); ok && t.units != (translator.Units{}) {
			set = append(set, hdr("x-litellm-response-cost", strconv.FormatFloat(cost, 'g', -1, 64)))
		}
	case translator.IsRoute(t.ep) && strings.HasPrefix(h["content-type"], "text/event-stream"):
		mode = extprocv3filter.ProcessingMode_NONE // a streamed transcription: its events pass unread (D130)
	case translator.IsRoute(t.ep):
		mode = extprocv3filter.ProcessingMode_BUFFERED // its price is in the answer (D130)
	case t.pass && t.rc.Stream:
		// Every chunk is restamped with the requested model, and the usage
		// chunk the gateway asked for is counted (and stripped when the client
		// did not ask for it): LiteLLM's behaviour, docs/architecture.md D16.
		mode = extprocv3filter.ProcessingMode_STREAMED
	case t.pass && !t.rc.TrackUsage && !t.rc.PolicyFallbacks && !t.storePrompts() && t.schema == nil && (t.responseModel() == "" || tooBigToRestamp(h["content-length"])) && (t.cache == nil || tooBigToRestamp(h["content-length"])):
		mode = extprocv3filter.ProcessingMode_NONE
	case t.pass:
		mode = extprocv3filter.ProcessingMode_BUFFERED
	case t.rc.Stream && t.ep == translator.BedrockPassThrough:
		// Bedrock's event stream passes on as it came, its content type too (bedrockpass.go, D160).
		mode = extprocv3filter.ProcessingMode_STREAMED
		remove = append(remove, "content-length")
	case t.rc.Stream:
		mode = extprocv3filter.ProcessingMode_STREAMED
		set = append(set, hdr("content-type", "text/event-stream"), hdr("cache-control", "no-cache"))
		remove = append(remove, "content-length", "content-encoding")
	default:
		mode = extprocv3filter.ProcessingMode_BUFFERED
	}
	if eos {
		mode = extprocv3filter.ProcessingMode_NONE
		if t.status >= 400 {
			// An error without a body: its status is all there is to classify.
			e := &translator.Error{Status: t.status, Class: translator.ClassForStatus(t.status), RetryAfter: translator.ParseRetryAfter(h["retry-after"])}
			if rs, rr, ok := t.retryMutation(e); ok {
				set, remove = append(set, rs...), append(remove, rr...)
			}
		}
	}
	resp := &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseHeaders{ResponseHeaders: &extprocv3.HeadersResponse{Response: &extprocv3.CommonResponse{
		HeaderMutation: &extprocv3.HeaderMutation{SetHeaders: set, RemoveHeaders: remove},
	}}}}
	if t.spaced {
		resp.DynamicMetadata = spacedMetadata(t.index)
	}
	if mode != extprocv3filter.ProcessingMode_NONE {
		resp.ModeOverride = &extprocv3filter.ProcessingMode{
			RequestHeaderMode:   extprocv3filter.ProcessingMode_SEND,
			ResponseHeaderMode:  extprocv3filter.ProcessingMode_SEND,
			RequestBodyMode:     extprocv3filter.ProcessingMode_BUFFERED,
			ResponseBodyMode:    mode,
			RequestTrailerMode:  extprocv3filter.ProcessingMode_SKIP,
			ResponseTrailerMode: extprocv3filter.ProcessingMode_SKIP,
		}
	}
	return mode, resp
}

// responseBody translates a buffered body (error or non-stream) or a stream
// chunk by chunk, and fills the outcome (usage, time to first token, class).
func (t *try) responseBody(stream extprocv3.ExternalProcessor_ProcessServer, mode extprocv3filter.ProcessingMode_BodySendMode, o *router.Outcome) error {
	var st translator.Stream
	created := time.Now().Unix() // one time for every chunk of the stream (stampChunks)
	if mode == extprocv3filter.ProcessingMode_STREAMED {
		st = t.tr.NewStream(t.ep, t.target)
		if u, ok := st.(translator.IncludeUsageSetter); ok {
			u.SetIncludeUsage(t.rc.IncludeUsage)
		}
		st = translator.ModelStream(st, t.responseModel())
		if t.d != nil && t.d.Params.MergeReasoning {
			st = translator.MergeReasoningStream(st)
		}
		defer t.streamOutcome(st, o)
	}
	for {
		msg, err := recv(stream)
		if err != nil {
			if mode == extprocv3filter.ProcessingMode_BUFFERED {
				// A stream cut mid-way is not counted: clients end streams
				// early on purpose.
				droppedAfterHeaders(o)
			}
			return err
		}
		b := msg.GetResponseBody()
		if b == nil {
			if err := stream.Send(&extprocv3.ProcessingResponse{}); err != nil {
				return err
			}
			continue
		}
		if st != nil {
			if o.TimeToFirstToken == 0 && len(b.GetBody()) > 0 {
				o.TimeToFirstToken = time.Since(t.sent)
			}
			out, ferr := st.Feed(b.GetBody(), b.GetEndOfStream())
			if ferr != nil && len(out) == 0 {
				out = translator.WriteSSEError(nil, translator.NewError(502, "api_error", "llmgate: "+ferr.Error(), ""))
			}
			out = stampChunks(out, created)
			if t.cache != nil {
				t.cache.gather(out)
			}
			if t.storePrompts() && t.st.keys != nil && !t.streamOver {
				// store_prompts_in_spend_logs: the stream kept for its spend log's response (D128).
				if len(t.streamKept)+len(out) > maxStoredStream {
					t.streamOver, t.streamKept = true, nil
				} else {
					t.streamKept = append(t.streamKept, out...)
				}
			}
			if b.GetEndOfStream() {
				if t.streamKept != nil && t.status < 300 && ferr == nil {
					if r := streamResponse(t.streamKept); r != nil {
						t.st.keys.KeepResponse(t.rc.CallId, r) // before the outcome the spend sink reads
					}
				}
				t.streamOutcome(st, o)
				if t.cache != nil && t.status < 300 && o.Class == translator.ErrNone && !t.cache.over {
					t.cachePut(true, t.cache.body)
				}
				t.beforeLastReply(o)
			}
			if err := stream.Send(bodyReply(out, nil, nil)); err != nil {
				return err
			}
			if b.GetEndOfStream() {
				return nil
			}
			continue
		}
		out, set, remove := t.finalBody(b.GetBody(), o)
		t.answer = answerOf(set)
		if t.storePrompts() && t.st.keys != nil && t.status < 300 && o.Class == translator.ErrNone && t.answer == outcome.AnswerSent {
			t.st.keys.KeepResponse(t.rc.CallId, out) // store_prompts_in_spend_logs (D117)
		}
		if t.cache != nil && t.status < 300 && o.Class == translator.ErrNone && t.answer == outcome.AnswerSent {
			t.cachePut(false, out)
		}
		set = append(set, hdr("content-length", strconv.Itoa(len(out))), hdr("content-type", "application/json"))
		resp := bodyReply(out, set, append(remove, "content-encoding"))
		if t.spaced {
			resp.DynamicMetadata = spacedMetadata(t.index)
		}
		t.beforeLastReply(o)
		return stream.Send(resp)
	}
}

// storePrompts: general_settings.store_prompts_in_spend_logs (the answer
// is read whole and kept for the spend log, D117).
func (t *try) storePrompts() bool {
	return t.st != nil && t.st.Cfg != nil && t.st.Cfg.General.StorePromptsInSpendLogs
}

// streamOutcome puts what a translated stream learned (its usage, a content
// filter, the provider's error inside it) into o.
func (t *try) streamOutcome(st translator.Stream, o *router.Outcome) {
	o.Usage = st.Usage()
	if st.FinishReason() == "content_filter" {
		o.Class = translator.ErrContentPolicy
	}
	if se, ok := st.(translator.StreamErr); ok {
		if e := se.Err(); e != nil {
			// The provider's error inside the stream: counted as
			// LiteLLM counts it (D82), as the module counts it.
			f := translator.StreamFailureOf(t.d.Provider, e)
			o.Status, o.Class, o.InStream = f.Status, f.Class, true
		}
	}
}

// finalBody translates a whole response body: an error into OpenAI error JSON
// (and decides whether Envoy retries it), a success into the OpenAI response.
func (t *try) finalBody(body []byte, o *router.Outcome) ([]byte, []*corev3.HeaderValueOption, []string) {
	body = decodeBody(body, t.respHdr["content-encoding"])
	if t.status >= 400 {
		// LiteLLM's exception mapping: its error type, code and message prefix.
		return t.errorAnswer(translator.AsLiteLLM(t.tr.Error(t.status, t.respHdr, body), t.d.Provider), o)
	}
	return t.successAnswer(body, o)
}

// errorAnswer is the client's answer to a try that failed with e: a retry
// or fallback when the plan has one, else e as LiteLLM's router reports it.
func (t *try) errorAnswer(e *translator.Error, o *router.Outcome) ([]byte, []*corev3.HeaderValueOption, []string) {
	o.Class, o.RetryAfter = e.Class, e.RetryAfter
	if redirect := t.fallbackRedirect(e.Class); redirect != nil {
		return e.JSON(), redirect, nil
	}
	var set []*corev3.HeaderValueOption
	var remove []string
	if rs, rr, ok := t.retryMutation(e); ok {
		if next := t.rc.Attempts[t.index+1]; t.a.FallbackIndex == 0 && next.ModelGroup != t.a.ModelGroup {
			t.saveOriginalError(e)
		}
		return e.JSON(), append(set, rs...), append(remove, rr...)
	}
	if t.a.FallbackIndex > 0 {
		// Every fallback failed: the client gets the original group's
		// error, as LiteLLM raises it, with the fallback's appended.
		if orig := t.originalError(); orig != nil {
			orig.Message += ". Received Model Group=" + t.rc.ModelGroup + "\nAvailable Model Group Fallbacks=" + t.a.ModelGroup + "\nError doing the fallback: " + e.Message
			set = append(set, hdr(":status", strconv.Itoa(orig.Status)))
			return orig.JSON(), set, remove
		}
	}
	// LiteLLM's router names the group on the error that reaches the client.
	e.Message += ". Received Model Group=" + t.rc.ModelGroup + "\nAvailable Model Group Fallbacks=None"
	if e.Status != t.status {
		set = append(set, hdr(":status", strconv.Itoa(e.Status)))
	}
	return e.JSON(), set, remove
}

// successAnswer translates a success (2xx) body into the client's answer.
func (t *try) successAnswer(body []byte, o *router.Outcome) ([]byte, []*corev3.HeaderValueOption, []string) {
	now := time.Now()
	target := t.target
	if !t.pass {
		// The translators that write them (anthropic) leave stampCreated
		// and SetResponseModel nothing to rewrite (D107).
		target.Created, target.ResponseModel = now.Unix(), t.responseModel()
	}
	r, err := t.tr.Response(t.ep, body, target)
	if err != nil {
		e, ok := err.(*translator.Error)
		if !ok {
			e = translator.NewError(502, "api_error", "llmgate: cannot read the provider's response: "+err.Error(), "")
		}
		o.Class = e.Class
		return e.JSON(), nil, nil
	}
	if translator.IsRoute(t.ep) {
		r.Usage.Units = mergeUnits(r.Usage, t.units)
	}
	if t.byID {
		r.Usage = translator.Usage{} // reading a response costs nothing
	}
	if e := t.schemaFailure(r.Body); e != nil {
		// enable_json_schema_validation: LiteLLM raises inside the call,
		// so its router counts, retries and falls back as for a 500 (D148).
		o.Status = e.Status
		return t.errorAnswer(e, o)
	}
	o.Usage = r.Usage
	if !t.pass && !translator.IsRoute(t.ep) {
		r.Body = stampCreated(r.Body, now)
	}
	if !translator.IsRoute(t.ep) && !t.byID {
		r.Body = translator.SetResponseModel(r.Body, t.responseModel())
	}
	if r.FinishReason == "content_filter" {
		o.Class = translator.ErrContentPolicy
		if redirect := t.fallbackRedirect(translator.ErrContentPolicy); redirect != nil {
			return r.Body, redirect, nil
		}
	}
	var set []*corev3.HeaderValueOption
	// The answer is whole here: the try's duration so far is its duration,
	// kept in o so the header and the spend price the same duration
	// (per-second prices, D102).
	if !t.sent.IsZero() {
		o.Latency = time.Since(t.sent)
	}
	if cost, ok := t.st.Router.Cost(t.d, t.d.Provider, t.a.Model, r.Usage, o.Latency); ok && r.Usage.Priced() {
		set = append(set, hdr("x-litellm-response-cost", strconv.FormatFloat(cost, 'g', -1, 64)))
	}
	return r.Body, set, nil
}

func bodyReply(body []byte, set []*corev3.HeaderValueOption, remove []string) *extprocv3.ProcessingResponse {
	cr := &extprocv3.CommonResponse{BodyMutation: &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_Body{Body: body}}}
	if len(set) > 0 || len(remove) > 0 {
		cr.HeaderMutation = &extprocv3.HeaderMutation{SetHeaders: set, RemoveHeaders: remove}
	}
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseBody{ResponseBody: &extprocv3.BodyResponse{Response: cr}}}
}

// contextFromMetadata reads the RequestContext the request filter left in
// dynamic metadata (forwarded to the attempt filter by metadata_options).
func contextFromMetadata(msg *extprocv3.ProcessingRequest) string {
	ns := msg.GetMetadataContext().GetFilterMetadata()[contract.ContextMetadataNamespace]
	return ns.GetFields()["ctx"].GetStringValue()
}

// originalErrorTTL bounds how long the original group's error is kept for
// the fallbacks of one request.
const originalErrorTTL = 5 * time.Minute

func (t *try) originalErrorKey() string { return "llmgate:orig-error:" + t.rc.CallId }

// saveOriginalError keeps the requested group's last error for the end of
// the fallback chain (in the shared store: the next try may be served by
// another ext_proc replica).
func (t *try) saveOriginalError(e *translator.Error) {
	if t.rc.CallId == "" {
		return
	}
	b, err := json.Marshal(e)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = t.st.Router.Store().Set(ctx, t.originalErrorKey(), b, originalErrorTTL)
}

// originalError is the error saved by saveOriginalError, if any.
func (t *try) originalError() *translator.Error {
	if t.rc.CallId == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	b, ok, err := t.st.Router.Store().Get(ctx, t.originalErrorKey())
	if err != nil || !ok {
		return nil
	}
	var e translator.Error
	if json.Unmarshal(b, &e) != nil || e.Status == 0 {
		return nil
	}
	return &e
}

// maxDecodedBody bounds a decompressed provider body.
const maxDecodedBody = 64 << 20

// decodeBody undoes a gzip content-encoding (the attempt filter asks for
// identity, but a provider may compress anyway); other bodies are returned
// as they are.
func decodeBody(body []byte, encoding string) []byte {
	if !strings.EqualFold(strings.TrimSpace(encoding), "gzip") {
		return body
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return body
	}
	out, err := io.ReadAll(io.LimitReader(zr, maxDecodedBody))
	if err != nil {
		return body
	}
	return out
}

// stampCreated fills a zero "created" (translators have no clock; Anthropic
// and Bedrock send no timestamp) with the time the answer was translated.
func stampCreated(body []byte, now time.Time) []byte {
	if c := gjson.GetBytes(body, "created"); !c.Exists() || c.Int() != 0 {
		return body
	}
	if out, err := sjson.SetBytes(body, "created", now.Unix()); err == nil {
		return out
	}
	return body
}

// droppedAfterHeaders records a try whose connection dropped after the
// provider's response headers, before its answer was whole: a connection
// error (LiteLLM's APIConnectionError, which counts toward the cooldown), not
// the success its status says. Envoy retries it when no byte reached the
// client.
func droppedAfterHeaders(o *router.Outcome) {
	if o.Class == translator.ErrNone && o.Status < 400 {
		o.Status, o.Class = 0, translator.ErrInternal
	}
}
