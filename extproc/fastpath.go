package extproc

import (
	"strings"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/llmgate/llmgate/internal/contract"
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
func (s *Server) fastTag(st *State, rc *llmgatev1.RequestContext, h map[string]string, md *structpb.Struct, mut *extprocv3.HeaderMutation, mod *moduleRoute) {
	ctxFields := md.Fields[contract.ContextMetadataNamespace].GetStructValue().GetFields()
	entries, ok := s.fastPlan(st, rc)
	ctxFields[xds.FastPathMetadataKey] = structpb.NewBoolValue(ok)
	if !ok {
		return
	}
	// The fast path's own namespaces (small: Lua converts a namespace
	// whole into a table each time it reads it): the endpoint for the
	// clusters' per-try Lua, the answer's headers and model for the
	// listener's.
	fast := map[string]*structpb.Value{"ep": structpb.NewStringValue(xds.EndpointName(endpointFromProto(rc.Endpoint)))}
	if s.ModuleUpstream {
		fast["d"] = structpb.NewStringValue(planDeployments(rc)) // a try's deployment on a host's cluster (D62)
	}
	if rc.Stream {
		// The listener's Lua rewrites the stream event by event; the
		// clusters' Lua does not hold it.
		fast["st"] = structpb.NewBoolValue(true)
	}
	md.Fields[contract.FastMetadataNamespace] = structpb.NewStructValue(&structpb.Struct{Fields: fast})
	switch {
	case mod != nil:
		// The module keeps the answer plan in its memory (D54), built
		// without the Struct (D60).
		mod.resp = respPlanOfEntries(entries, rc.StartUnixNano, rc.Stream, rc.IncludeUsage)
	case s.ModuleResponses:
		// Read by the module at the response (D54).
		md.Fields[contract.FastAnswerMetadataNamespace] = structpb.NewStructValue(moduleAnswerStruct(respPlanOfEntries(entries, rc.StartUnixNano, rc.Stream, rc.IncludeUsage)))
	default:
		answer := fastAnswer(entries, rc.StartUnixNano)
		if rc.Stream {
			answer.Fields["st"] = structpb.NewBoolValue(true)
			if rc.IncludeUsage {
				answer.Fields["u"] = structpb.NewBoolValue(true)
			}
		}
		md.Fields[contract.FastAnswerMetadataNamespace] = structpb.NewStructValue(answer)
	}
	mine := map[string]bool{}
	if !s.pathsPerTry(st) {
		// The one try's path and host, set here (no Lua filter on the cluster).
		d, _ := st.Router.Deployment(rc.Attempts[0].DeploymentId)
		base, _ := upstream.For(d)
		mut.SetHeaders = append(mut.SetHeaders, hdr(":path", translator.PassThroughPath(endpointFromProto(rc.Endpoint), translator.Target{
			Provider: d.Provider, Model: d.Model, APIBase: upstream.WithoutQuery(upstream.APIBase(d)), APIVersion: d.Params.APIVersion,
		})), hdr(":authority", base.Authority()))
	}
	for _, o := range mut.SetHeaders {
		mine[strings.ToLower(o.GetHeader().GetKey())] = true
	}
	group := rc.Attempts[0].ModelGroup
	for k := range h {
		if strings.HasPrefix(k, ":") || requiredHeaders[k] || mine[k] || st.forwardable(k, group) {
			continue
		}
		mut.RemoveHeaders = append(mut.RemoveHeaders, k)
	}
}

// fastEntry is one plan entry of the fast path's answer: its x-litellm-*
// headers, the model the answer is restamped with, its prices.
type fastEntry struct {
	headers map[string]string
	model   string
	cost    bool
	in, out float64
}

// fastPlan checks the conditions above; it returns one entry per attempt
// for the listener's Lua filter.
func (s *Server) fastPlan(st *State, rc *llmgatev1.RequestContext) ([]fastEntry, bool) {
	if !s.pathsPerTry(st) && len(rc.Attempts) != 1 {
		// Without the clusters' Lua filter nothing sets a try's path, nor
		// holds a success until its body is whole so that a reset can be
		// retried: only a single try is fast.
		return nil, false
	}
	// Or every attempt is translated by the module (D61, moduletranslate.go).
	translated := s.moduleTranslatedPlan(st, rc)
	if !rc.BodyPrepared && !translated || (rc.TrackUsage && !s.OffPathOutcomes) || rc.TrackEnd || rc.PolicyFallbacks || rc.KeyParallel ||
		st.countCalls || len(st.Cfg.LiteLLM.ForwardHeadersGroups) > 0 || len(rc.Attempts) == 0 {
		return nil, false
	}
	entries := make([]fastEntry, 0, len(rc.Attempts))
	for i, a := range rc.Attempts {
		d, ok := st.Router.Deployment(a.DeploymentId)
		if !ok || !translated && !xds.FastPath(st.compiled(a.DeploymentId)) {
			return nil, false
		}
		if i > 0 && rc.Attempts[i-1].DeploymentId == a.DeploymentId {
			return nil, false
		}
		if !s.OffPathOutcomes && st.Router.MayCoolDown(d) {
			return nil, false
		}
		base, err := upstream.For(d)
		if err != nil {
			return nil, false
		}
		t := &try{st: st, rc: rc, d: d, a: a, index: i, base: base}
		hs := t.clientHeaders()
		delete(hs, "x-litellm-response-duration-ms") // the Lua filter measures it at the response
		for k, v := range rc.ResponseHeaders {
			hs[k] = v
		}
		e := fastEntry{headers: hs, model: t.responseModel()}
		ci, cok := st.Router.Cost(d, d.Provider, a.Model, translator.Usage{PromptTokens: 1})
		co, _ := st.Router.Cost(d, d.Provider, a.Model, translator.Usage{CompletionTokens: 1})
		if cok && !translated { // a translated answer's cost is the module's (finalBody)
			e.cost, e.in, e.out = true, ci, co
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
	for k, v := range entries[0].headers {
		same := true
		for _, e := range entries[1:] {
			if w, ok := e.headers[k]; !ok || w != v {
				same = false
				break
			}
		}
		if same {
			common[k] = structpb.NewStringValue(v)
		}
	}
	list := make([]*structpb.Value, 0, len(entries))
	for _, e := range entries {
		f := map[string]*structpb.Value{"m": structpb.NewStringValue(e.model)}
		var own map[string]*structpb.Value
		for k, v := range e.headers {
			if _, ok := common[k]; ok {
				continue
			}
			if own == nil {
				own = map[string]*structpb.Value{}
			}
			own[k] = structpb.NewStringValue(v)
		}
		if own != nil {
			f["h"] = structpb.NewStructValue(&structpb.Struct{Fields: own})
		}
		if e.cost {
			f["c"], f["ci"], f["co"] = structpb.NewBoolValue(true), structpb.NewNumberValue(e.in), structpb.NewNumberValue(e.out)
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
