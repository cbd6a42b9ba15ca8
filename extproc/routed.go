package extproc

import (
	"strconv"
	"strings"
	"sync"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/upstream"
	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
	"github.com/llmgate/llmgate/router"
	"github.com/llmgate/llmgate/translator"
	"github.com/llmgate/llmgate/xds"
)

// routed is the request filter's answer to a request it planned, before it
// is written for its reader (D65): as an ext_proc ProcessingResponse
// (processingResponse: the metadata Structs and header protos), or for the
// module straight as the bytes Envoy reads (moduleAnswer: protowire, no
// proto message built only to be re-encoded).
type routed struct {
	// set are the request headers set, in order (content-length of a
	// prepared body not among them); remove the client headers removed.
	set    [][2]string
	remove []string
	// body is the prepared body (nil: the client's goes on).
	body []byte
	// plan and ctx (the encoded context) make llmgate.plan and llmgate.ctx;
	// group, model and path are llmgate.ctx's own keys for Envoy's replies
	// and the access log; spacing the module's retry spacing (D59).
	plan               []*llmgatev1.Attempt
	ctx                string
	group, model, path string
	spacing            *spacingPlan
	// fast: the request takes the fast path (llmgate.ctx "fast"); then
	// the fast fields are ep (the endpoint), d (the plan's deployments, in
	// module-upstream mode: deps) and st (stream) — in llmgate.ctx in
	// module-upstream mode (D70), else in llmgate.fast.
	fast   bool
	ep     string
	deps   bool
	stream bool
	// noLogFields: model and path left out of the module's metadata (no
	// access log reads them: ModuleFilter.OmitLogFields, D105). (Beside
	// the other bools: the struct one size class smaller, D156.)
	noLogFields bool
	// fp is llmgate.fp for the ext_proc filter's readers (nil for the module).
	fp *structpb.Struct
	// cache is a response cache miss's decision for the attempt filter
	// (llmgate.ctx "cache", respcache.go; "": none).
	cache string
	// client: the request carries its own credentials; every try goes to
	// client.cluster at client.dst (D156).
	client *clientRoute

	setBuf [6][2]string
	mdBuf  [3][2][]byte
}

// hasSet reports whether the answer sets header k (lower-case).
func (r *routed) hasSet(k string) bool {
	for _, kv := range r.set {
		if strings.EqualFold(kv[0], k) {
			return true
		}
	}
	return false
}

// processingResponse is the ext_proc filter's answer (routeRequest).
func (r *routed) processingResponse(st *State) (*extprocv3.ProcessingResponse, error) {
	set := hdrPairs(2, r.set)
	md, err := planMetadata(st, r.plan, r.ctx)
	if err != nil {
		return nil, err
	}
	cf := md.Fields[contract.ContextMetadataNamespace].GetStructValue().Fields
	if r.client != nil {
		md.Fields[contract.PlanMetadataNamespace] = clientPlan(r.plan, r.client.cluster)
		cf[contract.ClientSideDstKey] = structpb.NewStringValue(r.client.dst)
	}
	sv := stringValues(r.group, r.model, r.path)
	cf["group"], cf["model"], cf["path"] = &sv[0], &sv[1], &sv[2]
	if r.spacing != nil {
		r.spacing.addTo(cf)
	}
	cf[xds.FastPathMetadataKey] = structpb.NewBoolValue(r.fast)
	if r.cache != "" {
		cf[cacheMetadataKey] = structpb.NewStringValue(r.cache)
	}
	if !r.fast && r.deps {
		cf[contract.FastDeploymentsKey] = structpb.NewStringValue(planDeployments(r.plan)) // (D77)
	}
	if r.deps {
		if h := planHosts(st, r.plan); h != "" {
			cf[contract.OverrideHostsKey] = structpb.NewStringValue(h) // the tries' hosts (D86)
		}
	}
	if r.fast {
		// The fast path's own namespaces (small: Lua converts a namespace
		// whole into a table each time it reads it): the endpoint for the
		// clusters' per-try Lua, the answer's headers and model for the
		// listener's.
		// With the module as the upstream filter (deps) they are fields of
		// llmgate.ctx instead: one namespace fewer (D70).
		fast := cf
		if !r.deps {
			fast = map[string]*structpb.Value{}
		}
		fast[contract.FastEndpointKey] = structpb.NewStringValue(r.ep)
		if r.deps {
			fast[contract.FastDeploymentsKey] = structpb.NewStringValue(planDeployments(r.plan))
		}
		if r.stream {
			fast[contract.FastStreamKey] = structpb.NewBoolValue(true)
		}
		if !r.deps {
			md.Fields[contract.FastMetadataNamespace] = structpb.NewStructValue(&structpb.Struct{Fields: fast})
		}
		if r.fp != nil {
			md.Fields[contract.FastAnswerMetadataNamespace] = structpb.NewStructValue(r.fp)
		}
	}
	cr := &extprocv3.CommonResponse{HeaderMutation: &extprocv3.HeaderMutation{SetHeaders: set, RemoveHeaders: r.remove}, ClearRouteCache: true}
	if r.body != nil {
		cr.HeaderMutation.SetHeaders = append(cr.HeaderMutation.SetHeaders, hdr("content-length", strconv.Itoa(len(r.body))))
		cr.BodyMutation = &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_Body{Body: r.body}}
	}
	return &extprocv3.ProcessingResponse{
		Response:        &extprocv3.ProcessingResponse_RequestBody{RequestBody: &extprocv3.BodyResponse{Response: cr}},
		DynamicMetadata: md,
	}, nil
}

// hdrPairs is hdrs for pairs.
func hdrPairs(spare int, kv [][2]string) []*corev3.HeaderValueOption {
	flat := make([]string, 0, 2*len(kv))
	for _, p := range kv {
		flat = append(flat, p[0], p[1])
	}
	return hdrs(spare, flat...)
}

// moduleAnswer is the module's answer (Serve): the request of clientBody
// bytes goes on with a content-length of what is sent and no
// transfer-encoding (as withLength makes the ext_proc answer), and the
// metadata namespaces as the serialized Structs processingResponse's would
// serialize to (TestModuleServesAsExtProc).
func (r *routed) moduleAnswer(st *State, clientBody int) ModuleAnswer {
	var out ModuleAnswer
	n := clientBody
	if r.body != nil {
		out.Body, n = r.body, len(r.body)
	}
	out.Set = append(r.set, [2]string{"content-length", strconv.Itoa(n)})
	if len(r.remove) > 0 {
		out.Remove = append(r.remove, "transfer-encoding")
	} else {
		out.Remove = removeTransferEncoding // read only
	}
	cl, one := r.oneCluster(st)
	if one {
		out.Set = append(out.Set, [2]string{xds.ClusterHeader, cl}) // no plan for Envoy (D75)
	}
	out.Metadata = r.writeMetadata(st, !one)
	out.Ctx = r.ctx
	return out
}

// moduleMetadata writes llmgate.plan, llmgate.ctx and (fast, not in
// module-upstream mode) llmgate.fast as serialized google.protobuf.Structs,
// in one buffer.
func (r *routed) moduleMetadata(st *State) [][2][]byte { return r.writeMetadata(st, true) }

// writeMetadata is moduleMetadata, without llmgate.plan when withPlan is
// false (a plan on one cluster, oneCluster).
func (r *routed) writeMetadata(st *State, withPlan bool) [][2][]byte {
	var gb [8][]byte
	gs := gb[:0]
	groups := 0
	for i, a := range r.plan {
		if !withPlan {
			break
		}
		g := st.planGroups.groupBytes(st, i, a)
		gs = append(gs, g)
		groups += sizeNested(1, len(g))
	}
	size := 40 + groups + 5*16 + len(r.ctx) + len(r.group) + len(r.model) + len(r.path)
	if r.spacing != nil {
		size += 2*16 + 20 + len(r.spacing.holds)
	}
	if r.fast {
		size += 3*16 + len(r.ep)
		for _, a := range r.plan {
			size += len(a.DeploymentId) + 1
		}
	}
	b := make([]byte, 0, size)
	// llmgate.plan: {priority_groups: [group...]}
	b = appendFieldHead(b, "priority_groups", sizeNested(6, groups))
	b = protowire.AppendTag(b, 6, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(groups))
	for _, g := range gs {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendBytes(b, g)
	}
	plan := b
	// llmgate.ctx
	at := len(b)
	b = appendStringField(b, "ctx", r.ctx)
	b = appendStringField(b, "group", r.group)
	if !r.noLogFields {
		b = appendStringField(b, "model", r.model)
		b = appendStringField(b, "path", r.path)
	}
	if r.spacing != nil {
		b = appendStringField(b, contract.SpacingTimeoutKey, strconv.FormatInt(r.spacing.timeout.Milliseconds(), 10))
		b = appendStringField(b, contract.SpacingHoldsKey, r.spacing.holds)
	}
	b = appendBoolField(b, xds.FastPathMetadataKey, r.fast)
	if r.fast && r.deps {
		b = r.appendFastFields(b) // in llmgate.ctx (D70)
	} else if r.deps {
		b = r.appendPlanDeployments(b) // every try counted in the module (D77)
	}
	if r.deps {
		b = r.appendPlanHostsField(b, st) // the tries' hosts (D86)
	}
	ctx := b[at:]
	md := append(r.mdBuf[:0], [2][]byte{namespacePlan, plan[:len(plan):len(plan)]}, [2][]byte{namespaceCtx, ctx[:len(ctx):len(ctx)]})
	if !withPlan {
		md = append(md[:0], md[1])
	}
	if r.fast && !r.deps {
		at = len(b)
		b = r.appendFastFields(b)
		md = append(md, [2][]byte{namespaceFast, b[at:]})
	}
	return md
}

// appendFastFields writes the fast path's fields: ep, d (module upstream
// mode) and st.
func (r *routed) appendFastFields(b []byte) []byte {
	b = appendStringField(b, contract.FastEndpointKey, r.ep)
	if r.deps {
		b = r.appendPlanDeployments(b)
	}
	if r.stream {
		b = appendBoolField(b, contract.FastStreamKey, true)
	}
	return b
}

var (
	namespacePlan = []byte(contract.PlanMetadataNamespace)
	namespaceCtx  = []byte(contract.ContextMetadataNamespace)
	namespaceFast = []byte(contract.FastMetadataNamespace)
)

// sizeNested is the size of a length-delimited field of n bytes.
func sizeNested(num protowire.Number, n int) int {
	return protowire.SizeTag(num) + protowire.SizeBytes(n)
}

// appendFieldHead writes the head of a Struct field entry (fields: 1, a
// map entry {key: 1, value: 2}) whose Value is valueSize bytes; the Value's
// bytes follow.
func appendFieldHead(b []byte, key string, valueSize int) []byte {
	entry := sizeNested(1, len(key)) + sizeNested(2, valueSize)
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(entry))
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, key)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	return protowire.AppendVarint(b, uint64(valueSize))
}

// appendStringField writes the Struct field key: string_value v.
func appendStringField(b []byte, key, v string) []byte {
	b = appendFieldHead(b, key, sizeNested(3, len(v)))
	b = protowire.AppendTag(b, 3, protowire.BytesType)
	return protowire.AppendString(b, v)
}

// appendBoolField writes the Struct field key: bool_value v.
func appendBoolField(b []byte, key string, v bool) []byte {
	b = appendFieldHead(b, key, protowire.SizeTag(4)+1)
	b = protowire.AppendTag(b, 4, protowire.VarintType)
	return protowire.AppendVarint(b, protowire.EncodeBool(v))
}

// fastDep is what the fast path reads of a deployment on every request,
// static per config: worked out on its first fast request and kept in the
// State (a reload's new State starts empty; TestFastDepCachePerConfig).
type fastDep struct {
	ok       bool   // a fast-path deployment (xds.FastPath) with a valid api_base
	fastPath bool   // xds.FastPath (a translated plan needs only ok's api_base)
	apiBase  string // x-litellm-model-api-base
	// cost: the deployment's prices for model are known (in, out per token).
	model   string
	cost    bool
	in, out float64
	cr      float64 // a cached prompt token's price (D146)
}

// fastDepCache holds the fastDep of each deployment by id.
type fastDepCache struct {
	mu sync.RWMutex
	m  map[string]*fastDep
}

// get is the fastDep of deployment d for an attempt of model (prices are
// per model; an attempt on another model than the cached one is worked out
// again, uncached).
func (c *fastDepCache) get(st *State, d *configDeployment, model string) *fastDep {
	c.mu.RLock()
	e := c.m[d.ID]
	c.mu.RUnlock()
	if e != nil && e.model == model {
		return e
	}
	fresh := newFastDep(st, d, model)
	if e == nil {
		c.mu.Lock()
		if c.m == nil {
			c.m = map[string]*fastDep{}
		}
		c.m[d.ID] = fresh
		c.mu.Unlock()
	}
	return fresh
}

func newFastDep(st *State, d *configDeployment, model string) *fastDep {
	e := &fastDep{model: model, fastPath: xds.FastPath(st.compiled(d.ID))}
	base, err := upstream.For(d)
	if err != nil {
		return e
	}
	e.ok, e.apiBase = true, base.URL()
	if router.PricedPerSecond(d) {
		// The module prices an answer per token before it ends; a
		// per-second price needs the try's duration: the attempt filter's
		// finalBody prices it (D102).
		e.fastPath = false
		return e
	}
	ci, cok := st.Router.Cost(d, d.Provider, model, translator.Usage{PromptTokens: 1}, 0)
	co, _ := st.Router.Cost(d, d.Provider, model, translator.Usage{CompletionTokens: 1}, 0)
	cr, _ := st.Router.Cost(d, d.Provider, model, translator.Usage{PromptTokens: 1, CachedTokens: 1}, 0)
	e.cost, e.in, e.out, e.cr = cok, ci, co, cr
	return e
}
