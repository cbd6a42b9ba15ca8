package xds

import (
	mutationv3 "github.com/envoyproxy/go-control-plane/envoy/config/common/mutation_rules/v3"
	headermutationv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/header_mutation/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"

	"github.com/llmgate/llmgate/internal/contract"
)

// StripInternalHeaders is the first HTTP filter of the listener: it removes
// every x-llmgate-* header from every response the client gets. Being first,
// its response side runs last, after the router and after the gateway's own
// replies (ext_proc ImmediateResponse, Envoy's local replies), so a header
// can escape neither on a 307 whose internal redirect Envoy refused (a bad
// Host) nor on a 401. Request headers are left alone: the internal redirect
// carries the fallback ticket through this filter again.
func StripInternalHeaders() (*hcmv3.HttpFilter, error) {
	return typedFilter("envoy.filters.http.header_mutation", &headermutationv3.HeaderMutation{Mutations: &headermutationv3.Mutations{
		ResponseMutations: []*mutationv3.HeaderMutation{{Action: &mutationv3.HeaderMutation_RemoveOnMatch_{RemoveOnMatch: &mutationv3.HeaderMutation_RemoveOnMatch{
			KeyMatcher: &matcherv3.StringMatcher{MatchPattern: &matcherv3.StringMatcher_Prefix{Prefix: contract.InternalHeaderPrefix}, IgnoreCase: true},
		}}}},
	}})
}
