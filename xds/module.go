package xds

import (
	xdscorev3 "github.com/cncf/xds/go/xds/core/v3"
	xdsmatcherv3 "github.com/cncf/xds/go/xds/type/matcher/v3"
	mutationv3 "github.com/envoyproxy/go-control-plane/envoy/config/common/mutation_rules/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	commonmatchingv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/matching/v3"
	dynmodv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/dynamic_modules/v3"
	compositev3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/composite/v3"
	dynmodfilterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/dynamic_modules/v3"
	headermutationv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/header_mutation/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	envoymatcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/llmgate/llmgate/dynmod/filter"
	"github.com/llmgate/llmgate/internal/contract"
)

// The in-Envoy request filter (docs/architecture.md D53): with
// Options.RequestModule the listener runs llmgate's Go dynamic module before
// the ext_proc request filter. The module serves the common request itself
// and marks it (contract.ModuleHeader, a per-process secret); the ext_proc
// request filter is skipped on a marked request, and the marker is removed
// before the provider — by the module as the try's upstream filter, or
// without it by a header-mutation filter before the router — so it reaches
// neither a provider nor a client (D22, D105).
// Every other request passes the module untouched and the ext_proc filter
// serves it as before.

// requestFilters are the listener's request filters: the ext_proc request
// filter alone, or module → ext_proc (skipped on the marker) [→ marker
// removal, when the module is not the tries' upstream filter].
func requestFilters(o Options, reqFilter *hcmv3.HttpFilter) ([]*hcmv3.HttpFilter, error) {
	if o.RequestModule == nil {
		return []*hcmv3.HttpFilter{reqFilter}, nil
	}
	mc := *o.RequestModule
	// Only the JSON access log reads llmgate.usage when the module reports
	// the outcomes itself (D87).
	mc.UsageMetadata = o.AccessLog && o.JSONAccessLog
	// Only the access log reads llmgate.ctx's model and path (D105).
	mc.NoAccessLog = !o.AccessLog
	cfg, err := toAny(wrapperspb.String(mc.Encode()))
	if err != nil {
		return nil, err
	}
	mod, err := typedFilter("llmgate.request_module", &dynmodfilterv3.DynamicModuleFilter{
		DynamicModuleConfig: &dynmodv3.DynamicModuleConfig{Name: filter.ModuleName, DoNotClose: true},
		FilterName:          filter.FilterName,
		FilterConfig:        cfg,
	})
	if err != nil {
		return nil, err
	}
	in, err := toAny(&envoymatcherv3.HttpRequestHeaderMatchInput{HeaderName: contract.ModuleHeader})
	if err != nil {
		return nil, err
	}
	// The request filter made only for a request the module hands on: a
	// composite whose action builds the ext_proc filter when the marker is
	// not the module's (D93). Before, the filter was built for every
	// request and skipped (ExtensionWithMatcher + SkipFilter): its
	// construction was ≈ 2.5 % of Envoy's CPU on the typical config.
	ea, err := toAny(&compositev3.ExecuteFilterAction{TypedConfig: &corev3.TypedExtensionConfig{Name: reqFilter.GetName(), TypedConfig: reqFilter.GetTypedConfig()}})
	if err != nil {
		return nil, err
	}
	comp, err := toAny(&compositev3.Composite{})
	if err != nil {
		return nil, err
	}
	skipped, err := typedFilter(reqFilter.GetName(), &commonmatchingv3.ExtensionWithMatcher{
		ExtensionConfig: &corev3.TypedExtensionConfig{Name: "composite", TypedConfig: comp},
		XdsMatcher: &xdsmatcherv3.Matcher{MatcherType: &xdsmatcherv3.Matcher_MatcherList_{MatcherList: &xdsmatcherv3.Matcher_MatcherList{
			Matchers: []*xdsmatcherv3.Matcher_MatcherList_FieldMatcher{{
				Predicate: &xdsmatcherv3.Matcher_MatcherList_Predicate{MatchType: &xdsmatcherv3.Matcher_MatcherList_Predicate_NotMatcher{NotMatcher: &xdsmatcherv3.Matcher_MatcherList_Predicate{
					MatchType: &xdsmatcherv3.Matcher_MatcherList_Predicate_SinglePredicate_{SinglePredicate: &xdsmatcherv3.Matcher_MatcherList_Predicate_SinglePredicate{
						Input: &xdscorev3.TypedExtensionConfig{Name: "module_marker", TypedConfig: in},
						Matcher: &xdsmatcherv3.Matcher_MatcherList_Predicate_SinglePredicate_ValueMatch{ValueMatch: &xdsmatcherv3.StringMatcher{
							MatchPattern: &xdsmatcherv3.StringMatcher_Exact{Exact: o.RequestModule.Marker},
						}},
					}},
				}}},
				OnMatch: &xdsmatcherv3.Matcher_OnMatch{OnMatch: &xdsmatcherv3.Matcher_OnMatch_Action{Action: &xdscorev3.TypedExtensionConfig{Name: "request_filter", TypedConfig: ea}}},
			}},
		}}},
	})
	if err != nil {
		return nil, err
	}
	if ModuleUpstream(o) {
		// The module is every try's first upstream filter, and it removes
		// the marker there (dynmod/upstream.go): no header-mutation filter
		// built for every request to do it (D105; it was ≈ 0.7 % of Envoy's
		// CPU on the typical config, D93). Until the try the marker stays:
		// the router's route (xds.ModuleRoute) matches on it.
		return []*hcmv3.HttpFilter{mod, skipped}, nil
	}
	unmark, err := typedFilter("llmgate.module_unmark", &headermutationv3.HeaderMutation{Mutations: &headermutationv3.Mutations{
		RequestMutations: []*mutationv3.HeaderMutation{{Action: &mutationv3.HeaderMutation_Remove{Remove: contract.ModuleHeader}}},
	}})
	if err != nil {
		return nil, err
	}
	return []*hcmv3.HttpFilter{mod, skipped, unmark}, nil
}
