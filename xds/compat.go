package xds

import (
	"fmt"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	pgv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/router/cluster_specifiers/priority_group/v3"
	"google.golang.org/protobuf/proto"
)

// withoutPriorityGroup rewrites every model-group route for Envoys older
// than 1.40, which lack the priority_group cluster specifier plugin and the
// retry policy's refresh_cluster_on_retry: the route picks one of the
// group's own deployments by weight (weighted_clusters) and every retry goes
// to that same deployment. What is lost (docs/architecture.md, degraded
// mode): the per-request plan — cooldowns, routing strategies, retries on
// other deployments and fallback groups in order. Fallbacks that travel as
// an internal redirect (context window, content policy) still work.
func withoutPriorityGroup(r *Resources) error {
	for _, rc := range r.Routes {
		for _, vh := range rc.GetVirtualHosts() {
			for _, rt := range vh.GetRoutes() {
				ra := rt.GetRoute()
				plugin := ra.GetInlineClusterSpecifierPlugin()
				if plugin == nil {
					continue
				}
				spec := &pgv3.PriorityGroupClusterSpecifier{}
				if err := plugin.GetExtension().GetTypedConfig().UnmarshalTo(spec); err != nil {
					return fmt.Errorf("route %s: %w", rt.GetName(), err)
				}
				if len(spec.GetPriorityGroups()) == 0 || len(spec.GetPriorityGroups()[0].GetClusters()) == 0 {
					return fmt.Errorf("route %s: no deployment to route to", rt.GetName())
				}
				wc := &routev3.WeightedCluster{}
				for _, c := range spec.GetPriorityGroups()[0].GetClusters() {
					wc.Clusters = append(wc.Clusters, &routev3.WeightedCluster_ClusterWeight{Name: c.GetClusterName(), Weight: c.GetWeight()})
				}
				ra.ClusterSpecifier = &routev3.RouteAction_WeightedClusters{WeightedClusters: wc}
				if ra.RetryPolicy != nil {
					ra.RetryPolicy = proto.Clone(ra.RetryPolicy).(*routev3.RetryPolicy)
					ra.RetryPolicy.RefreshClusterOnRetry = false
				}
			}
		}
	}
	return nil
}
