package xds

import (
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/proto"

	"github.com/llmgate/llmgate/internal/contract"
)

// The cluster route (docs/architecture.md D75). A group route picks each
// try's cluster with the priority-group cluster specifier, which reads the
// plan the request filter wrote (llmgate.plan): Envoy turns that Struct into
// its override message on every request, the largest piece of the module
// path's route work (measured in D75). In module mode the fast-path
// deployments of one upstream host share one cluster (D62), and the module's
// upstream filter tells a try's deployment from llmgate.ctx "d", not from
// the cluster; so a fast plan whose every try is on one cluster needs no
// plan for Envoy: the module names the cluster in ClusterHeader and writes
// no llmgate.plan, and the cluster route — first in the table, matched only
// with the module's marker (a per-process secret, so a client's header
// picks nothing) and ClusterHeader — sends every try there (cluster_header).
// Its retry, timeout and internal redirect policies are the group routes'
// (RetryPolicy and streamIdle read only the router settings); the number of
// tries is the plan's, x-envoy-max-retries, as on a group route. The module
// removes ClusterHeader from every request it sees first (a client's, an
// internal redirect's replay) and from every fast try (ModuleUpstreamTry).

// ClusterHeader carries the one cluster of a module-served fast plan.
const ClusterHeader = "x-llmgate-cluster"

// ClusterRouteName names the cluster route.
const ClusterRouteName = "module_cluster"

// clusterRoute is the cluster route of a table whose first group route is
// group: the same route but for its name, match and cluster specifier.
func clusterRoute(group *routev3.Route, marker string) *routev3.Route {
	r := proto.Clone(group).(*routev3.Route)
	r.Name = ClusterRouteName
	r.Match = &routev3.RouteMatch{
		PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"},
		Headers: []*routev3.HeaderMatcher{
			{Name: contract.ModuleHeader, HeaderMatchSpecifier: &routev3.HeaderMatcher_StringMatch{StringMatch: exactMatcher(marker)}},
			{Name: ClusterHeader, HeaderMatchSpecifier: &routev3.HeaderMatcher_PresentMatch{PresentMatch: true}},
		},
	}
	r.GetRoute().ClusterSpecifier = &routev3.RouteAction_ClusterHeader{ClusterHeader: ClusterHeader}
	return r
}

// withClusterRoute puts the cluster route first in module mode
// (ModuleUpstream) when the table has a group route.
func withClusterRoute(vh *routev3.VirtualHost, o Options) {
	if !ModuleUpstream(o) || o.RequestModule.Marker == "" || len(vh.Routes) == 0 || vh.Routes[0].GetRoute() == nil {
		return
	}
	vh.Routes = append([]*routev3.Route{clusterRoute(vh.Routes[0], o.RequestModule.Marker)}, vh.Routes...)
}
