package xds

import (
	"slices"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/model"
	"github.com/llmgate/llmgate/internal/realtime"
	"github.com/llmgate/llmgate/internal/upstream"
)

// LiteLLM's Realtime API (D159): a WebSocket session that Envoy upgrades
// and carries to an OpenAI or Azure deployment. The request filter (ext_proc,
// on the request headers only: a session has no body to read) checks the
// key, picks the deployment, sets its path, host and key and names the
// session's cluster in contract.RealtimeHeader; the route cache cleared,
// the session route sends it there. The frames then pass through Envoy as
// they come; the observer (D128's, in observability mode) reads the
// provider's side for the usage of its response.done events.

// RealtimeClusters are the clusters of the realtime sessions (D164): an
// original-destination cluster per scheme the OpenAI and Azure deployments
// use (plain, TLS), whatever the number of upstream hosts (a cluster per
// host made a config of 10,000 hosts push in seconds). The request filter
// resolves the deployment's host and writes the session's address
// (llmgate.ctx ClientSideDstKey); the TLS one checks the certificate
// against the session's :authority, the deployment's host. None when no
// deployment can serve a session.
func RealtimeClusters(m *model.Model, o Options) ([]*clusterv3.Cluster, error) {
	var schemes [2]bool // plain, TLS
	for _, d := range m.Deployments {
		if !realtimeDeployment(d) {
			continue
		}
		if b, err := upstream.For(d.Config); err == nil {
			schemes[boolIndex(b.TLS)] = true
		}
	}
	var out []*clusterv3.Cluster
	for i, used := range schemes {
		if !used {
			continue
		}
		c, err := bareCluster{name: contract.RealtimeCluster(i == 1), tls: i == 1, http1: true}.build(o)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}

// realtimeDeployment reports whether a deployment can serve a realtime
// session (the request filter's choice among the plan's deployments).
func realtimeDeployment(d *model.Deployment) bool {
	return d.MockResponse == nil && !d.AnyProvider && realtime.Supported(d.Provider)
}

// realtimeRoutes are LiteLLM's realtime paths, where the request filter
// checks the upgrade request, and the paths of the deployments' sessions,
// where the request filter sends it (the route cache cleared): exact paths
// (the query is not matched), all picking the cluster the request filter
// named in contract.RealtimeHeader. No route matches that header alone, so
// a client's copy of it picks nothing.
func realtimeRoutes(m *model.Model) ([]*routev3.Route, error) {
	paths := append([]string(nil), realtime.Paths...)
	var session []string
	for _, d := range m.Deployments {
		if !realtimeDeployment(d) {
			continue
		}
		b, err := upstream.For(d.Config)
		if err != nil {
			continue
		}
		session = append(session, realtime.SessionPaths(d.Provider, b)...)
	}
	slices.Sort(session)
	for _, p := range slices.Compact(session) {
		if !slices.Contains(paths, p) {
			paths = append(paths, p)
		}
	}
	per, err := toAny(&extprocv3.ExtProcPerRoute{Override: &extprocv3.ExtProcPerRoute_Overrides{Overrides: &extprocv3.ExtProcOverrides{
		ProcessingMode: &extprocv3.ProcessingMode{
			RequestHeaderMode: extprocv3.ProcessingMode_SEND,
			// The client's frames, chunk by chunk as they pass (never
			// buffered): the request filter bounds a client's message (D164).
			RequestBodyMode:     extprocv3.ProcessingMode_STREAMED,
			RequestTrailerMode:  extprocv3.ProcessingMode_SKIP,
			ResponseHeaderMode:  extprocv3.ProcessingMode_SKIP,
			ResponseBodyMode:    extprocv3.ProcessingMode_NONE,
			ResponseTrailerMode: extprocv3.ProcessingMode_SKIP,
		},
	}}})
	if err != nil {
		return nil, err
	}
	obs, err := passThroughObserverOn()
	if err != nil {
		return nil, err
	}
	filters := map[string]*anypb.Any{"envoy.filters.http.ext_proc": per, PassThroughObserverName: obs}
	r := m.Routing
	action := &routev3.Route_Route{Route: &routev3.RouteAction{
		ClusterSpecifier: &routev3.RouteAction_ClusterHeader{ClusterHeader: contract.RealtimeHeader},
		UpgradeConfigs:   []*routev3.RouteAction_UpgradeConfig{{UpgradeType: "websocket"}},
		// A session has no overall timeout but its longest duration; a
		// session passing no frame either way ends after the idle timeout.
		Timeout:           durationpb.New(0),
		IdleTimeout:       durationpb.New(realtime.IdleTimeout(r.StreamTimeout, r.Timeout)),
		MaxStreamDuration: &routev3.RouteAction_MaxStreamDuration{MaxStreamDuration: durationpb.New(realtime.MaxDuration)},
	}}
	out := make([]*routev3.Route, 0, len(paths))
	for _, p := range paths {
		out = append(out, &routev3.Route{
			Name:                 "realtime:" + p,
			Match:                &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Path{Path: p}},
			Action:               action,
			TypedPerFilterConfig: filters,
			// The cluster is picked before the router forwards the request.
			RequestHeadersToRemove: []string{contract.RealtimeHeader},
		})
	}
	return out, nil
}
