package xds

import (
	"math"
	"sort"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	pgv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/router/cluster_specifiers/priority_group/v3"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/model"
)

// ModelGroup is one model group as the route builder sees it: its deployments
// with their weights, and the groups it falls back to.
type ModelGroup struct {
	Name        string
	Deployments []*model.Deployment
	Fallbacks   []string
}

// Groups collects the served model groups of a compiled config in a stable
// order. Deployments answered by mock_response need no cluster and are left
// out; a `model: "*"` deployment is there with its openai cluster (bare
// names mean openai; real plans name the provider per request).
func Groups(m *model.Model) []ModelGroup {
	out := make([]ModelGroup, 0, len(m.Groups))
	for _, g := range m.Groups {
		mg := ModelGroup{Name: g.Name, Fallbacks: g.Fallbacks(model.GeneralFallbacks)}
		for _, d := range g.Deployments {
			if d.MockResponse == nil {
				mg.Deployments = append(mg.Deployments, d)
			}
		}
		out = append(out, mg)
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out
}

// Weights are the Envoy weights of a group's deployments: simple-shuffle's
// (model.ShuffleWeights), scaled by one factor for the whole group so that
// fractional weights keep three decimals and the ratios stay exact; nil when
// all are equal. A 0 is a deployment picked only after the weighted ones.
func Weights(group []*model.Deployment) []uint32 {
	ws := model.ShuffleWeights(group)
	if ws == nil {
		return nil
	}
	maxW := 0.0
	for _, w := range ws {
		maxW = max(maxW, w)
	}
	factor := 1000.0
	if maxW*factor > 1<<31 {
		factor = (1 << 31) / maxW
	}
	out := make([]uint32, len(ws))
	for i, w := range ws {
		if w > 0 {
			out[i] = uint32(max(math.Round(w*factor), 1))
		}
	}
	return out
}

// PriorityGroups is the default attempt plan of a group: the group's
// deployments weighted (those of weight 0 in a priority group after them,
// as simple-shuffle picks them last), then each fallback group. The request
// filter replaces it per request with the exact plan (dynamic metadata
// contract.PlanMetadataNamespace).
func PriorityGroups(g ModelGroup, all map[string]ModelGroup) *pgv3.PriorityGroupClusterSpecifier {
	spec := &pgv3.PriorityGroupClusterSpecifier{OverrideMetadataNamespace: contract.PlanMetadataNamespace}
	add := func(mg ModelGroup) {
		ws := Weights(mg.Deployments)
		weighted, last := &pgv3.PriorityGroup{Name: mg.Name}, &pgv3.PriorityGroup{Name: mg.Name}
		for i, d := range mg.Deployments {
			switch {
			case ws == nil:
				weighted.Clusters = append(weighted.Clusters, &pgv3.ClusterWeight{ClusterName: d.Cluster, Weight: wrapperspb.UInt32(1)})
			case ws[i] > 0:
				weighted.Clusters = append(weighted.Clusters, &pgv3.ClusterWeight{ClusterName: d.Cluster, Weight: wrapperspb.UInt32(ws[i])})
			default:
				last.Clusters = append(last.Clusters, &pgv3.ClusterWeight{ClusterName: d.Cluster, Weight: wrapperspb.UInt32(1)})
			}
		}
		for _, pg := range []*pgv3.PriorityGroup{weighted, last} {
			if len(pg.Clusters) > 0 {
				spec.PriorityGroups = append(spec.PriorityGroups, pg)
			}
		}
	}
	add(g)
	for _, name := range g.Fallbacks {
		if fg, ok := all[name]; ok && name != g.Name {
			add(fg)
		}
	}
	return spec
}

// RetryPolicy is the Envoy retry policy of a model group. Envoy retries on
// connection failures, resets and per-try timeouts by itself (no response to
// judge); every response, 5xx included, is retried only when the attempt
// filter marks it with contract.RetryHeader (LiteLLM's retry_policy per class, e.g.
// InternalServerErrorRetries). Each retry re-picks the cluster: the next
// entry of the plan.
func RetryPolicy(r model.Routing) *routev3.RetryPolicy {
	perTry := r.Timeout
	if perTry <= 0 {
		perTry = 600 * time.Second
	}
	return &routev3.RetryPolicy{
		RetryOn:               "reset,connect-failure,refused-stream,retriable-headers",
		NumRetries:            wrapperspb.UInt32(uint32(max(r.NumRetries, 0))),
		PerTryTimeout:         durationpb.New(perTry),
		RefreshClusterOnRetry: true,
		RetriableHeaders: []*routev3.HeaderMatcher{{
			Name:                 contract.RetryHeader,
			HeaderMatchSpecifier: &routev3.HeaderMatcher_PresentMatch{PresentMatch: true},
		}},
		RetryBackOff: &routev3.RetryPolicy_RetryBackOff{
			BaseInterval: durationpb.New(5 * time.Millisecond),
			MaxInterval:  durationpb.New(8 * time.Second),
		},
		RateLimitedRetryBackOff: &routev3.RetryPolicy_RateLimitedRetryBackOff{
			ResetHeaders: []*routev3.RetryPolicy_ResetHeader{{Name: "retry-after", Format: routev3.RetryPolicy_SECONDS}},
			MaxInterval:  durationpb.New(60 * time.Second),
		},
	}
}

// GroupRoute routes requests the request filter tagged with the group.
func GroupRoute(g ModelGroup, all map[string]ModelGroup, rs model.Routing) (*routev3.Route, error) {
	spec, err := toAny(PriorityGroups(g, all))
	if err != nil {
		return nil, err
	}
	return &routev3.Route{
		Name: "group:" + g.Name,
		Match: &routev3.RouteMatch{
			PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"},
			Headers: []*routev3.HeaderMatcher{{
				Name:                 contract.GroupHeader,
				HeaderMatchSpecifier: &routev3.HeaderMatcher_StringMatch{StringMatch: exactMatcher(g.Name)},
			}},
		},
		Action: &routev3.Route_Route{Route: &routev3.RouteAction{
			ClusterSpecifier: &routev3.RouteAction_InlineClusterSpecifierPlugin{InlineClusterSpecifierPlugin: &routev3.ClusterSpecifierPlugin{
				Extension: &corev3.TypedExtensionConfig{Name: "envoy.router.cluster_specifier_plugin.priority_group", TypedConfig: spec},
			}},
			// No overall timeout: each try has its own (per_try_timeout), and
			// streams are bounded by the idle timeout instead of a total one.
			Timeout:     durationpb.New(0),
			IdleTimeout: durationpb.New(streamIdle(rs)),
			RetryPolicy: RetryPolicy(rs),
			// Context-window and content-policy fallbacks: the attempt filter
			// answers 307 with a signed ticket; Envoy replays the request
			// through the request filter, which plans that fallback list.
			InternalRedirectPolicy: &routev3.InternalRedirectPolicy{
				MaxInternalRedirects:  wrapperspb.UInt32(2),
				RedirectResponseCodes: []uint32{307},
				ResponseHeadersToCopy: []string{contract.FallbackHeader},
			},
		}},
		ResponseHeadersToRemove: []string{contract.RetryHeader},
	}, nil
}

func streamIdle(rs model.Routing) time.Duration {
	if rs.StreamTimeout > 0 {
		return rs.StreamTimeout
	}
	if rs.Timeout > 0 {
		return rs.Timeout
	}
	return 600 * time.Second
}

// RouteConfiguration is every group route, then a catch-all that answers
// OpenAI-format 404 for anything the request filter did not claim.
func RouteConfiguration(m *model.Model, o Options) (*routev3.RouteConfiguration, error) {
	groups := Groups(m)
	all := make(map[string]ModelGroup, len(groups))
	for _, g := range groups {
		all[g.Name] = g
	}
	vh := &routev3.VirtualHost{
		Name:                       "llmgate",
		Domains:                    []string{"*"},
		IncludeRequestAttemptCount: true,
		// The fast path's Lua filter reads (and removes) the try index (D45).
		IncludeAttemptCountInResponse: o.FastPath,
	}
	if o.guardrails {
		// The guardrails a request ran (D149): the request filter writes
		// their names into the request's context metadata; absent, no header.
		vh.ResponseHeadersToAdd = []*corev3.HeaderValueOption{{
			Header:       &corev3.HeaderValue{Key: "x-litellm-applied-guardrails", Value: "%DYNAMIC_METADATA(" + contract.ContextMetadataNamespace + ":" + contract.AppliedGuardrailsField + ")%"},
			AppendAction: corev3.HeaderValueOption_ADD_IF_ABSENT,
		}}
	}
	for _, g := range groups {
		if len(g.Deployments) == 0 {
			continue
		}
		r, err := GroupRoute(g, all, m.Routing)
		if err != nil {
			return nil, err
		}
		vh.Routes = append(vh.Routes, r)
	}
	withClusterRoute(vh, o) // module mode (D75)
	if o.realtime {
		rt, err := realtimeRoutes(m)
		if err != nil {
			return nil, err
		}
		vh.Routes = append(vh.Routes, rt...) // D159 (before the /openai pass-through)
	}
	pt, err := passThroughRoutes(&o.PassThrough)
	if err != nil {
		return nil, err
	}
	vh.Routes = append(vh.Routes, pt...) // D113
	vh.Routes = append(vh.Routes, &routev3.Route{
		Name:  "not_found",
		Match: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
		Action: &routev3.Route_DirectResponse{DirectResponse: &routev3.DirectResponseAction{
			Status: 404,
			Body:   &corev3.DataSource{Specifier: &corev3.DataSource_InlineString{InlineString: `{"error":{"message":"Route not found","type":"not_found_error","param":null,"code":"404"}}`}},
		}},
		ResponseHeadersToAdd: []*corev3.HeaderValueOption{{Header: &corev3.HeaderValue{Key: "content-type", Value: "application/json"}, AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD}},
	})
	return &routev3.RouteConfiguration{
		Name:         RouteConfigName,
		VirtualHosts: []*routev3.VirtualHost{vh},
	}, nil
}
