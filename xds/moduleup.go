package xds

import (
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	dynmodv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/dynamic_modules/v3"
	dynmodfilterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/dynamic_modules/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	upstreamcodecv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/upstream_codec/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/dynmod/filter"
	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/model"
	"github.com/llmgate/llmgate/internal/upstream"
	"github.com/llmgate/llmgate/translator"
)

// The module as the per-try upstream filter (docs/architecture.md D55). With
// the request module on (Options.RequestModule, D53) every deployment
// cluster is bare — endpoint, TLS, circuit breakers, outlier detection, no
// upstream HTTP filters of its own — and every try runs the router's one
// upstream filter chain, built once for all clusters:
//
//	llmgate.upstream  the module (dynmod/upstream.go): on every try the listener's marker
//	                  removed (contract.ModuleHeader, D105); on a fast try (llmgate.ctx "ep") the
//	                  try's :path and :authority, the provider key from the config the
//	                  module holds (never in a config dump), internal and other
//	                  providers' key headers removed; holds a success until its body is whole;
//	                  on any other try the spacing of a retry on the same deployment
//	                  (dynmod/spacing.go, D59: a filter of its own until D60)
//	llmgate.attempt   composite ── request not tagged fast → the full attempt filter
//	                            └─ fast, response 4xx/5xx → the attempt filter from the response on
//	                  (one config for all clusters: the attempt filter learns the deployment
//	                  from the attribute xds.cluster_name, not from per-cluster gRPC metadata)
//	upstream_codec
//
// A cluster with upstream filters of its own would not run the router's
// (Envoy picks the cluster's chain when it has one), so in this mode none has.

// ClusterAttribute is the ext_proc attribute that names a try's cluster to
// the shared attempt filter (ModuleUpstream).
const ClusterAttribute = "xds.cluster_name"

// AttemptStatPrefix names the shared attempt filter's stats
// (…ext_proc.attempt.streams_started).
const AttemptStatPrefix = "attempt"

// ModuleUpstream reports whether the options put the module in the
// router's upstream filters and leave the deployment clusters bare (D55):
// the request module is on, with the fast path (Envoy 1.40).
func ModuleUpstream(o Options) bool {
	return o.RequestModule != nil && o.FastPath && !o.NoPriorityGroup
}

// withModuleUpstream sets the router's upstream filter chain in module mode.
func withModuleUpstream(rt *routerv3.Router, o Options) error {
	if !ModuleUpstream(o) {
		return nil
	}
	fs, err := moduleUpstreamFilters(o)
	if err != nil {
		return err
	}
	rt.UpstreamHttpFilters = fs
	return nil
}

// moduleUpstreamFilters is the router's upstream filter chain of module
// mode, upstream_codec included.
func moduleUpstreamFilters(o Options) ([]*hcmv3.HttpFilter, error) {
	// Its config names no socket: it reads the request filter's table
	// (dynmod/upstream.go), subscribes to nothing and ships no outcomes.
	cfg, err := toAny(wrapperspb.String(filter.Config{Marker: o.RequestModule.Marker}.Encode()))
	if err != nil {
		return nil, err
	}
	mod, err := typedFilter("llmgate.upstream", &dynmodfilterv3.DynamicModuleFilter{
		DynamicModuleConfig: &dynmodv3.DynamicModuleConfig{Name: filter.ModuleName, DoNotClose: true},
		FilterName:          filter.UpstreamFilterName,
		FilterConfig:        cfg,
	})
	if err != nil {
		return nil, err
	}
	full, errOnly := SharedAttemptFilters(o)
	comp, err := fastPathComposite(full, errOnly)
	if err != nil {
		return nil, err
	}
	codec, err := typedFilter("envoy.filters.http.upstream_codec", &upstreamcodecv3.UpstreamCodec{})
	if err != nil {
		return nil, err
	}
	// The module first: a held try (spacing, D59) reaches no other filter
	// before its wait ends.
	return []*hcmv3.HttpFilter{mod, comp, codec}, nil
}

// SharedAttemptFilters are the attempt filter's two configs of module mode,
// the same for every cluster: the full one (every phase, for a request not
// tagged fast) and the response-only one (a fast try that answered 4xx or
// 5xx, ErrorAttemptFilter). Neither names a deployment: the attempt filter
// reads the try's cluster from the attribute ClusterAttribute.
func SharedAttemptFilters(o Options) (full, errOnly *extprocv3.ExternalProcessor) {
	shared := func(f *extprocv3.ExternalProcessor) *extprocv3.ExternalProcessor {
		f.GrpcService.InitialMetadata = []*corev3.HeaderValue{{Key: contract.PhaseMetadataKey, Value: contract.PhaseAttempt}}
		f.StatPrefix = AttemptStatPrefix
		return f
	}
	full = shared(AttemptFilter("", o))
	full.RequestAttributes = []string{ClusterAttribute}
	errOnly = shared(AttemptFilter("", o))
	errOnly.ProcessingMode = &extprocv3.ProcessingMode{
		RequestHeaderMode:   extprocv3.ProcessingMode_SKIP,
		RequestBodyMode:     extprocv3.ProcessingMode_NONE,
		RequestTrailerMode:  extprocv3.ProcessingMode_SKIP,
		ResponseHeaderMode:  extprocv3.ProcessingMode_SEND,
		ResponseBodyMode:    extprocv3.ProcessingMode_BUFFERED,
		ResponseTrailerMode: extprocv3.ProcessingMode_SKIP,
	}
	errOnly.ResponseAttributes = []string{"upstream.request_attempt_count", ClusterAttribute}
	return full, errOnly
}

// UpstreamTry is what the module does on a fast try of one fast-path
// deployment's cluster (D55): what the per-cluster Lua, header_mutation and
// credential_injector did before, from the config the module holds.
type UpstreamTry struct {
	// Paths is the try's :path by endpoint name (EndpointName: chat,
	// completions, embeddings); Authority its :authority.
	Paths     map[string]string
	Authority string
	// Remove are the request headers removed: internal ones and every
	// provider key header but the one Set sends.
	Remove []string
	// Set are the request headers set (overwritten): content-type, the
	// provider key, openai-organization.
	Set [][2]string
}

// ModuleUpstreamTries maps every fast-path deployment cluster of a compiled
// config to its UpstreamTry.
func ModuleUpstreamTries(m *model.Model) map[string]*UpstreamTry {
	out := map[string]*UpstreamTry{}
	for _, d := range m.Deployments {
		if !FastPath(d) {
			continue
		}
		if t, err := moduleUpstreamTry(d.Config); err == nil {
			out[d.ClusterFor("")] = t
		}
	}
	return out
}

// ModuleUpstreamTry is the UpstreamTry of one deployment (nil when it is
// not a fast-path deployment): the module computes it on a deployment's
// first fast try, not for every deployment on every table (D62).
func ModuleUpstreamTry(d *model.Deployment) *UpstreamTry {
	if !FastPath(d) {
		return nil
	}
	t, err := moduleUpstreamTry(d.Config)
	if err != nil {
		return nil
	}
	return t
}

func moduleUpstreamTry(d *config.Deployment) (*UpstreamTry, error) {
	base, err := upstream.For(d)
	if err != nil {
		return nil, err
	}
	t := &UpstreamTry{Paths: map[string]string{}, Authority: base.Authority()}
	for _, ep := range []translator.Endpoint{translator.Chat, translator.Completions, translator.Embeddings} {
		t.Paths[EndpointName(ep)] = translator.PassThroughPath(ep, translator.Target{Provider: d.Provider, Model: d.Model,
			APIBase: upstream.WithoutQuery(upstream.APIBase(d)), APIVersion: d.Params.APIVersion})
	}
	header, pre, key := fastPathKey(d)
	// (contract.ModuleHeader: the listener's marker, removed by the try
	// since D105.)
	for _, h := range append([]string{contract.GroupHeader, ClusterHeader, contract.ModuleHeader, contract.FallbackHeader, "accept-encoding", "x-envoy-attempt-count", "x-envoy-expected-rq-timeout-ms"}, keyHeaders...) {
		if h == header && key != "" {
			continue // overwritten below
		}
		t.Remove = append(t.Remove, h)
	}
	t.Set = append(t.Set, [2]string{"content-type", "application/json"})
	if key != "" {
		t.Set = append(t.Set, [2]string{header, pre + key})
	}
	if org := d.Params.Organization; org != "" && header == "authorization" {
		t.Set = append(t.Set, [2]string{"openai-organization", org})
	}
	return t, nil
}
