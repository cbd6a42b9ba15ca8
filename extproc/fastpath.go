package extproc

import (
	"strings"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/llmgate/llmgate/internal/upstream"
	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
	"github.com/llmgate/llmgate/translator"
	"github.com/llmgate/llmgate/xds"
)

// The request filter's side of the fast path (docs/architecture.md D45).
// A request is tagged fast (llmgate.ctx "fast": true) when every try of its
// plan can run without the attempt filter unless it answers 4xx/5xx:
//
//   - the request filter prepared the body (D12): every attempt is an alike
//     OpenAI-compatible or Azure deployment, so no try translates;
//   - every attempt's deployment has a fast-path cluster (xds.FastPath),
//     whose Lua filter sets the try's path and host; in a config with more
//     than xds.FastPathLuaMax of them the clusters have no Lua filter (one
//     Lua VM per cluster and worker) and only a plan of one attempt is fast,
//     its path and host set here;
//   - nothing needs to see a successful try in-process (a stream's
//     per-chunk model restamp and usage chunk of D16 are the listener Lua's,
//     D49): no usage tracking (latency routing, outcome sinks, spend) unless the access-log
//     service reports successes with the usage the Lua filter reads
//     (OffPathOutcomes), no rpm/tpm/in-flight counting (Begin/End per try), no content-policy fallbacks (a success may
//     trigger them), no per-key parallel limit (released by the last try);
//   - client headers are forwarded the same way for every group
//     (model_group_settings.forward_client_headers_to_llm_api unset), so the
//     request filter removes them once (D23);
//   - no attempt follows an attempt on the same deployment (the attempt
//     filter's LiteLLM backoff after a reset, D18, needs the request phase);
//   - until the access-log service reports tries without a response
//     (OffPathOutcomes), no deployment of the plan can cool down: a
//     connection failure on the fast path is seen by no filter.

// fastTag decides whether a request takes the fast path and, if so, adds
// what it needs to the request filter's answer: the endpoint, the client headers LiteLLM would not forward removed, and the per-attempt
// x-litellm-* headers and restamp model for the listener's Lua filter.
// keyHeaders (the module's only) are the virtual key's headers, common to
// every entry of the answer plan.
func (s *Server) fastTag(st *State, rc *llmgatev1.RequestContext, h map[string]string, r *routed, mod *moduleRoute, keyHeaders [][2]string) {
	translated, ok := s.fastCheck(st, rc)
	var entries []fastEntry
	var cached *RespPlan
	if ok && mod != nil {
		// The module's answer plan by plan order, built once (D124).
		cached = st.respPlans.plan(rc, translated, keyHeaders)
	}
	if ok && cached == nil {
		entries, ok = s.fastEntries(st, rc, translated)
	}
	r.fast = ok
	// A try's deployment on a host's cluster (D62); written for every plan
	// in module-upstream mode: the module counts every try (D77).
	r.deps = s.ModuleUpstream
	if !ok {
		return
	}
	r.ep = xds.EndpointName(endpointFromProto(rc.Endpoint))
	// The listener's Lua rewrites a stream event by event; the clusters'
	// Lua does not hold it.
	r.stream = rc.Stream
	switch {
	case mod != nil && cached != nil:
		mod.resp = cached
		mod.resp.Quiet = s.quietPlan(st, rc)
		mod.resp.SpendOnly = !mod.resp.Quiet && s.spendPlan(st, rc)
		mod.resp.Observed = !mod.resp.Quiet && !mod.resp.SpendOnly && s.observedPlan(rc)
	case mod != nil:
		// The module keeps the answer plan in its memory (D54), built
		// without the Struct (D60), and a copy by plan order (D124).
		mod.resp = respPlanOfEntries(entries, keyHeaders, rc.StartUnixNano, rc.Stream, rc.IncludeUsage)
		st.respPlans.put(rc, translated, keyHeaders, mod.resp)
		mod.resp.Quiet = s.quietPlan(st, rc)
		mod.resp.SpendOnly = !mod.resp.Quiet && s.spendPlan(st, rc)
		mod.resp.Observed = !mod.resp.Quiet && !mod.resp.SpendOnly && s.observedPlan(rc)
	case s.ModuleResponses:
		// Read by the module at the response (D54).
		r.fp = moduleAnswerStruct(respPlanOfEntries(entries, nil, rc.StartUnixNano, rc.Stream, rc.IncludeUsage))
	default:
		answer := fastAnswer(entries, rc.StartUnixNano)
		if rc.Stream {
			answer.Fields["st"] = structpb.NewBoolValue(true)
			if rc.IncludeUsage {
				answer.Fields["u"] = structpb.NewBoolValue(true)
			}
		}
		r.fp = answer
	}
	if !s.pathsPerTry(st) {
		// The one try's path and host, set here (no Lua filter on the cluster).
		d, _ := st.Router.Deployment(rc.Attempts[0].DeploymentId)
		base, _ := upstream.For(d)
		r.set = append(r.set, [2]string{":path", translator.PassThroughPath(endpointFromProto(rc.Endpoint), translator.Target{
			Provider: d.Provider, Model: d.Model, APIBase: upstream.WithoutQuery(upstream.APIBase(d)), APIVersion: d.Params.APIVersion,
		})}, [2]string{":authority", base.Authority()})
	}
	group := rc.Attempts[0].ModelGroup
	r.remove = make([]string, 0, len(h))
	for k := range h {
		if strings.HasPrefix(k, ":") || requiredHeaders[k] || r.hasSet(k) || st.forwardable(k, group) {
			continue
		}
		r.remove = append(r.remove, k)
	}
}

// fastEntry is one plan entry of the fast path's answer: its x-litellm-*
// headers, the model the answer is restamped with, its prices.
type fastEntry struct {
	headers [][2]string
	model   string
	cost    bool
	in, out float64
	// cr: the price of a prompt token read from the provider's prompt
	// cache (prompt_tokens_details.cached_tokens, D146).
	cr float64
}

// fastPlan checks the conditions above; it returns one entry per attempt
// for the listener's Lua filter.
func (s *Server) fastPlan(st *State, rc *llmgatev1.RequestContext) ([]fastEntry, bool) {
	translated, ok := s.fastCheck(st, rc)
	if !ok {
		return nil, false
	}
	return s.fastEntries(st, rc, translated)
}

// fastCheck is fastPlan's conditions, checked for every request (the
// cooldowns change); translated: every attempt is translated by the module.
func (s *Server) fastCheck(st *State, rc *llmgatev1.RequestContext) (translated, ok bool) {
	if !s.pathsPerTry(st) && len(rc.Attempts) != 1 {
		// Without the clusters' Lua filter nothing sets a try's path, nor
		// holds a success until its body is whole so that a reset can be
		// retried: only a single try is fast.
		return false, false
	}
	// Or every attempt is translated by the module (D61, moduletranslate.go).
	translated = s.moduleTranslatedPlan(st, rc)
	if !rc.BodyPrepared && !translated || (rc.TrackUsage && !s.OffPathOutcomes) || rc.TrackEnd || rc.PolicyFallbacks || rc.KeyParallel ||
		st.countCalls || st.Cfg.General.StorePromptsInSpendLogs || st.Cfg.LiteLLM.EnableJSONSchemaValidation || len(st.Cfg.LiteLLM.ForwardHeadersGroups) > 0 || len(rc.Attempts) == 0 {
		return translated, false
	}
	for i, a := range rc.Attempts {
		d, ok := st.Router.Deployment(a.DeploymentId)
		if !ok {
			return translated, false
		}
		fd := st.fastDeps.get(st, d, a.Model)
		if !fd.ok || !translated && !fd.fastPath {
			return translated, false
		}
		if i > 0 && rc.Attempts[i-1].DeploymentId == a.DeploymentId {
			return translated, false
		}
		if !s.OffPathOutcomes && st.Router.MayCoolDown(d) {
			return translated, false
		}
	}
	return translated, true
}

// fastEntries is fastPlan's entries, for a plan fastCheck passed.
func (s *Server) fastEntries(st *State, rc *llmgatev1.RequestContext, translated bool) ([]fastEntry, bool) {
	// Every entry's headers in one block: the try's x-litellm-* headers
	// (clientHeaderPairs, without the duration the response side measures),
	// then the context's response headers (which win over them).
	per := numClientHeaders + len(rc.ResponseHeaders)
	block := make([][2]string, 0, per*len(rc.Attempts))
	overhead := overheadHeader(rc)
	// The context's response headers in one order for every entry, so that
	// respPlanOfEntries finds the common ones by position (commonMask): a
	// map ranged per entry gave each its own order, and a config with
	// several (the x-ratelimit-* headers of rpm/tpm limits) took the search
	// by name, a quarter of its Serve (D107).
	var rhBuf [16][2]string
	rh := rhBuf[:0]
	for k, v := range rc.ResponseHeaders {
		rh = append(rh, [2]string{k, v})
	}
	entries := make([]fastEntry, 0, len(rc.Attempts))
	for i, a := range rc.Attempts {
		d, ok := st.Router.Deployment(a.DeploymentId)
		if !ok {
			return nil, false
		}
		fd := st.fastDeps.get(st, d, a.Model)
		if !fd.ok || !translated && !fd.fastPath {
			return nil, false
		}
		t := &try{st: st, rc: rc, d: d, a: a, index: i}
		at := len(block)
		block = t.appendClientHeaders(block, fd.apiBase, overhead)
	next:
		for _, kv := range rh {
			for j := at; j < len(block); j++ {
				if block[j][0] == kv[0] {
					block[j][1] = kv[1]
					continue next
				}
			}
			block = append(block, kv)
		}
		e := fastEntry{headers: block[at:len(block):len(block)], model: t.responseModel()}
		if fd.cost && !translated { // a translated answer's cost is the module's (finalBody)
			e.cost, e.in, e.out, e.cr = true, fd.in, fd.out, fd.cr
		}
		entries = append(entries, e)
	}
	return entries, true
}

// fastAnswer is the llmgate.fp namespace: the headers every entry shares
// once ("h"), per entry the headers that differ, the model and prices
// ("a"), the request's start in ms ("s").
func fastAnswer(entries []fastEntry, startUnixNano int64) *structpb.Struct {
	common := map[string]*structpb.Value{}
	for _, kv := range entries[0].headers {
		if commonHeader(entries, kv[0], kv[1]) {
			common[kv[0]] = structpb.NewStringValue(kv[1])
		}
	}
	list := make([]*structpb.Value, 0, len(entries))
	for _, e := range entries {
		f := map[string]*structpb.Value{"m": structpb.NewStringValue(e.model)}
		var own map[string]*structpb.Value
		for _, kv := range e.headers {
			if _, ok := common[kv[0]]; ok {
				continue
			}
			if own == nil {
				own = map[string]*structpb.Value{}
			}
			own[kv[0]] = structpb.NewStringValue(kv[1])
		}
		if own != nil {
			f["h"] = structpb.NewStructValue(&structpb.Struct{Fields: own})
		}
		if e.cost {
			f["c"], f["ci"], f["co"] = structpb.NewBoolValue(true), structpb.NewNumberValue(e.in), structpb.NewNumberValue(e.out)
			f["cr"] = structpb.NewNumberValue(e.cr)
		}
		list = append(list, structpb.NewStructValue(&structpb.Struct{Fields: f}))
	}
	return &structpb.Struct{Fields: map[string]*structpb.Value{
		"h": structpb.NewStructValue(&structpb.Struct{Fields: common}),
		"a": structpb.NewListValue(&structpb.ListValue{Values: list}),
		"s": structpb.NewNumberValue(float64(startUnixNano / 1e6)),
	}}
}

// attemptIndex is the try index of a response-only attempt filter stream:
// Envoy's attribute upstream.request_attempt_count (1 for the first try).
func attemptIndex(msg *extprocv3.ProcessingRequest) (int, bool) {
	attrs := msg.GetAttributes()["envoy.filters.http.ext_proc"].GetFields()
	v, ok := attrs["upstream.request_attempt_count"]
	if !ok {
		return 0, false
	}
	n := int(v.GetNumberValue())
	if n <= 0 {
		return 0, false
	}
	return n - 1, true
}
