package extproc

import (
	"bytes"
	"log/slog"
	"strings"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/outcome"
	"github.com/llmgate/llmgate/internal/store"
	"github.com/llmgate/llmgate/router"
	"github.com/llmgate/llmgate/translator"
	"github.com/llmgate/llmgate/xds"
)

// The request filter run inside Envoy (docs/architecture.md D53): llmgate's
// dynamic module (dynmod/) serves the common request with this very code, in
// Envoy's process, and hands every other request to the ext_proc request
// filter. What it serves it answers exactly as routeRequest does here,
// because it is routeRequest: the same plan (the router on the same
// config), the same context, metadata, headers, prepared body and error
// replies. What needs the gateway process it hands on: virtual keys not in
// the key table the gateway pushes (modulekeys.go, D57), fallback and health tickets, management, health and model routes,
// anything that reads or counts shared state (rpm/tpm, in-flight, usage- and
// latency-based strategies), LiteLLM's own body fields (mock_response,
// fallbacks, num_retries, metadata, …: the plain keys below only), wildcard
// groups, mock deployments, and groups with a deployment cooling down
// (the gateway pushes cooldowns as they start).

// ModuleConfig is what the gateway tells the module besides the config.
type ModuleConfig struct {
	// OffPathOutcomes is the gateway's Server.OffPathOutcomes (D44, D45).
	OffPathOutcomes bool `json:"off_path_outcomes"`
	// OutcomesActive: the gateway's outcome bus has a sink besides the
	// spend sink (the context then asks the attempt filter for usage).
	OutcomesActive bool `json:"outcomes_active"`
	// Cooling are the cooldowns in the gateway's store: deployment id →
	// end (unix nanoseconds).
	Cooling map[string]int64 `json:"cooling,omitempty"`
	// Off, when not empty, says why the module must hand every request on.
	// (A store in Redis is not a reason: the gateway brings the module the
	// cooldowns of every instance, D67.)
	Off string `json:"off,omitempty"`
	// Upstream: the module is also every try's upstream filter (D55).
	Upstream bool `json:"upstream,omitempty"`
	// Leases: the gateway leases rpm and sends counters (D67,
	// modulelimits.go): limited deployments and usage-based routing are
	// planned here once the module has them.
	Leases bool `json:"leases,omitempty"`
	// SpendRecords: the gateway takes compact spend records (virtual keys
	// are on): a keyed first-try success read by no sink but the spend
	// sink and the keyed ones is sent as one (alsspend.go, D145).
	SpendRecords bool `json:"spend_records,omitempty"`
	// CompactRecords: the gateway takes the compact records of observed
	// first-try successes, with their headers, and reports them as the join
	// would (alsspend.go, D177); a gateway before it sends false.
	CompactRecords bool `json:"compact_records,omitempty"`
	// Repins are the sessions' re-pins of
	// session_affinity_repin_on_failover in the gateway's table (D179).
	Repins map[string]router.AffinityPin `json:"repins,omitempty"`
}

// ModuleFilter is the request filter for the module: a Server on a State of
// the config with its own empty memory store. Safe for concurrent use.
type ModuleFilter struct {
	s       *Server
	st      *State
	cooling map[string]int64
	off     string
	plain   map[string]bool
	counted map[string]bool
	// keyRefusals: the module answers a virtual key's refusal itself (no
	// outcome sink besides spend wants to hear of it; modulekeys.go).
	keyRefusals bool
	// leases, limits, usage: limits and usage-based routing from the
	// gateway's leases (modulelimits.go, D67).
	leases *leaseStore
	limits *ModuleLimits
	usage  bool
	sinks  bool // mc.OutcomesActive
	// splice: no plain key is a LiteLLM-only field, so a plain body's
	// prepared form is the body with its model replaced (splicedBody).
	splice bool
	// noLogFields: llmgate.ctx without "model" and "path" (OmitLogFields)
	noLogFields bool
}

// plainKeys are the top-level body keys of the OpenAI API the module serves;
// any other key (LiteLLM's own fields, testing switches, client fallbacks
// and knobs, metadata, stream options, …) hands the request to ext_proc.
var plainKeys = []string{"model", "messages", "prompt", "input", "temperature", "top_p", "n", "max_tokens", "max_completion_tokens",
	"stop", "presence_penalty", "frequency_penalty", "logit_bias", "seed", "response_format", "tools", "tool_choice",
	"parallel_tool_calls", "logprobs", "top_logprobs", "encoding_format", "dimensions", "suffix", "echo", "best_of",
	"stream", "stream_options"}

// NewModuleFilter builds the module's filter for a config.
func NewModuleFilter(cfg *config.Config, version string, mc ModuleConfig, log *slog.Logger) *ModuleFilter {
	var ls *leaseStore
	var sto store.Store = store.NewMemory(time.Now)
	if mc.Leases {
		ls = &leaseStore{Memory: sto.(*store.Memory)}
		sto = ls
	}
	st := NewStateFromModel(cfg, moduleModel(cfg, mc), sto, version, log)
	if len(mc.Repins) > 0 {
		st.Router.Pins().AddAffinity(mc.Repins)
	}
	s := NewServer(st, log)
	s.OffPathOutcomes = mc.OffPathOutcomes
	s.ModuleUpstream = mc.Upstream
	s.spendRecords = mc.SpendRecords
	s.compactRecords = mc.CompactRecords
	if mc.Upstream {
		s.tryCtx = newTryContexts()
	}
	if mc.OutcomesActive {
		// The context asks for usage exactly when the gateway's bus would.
		s.Outcomes = outcome.NewBus()
		s.Outcomes.Register("module-mirror", 1, func(outcome.Try) {})
	}
	m := &ModuleFilter{s: s, st: st, cooling: mc.Cooling, off: mc.Off, plain: map[string]bool{}, leases: ls, sinks: mc.OutcomesActive}
	for _, k := range plainKeys {
		m.plain[k] = true
	}
	m.splice = true
	for _, k := range append(plainKeys[:len(plainKeys):len(plainKeys)], "user") {
		if translator.IsLiteLLMOnly(k) {
			m.splice = false // the translator would drop it
		}
	}
	if m.off == "" && cfg.General.StorePromptsInSpendLogs {
		m.off = "general_settings.store_prompts_in_spend_logs: the bodies are kept by the gateway (D117)"
	}
	if m.off == "" && (cfg.General.CompletionModel != "" || cfg.General.EmbeddingModel != "") {
		m.off = "general_settings.completion_model/embedding_model: the gateway sets the model"
	}
	if m.off == "" && len(cfg.Guardrails) > 0 {
		m.off = "guardrails: the gateway calls the guardrails (D139)"
	}
	if m.off == "" && len(cfg.VectorStores) > 0 {
		m.off = "vector_store_registry: the gateway searches the vector stores a chat request names (D150)"
	}
	if m.off == "" && cfg.LiteLLM.EnableJSONSchemaValidation {
		m.off = "litellm_settings.enable_json_schema_validation: the gateway checks the answers (D148)"
	}
	if m.off == "" && cfg.LiteLLM.Cache {
		m.off = "litellm_settings.cache: the response cache is read in the gateway (D111)"
	}
	rs := st.Router.Model().Routing
	if m.off == "" && rs.Strategy != "" && rs.Strategy != router.SimpleShuffle && !(mc.Leases && leaseStrategy(rs.Strategy, mc.Upstream)) {
		m.off = "routing_strategy " + rs.Strategy + " reads shared state"
	}
	m.usage = rs.Strategy == router.UsageBased || rs.Strategy == router.UsageBasedV2
	// Deployments whose plan depends on counters in the gateway's store
	// (rpm, tpm, in-flight limits) or that never call a provider (mocks,
	// answered by the gateway) are not planned here.
	m.counted = map[string]bool{}
	for _, d := range st.Router.Model().Deployments {
		if d.Mock() || d.Limits.Counted() || d.Limits.MaxParallel > 0 {
			m.counted[d.ID] = true
		}
	}
	return m
}

// ModuleOff says why the module must hand every request to the ext_proc
// filter because of what this gateway process watches per request ("":
// nothing): the llm_requests_hanging alert sees a request begin in the
// request filter (hanging.go).
func (s *Server) ModuleOff() string {
	if s.hangingWatch.Load() != nil {
		return "alerting watches hanging requests"
	}
	return ""
}

// OmitLogFields, when omit, leaves llmgate.ctx's "model" and "path" out of
// the metadata of the requests the module serves: the listener's access log
// is their only reader, and there is none (D105).
func (m *ModuleFilter) OmitLogFields(omit bool) { m.noLogFields = omit }

// Off says why the module hands every request on ("" when it serves what it can).
func (m *ModuleFilter) Off() string { return m.off }

// MaxBody is the request body bound (general_settings.max_request_size_mb).
func (m *ModuleFilter) MaxBody() int { return m.st.maxBody }

// ModuleAnswer is the module's answer to a request it serves: a reply, or
// the request's changes before it goes on to the router.
type ModuleAnswer struct {
	// Reply, when set, answers the client (errors, as ext_proc's ImmediateResponse).
	Reply *ModuleReply
	// Set and Remove are the request header changes, in order.
	Set    [][2]string
	Remove []string
	// Body replaces the request body when not nil.
	Body []byte
	// Metadata are serialized google.protobuf.Struct values by namespace.
	Metadata [][2][]byte
	// Resp is the fast path's answer plan, kept by the module for the
	// response (D54) instead of written as llmgate.fp; nil when not fast.
	Resp *RespPlan
	// Ctx is llmgate.ctx's "ctx" as Metadata writes it, kept by the module
	// for the outcome record (D105: not read back from Envoy).
	Ctx string
}

// ModuleReply is a reply to the client.
type ModuleReply struct {
	Status  int
	Headers [][2]string
	Body    []byte
	Details string
}

// HandOn reads the request headers: handOn true sends the request to the
// ext_proc filter; a reply answers it at once (no key: 401, before the body
// is read, as ext_proc does); otherwise the module reads the body and calls
// Serve. h has lower-case names (the last value of a repeated header), count
// and size are the header count and bytes, contentLength -1 when absent.
func (m *ModuleFilter) HandOn(h map[string]string, count, size int, contentLength int64) (handOn bool, reply *ModuleAnswer) {
	handOn, reply, _ = m.handOn(h, count, size, contentLength, false)
	return handOn, reply
}

// handOn is HandOn; slots: take the key's parallel slots (HandOnSlots).
func (m *ModuleFilter) handOn(h map[string]string, count, size int, contentLength int64, slots bool) (handOn bool, reply *ModuleAnswer, ks KeySlot) {
	if m.off != "" || h[":method"] != "POST" || count > xds.ClientMaxHeaders || size > xds.ClientMaxHeaderBytes {
		return true, nil, ks
	}
	if rt := classify("POST", h[":path"]); rt.kind != routeLLM || rt.endpoint >= translator.Moderations || rt.pathModel != "" || strings.IndexByte(h[":path"], '?') >= 0 {
		// (The routes after /v1/messages are served by ext_proc, D130, D137.)
		return true, nil, ks
	}
	if h[contract.FallbackHeader] != "" {
		return true, nil, ks
	}
	id, e := m.st.authenticate(h, true)
	if e != nil {
		if m.st.presentedKey(h) != "" {
			// A key neither the master key nor in the module's key table
			// may be a virtual key: the gateway's key cache decides.
			return true, nil, ks
		}
		a := replyAnswer(errorReply(e, nil))
		return false, &a, ks
	}
	if slots && id.token != "" {
		ks = m.takeKeySlots(id.token, h) // (modulekeys_slots.go, D117)
	}
	if !id.master && id.token == "" || contentLength <= 0 || contentLength > int64(m.st.maxBody) {
		// Unsized (chunked) or over the bound: ext_proc bounds it as it reads.
		return true, nil, ks
	}
	ks.Auth = Auth{id: id, ok: true} // (for ServeAuth, D135)
	return false, nil, ks
}

// Serve answers a request whose headers HandOn kept, with its whole body;
// ok false hands it to the ext_proc filter unchanged.
func (m *ModuleFilter) Serve(h map[string]string, body []byte, start time.Time) (_ ModuleAnswer, served bool) {
	return m.ServeAuth(h, body, start, Auth{})
}

// ServeAuth is Serve with the caller HandOnSlots found at the headers
// (KeySlot.Auth; the zero Auth: authenticated here).
func (m *ModuleFilter) ServeAuth(h map[string]string, body []byte, start time.Time, a Auth) (_ ModuleAnswer, served bool) {
	st := m.st
	var mod moduleRoute
	defer func() {
		if !served && len(mod.leased) > 0 {
			m.refundKeyLeases(mod.leased) // ext_proc counts it (D83)
		}
	}()
	rt := classify("POST", h[":path"])
	id := a.id
	if !a.ok {
		var e *translator.Error
		if id, e = st.authenticate(h, true); e != nil {
			return ModuleAnswer{}, false
		}
	}
	if !id.master && id.token == "" {
		return ModuleAnswer{}, false
	}
	model, user, span, ok := m.plainBody(body)
	if !ok || user != "" && !st.keys.EndUserServable(user) {
		return ModuleAnswer{}, false
	}
	if st.Router.Model().Routing.PromptCaching && bytes.Contains(body, cacheControlMark) {
		// A cacheable prefix: its pin is in the gateway's table (D179).
		return ModuleAnswer{}, false
	}
	if id.token != "" && st.Router.Model().Routing.TagFiltering {
		// Tag routing reads the key's and team's tags, which the key
		// table does not carry (D89): ext_proc plans it.
		return ModuleAnswer{}, false
	}
	if id.token != "" {
		model = st.keys.Alias(id.token, model) // the key's aliases, as routeRequest
	}
	res, err := st.Router.Resolve(model)
	if err != nil || res.Wildcard {
		return ModuleAnswer{}, false
	}
	nowT := time.Now()
	now := nowT.UnixNano()
	budgets := st.Router.Model().Routing.Budgets
	servable := func(g string) bool {
		gr, err := st.Router.Resolve(g)
		if err != nil || gr.Wildcard {
			return false
		}
		if budgets {
			if mg, ok := st.Router.Model().Group(gr.Group); ok && mg.Budgeted {
				return false // the spends are the gateway's (D89): ext_proc plans it
			}
		}
		for _, d := range st.Router.GroupDeployments(gr.Group) {
			if m.cooling[d.ID] > now || m.limitBlocked(d.ID, nowT) {
				return false
			}
		}
		return true
	}
	if !servable(res.Group) {
		return ModuleAnswer{}, false
	}
	for _, g := range st.Router.FallbackGroups(res.Group, router.GeneralFallbacks) {
		if !servable(g) {
			return ModuleAnswer{}, false
		}
	}
	if m.splice {
		mod.model = span // prepareBody splices the deployment's model there
	}
	mod.valid = true // plainBody checked the body's JSON (readFields need not, D105)
	resp, te := m.s.routeRequestFor(st, rt, h, body, start, nil, id, &mod)
	if te == errKeyHandOn {
		return ModuleAnswer{}, false
	}
	if te != nil {
		if m.limits != nil && te.Status == 429 && m.sinks {
			return ModuleAnswer{}, false // ext_proc refuses it and tells the sinks
		}
		if (id.token != "" || user != "") && !m.keyRefusals {
			return ModuleAnswer{}, false // ext_proc refuses it and tells the sinks
		}
		return replyAnswer(errorReply(te, map[string]string{"x-litellm-call-id": h["x-request-id"]})), true
	}
	if resp.GetImmediateResponse() != nil {
		return replyAnswer(resp), true
	}
	if resp != nil || mod.routed == nil {
		return ModuleAnswer{}, false // (a mock reply: never planned here)
	}
	mod.routed.noLogFields = m.noLogFields // (OmitLogFields, D105)
	out := mod.routed.moduleAnswer(st, len(body))
	out.Resp = mod.resp
	if !m.leaseFirst(&out, mod.routed) {
		return ModuleAnswer{}, false
	}
	return out, true
}

// plainBody reads the model (and the customer, `user`: plain only with the
// key table, modulekeys.go) of a body whose top-level keys are all plain,
// none repeated or escaped, the two values plain strings; ok false otherwise.
// span is where the model's value (quotes included) is in body.
func (m *ModuleFilter) plainBody(body []byte) (model, user string, span bodySpan, ok bool) {
	var bad bool
	// The keys seen so far: a body of plain keys, none repeated, has
	// fewer than len(plainKeys) of them.
	var seen [32][]byte
	n := 0
	ok = scanTopLevel(body, func(key []byte, escaped bool, value []byte) bool {
		if escaped || n == len(seen) || !m.plain[string(key)] {
			bad = true
			return false
		}
		for _, k := range seen[:n] {
			if bytes.Equal(k, key) {
				bad = true
				return false
			}
		}
		seen[n] = key
		n++
		if k := string(key); k == "model" || k == "user" {
			if len(value) < 2 || value[0] != '"' || bytes.IndexByte(value[1:len(value)-1], '\\') >= 0 {
				bad = true
			} else if k == "model" {
				model = string(value[1 : len(value)-1])
				// (value is body[at:at+len(value)]: its offset from the caps)
				span.at = cap(body) - cap(value)
				span.end = span.at + len(value)
			} else {
				user = string(value[1 : len(value)-1])
			}
		}
		return !bad
	})
	return model, user, span, ok && !bad && model != ""
}

// bodySpan is where a value is in a request body: body[at:end] (end 0: not
// known).
type bodySpan struct{ at, end int }

// splicedBody is prepareBody's answer for a body plainBody read, whose model
// value is at span (D93): the body with that value replaced by the
// deployment's model, byte for byte what translator.PassThroughBody writes
// for it — which sets the model where it is (the body has it once) and
// drops nothing, as no plain key is a LiteLLM-only field (the module does not
// splice otherwise: NewModuleFilter). Only for what needs no other change:
// no stream (the usage chunk is asked for in the body), no defaults or
// dropped params, a model that JSON writes as it is. ok false: prepare the
// body as before.
func splicedBody(body []byte, span bodySpan, model string) (_ []byte, ok bool) {
	if span.end <= span.at || span.end > len(body) || body[span.at] != '"' || body[span.end-1] != '"' {
		return nil, false
	}
	for i := 0; i < len(model); i++ {
		if c := model[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return nil, false // JSON escapes it: the translator's path
		}
	}
	out := make([]byte, 0, len(body)-(span.end-span.at)+len(model)+2)
	out = append(out, body[:span.at]...)
	out = append(out, '"')
	out = append(out, model...)
	out = append(out, '"')
	return append(out, body[span.end:]...), true
}

func replyAnswer(resp *extprocv3.ProcessingResponse) ModuleAnswer {
	ir := resp.GetImmediateResponse()
	r := &ModuleReply{Status: int(ir.GetStatus().GetCode()), Body: ir.GetBody(), Details: ir.GetDetails()}
	for _, o := range ir.GetHeaders().GetSetHeaders() {
		v := o.GetHeader().GetValue()
		if v == "" {
			v = string(o.GetHeader().GetRawValue())
		}
		r.Headers = append(r.Headers, [2]string{o.GetHeader().GetKey(), v})
	}
	return ModuleAnswer{Reply: r}
}

// scanTopLevel calls fn with every key of the top-level JSON object of a
// valid body (its raw bytes without quotes, whether it has escapes) and the
// raw value; false when the body is not a valid JSON object or fn says stop.
func scanTopLevel(b []byte, fn func(key []byte, escaped bool, value []byte) bool) bool {
	return scanTopLevelOf(b, false, fn)
}

// scanTopLevelOf is scanTopLevel; valid says b is known to be valid JSON
// (json.Valid said so already), so it is not checked again. Otherwise each
// top-level value is checked as validJSON checks it while it is skipped,
// one pass instead of a check of the whole body and a scan (D175); fn may
// then have seen keys before a later part proves the body invalid (the
// answer is still false, and no caller keeps what fn read then).
func scanTopLevelOf(b []byte, valid bool, fn func(key []byte, escaped bool, value []byte) bool) bool {
	v := jsonValidator{b: b}
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return valid || skipWS(b, i+1) == len(b)
	}
	for i < len(b) {
		if b[i] != '"' {
			return false
		}
		ks, ke, esc, next := scanString(b, i)
		if next < 0 {
			return false
		}
		if !valid {
			if n, ok := v.str(i); !ok || n != next {
				return false
			}
		}
		i = skipWS(b, next)
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i = skipWS(b, i+1)
		var end int
		if valid {
			end = skipValue(b, i)
		} else if n, ok := v.value(i, 1); ok {
			end = n
		} else {
			end = -1
		}
		if end < 0 {
			return false
		}
		if !fn(b[ks:ke], esc, b[i:end]) {
			return false
		}
		i = skipWS(b, end)
		if i >= len(b) {
			return false
		}
		if b[i] == '}' {
			return valid || skipWS(b, i+1) == len(b)
		}
		if b[i] != ',' {
			return false
		}
		i = skipWS(b, i+1)
	}
	return false
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	return i
}

// scanString scans the string at b[i] == '"': its content's bounds, whether
// it has escapes, and the index after the closing quote (-1: unterminated).
func scanString(b []byte, i int) (start, end int, escaped bool, next int) {
	// (strStop, not strEnd's IndexByte: a request's strings are short
	// keys and roles, where the call costs more than it saves, D175)
	start = i + 1
	for j := start; ; j++ {
		if j = strStop(b, j); j >= len(b) {
			return 0, 0, false, -1
		}
		switch b[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			return start, j, escaped, j + 1
		}
	}
}

// skipValue returns the index after the JSON value at b[i] (-1: malformed).
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		_, _, _, n := scanString(b, i)
		return n
	case '{', '[':
		depth := 0
		for j := i; ; j++ {
			if j = nextStructural(b, j); j < 0 {
				return -1
			}
			switch b[j] {
			case '"':
				_, _, _, n := scanString(b, j)
				if n < 0 {
					return -1
				}
				j = n - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\n' && b[j] != '\t' && b[j] != '\r' {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

// removeTransferEncoding is the Remove of a module answer whose request
// filter removed no header of its own.
var removeTransferEncoding = []string{"transfer-encoding"}
