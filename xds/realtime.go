package xds

import (
	"slices"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

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

// RealtimeClusters are the clusters of the realtime sessions: one per
// upstream host of the OpenAI and Azure deployments, with only the upstream
// codec in their filters (no per-try filter reads a WebSocket).
func RealtimeClusters(m *model.Model, o Options) ([]*clusterv3.Cluster, error) {
	o = o.withDefaults()
	var out []*clusterv3.Cluster
	seen := map[string]bool{}
	for _, d := range m.Deployments {
		if d.MockResponse != nil || d.AnyProvider || !realtime.Supported(d.Provider) {
			continue
		}
		b, err := upstream.For(d.Config)
		if err != nil {
			continue // the deployment's own cluster reports it
		}
		name := contract.RealtimeCluster(b.Host, b.Port, b.TLS)
		if seen[name] {
			continue
		}
		seen[name] = true
		c := &clusterv3.Cluster{
			Name:                          name,
			ConnectTimeout:                durationpb.New(10 * time.Second),
			PerConnectionBufferLimitBytes: wrapperspb.UInt32(o.MaxRequestBytes),
			LoadAssignment: &endpointv3.ClusterLoadAssignment{
				ClusterName: name,
				Endpoints: []*endpointv3.LocalityLbEndpoints{{LbEndpoints: []*endpointv3.LbEndpoint{{
					HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{
						Address:  socketAddress(b.Host, b.Port),
						Hostname: b.Host,
					}},
				}}}},
			},
		}
		setDiscovery(c, b.Host, o)
		if b.TLS {
			ts, err := upstreamTLS(b.Host, o)
			if err != nil {
				return nil, err
			}
			if err := http1Only(ts); err != nil {
				return nil, err
			}
			c.TransportSocket = ts
		}
		// HTTP/1.1 only: a WebSocket upgrade (RFC 6455) is an HTTP/1.1 one.
		opts, err := passThroughProtocolOptions(false)
		if err != nil {
			return nil, err
		}
		c.TypedExtensionProtocolOptions = map[string]*anypb.Any{"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": opts}
		out = append(out, c)
	}
	return out, nil
}

// http1Only offers only http/1.1 in a TLS socket's ALPN: the upgrade is an
// HTTP/1.1 one, and the cluster speaks nothing else.
func http1Only(ts *corev3.TransportSocket) error {
	var tc tlsv3.UpstreamTlsContext
	if err := ts.GetTypedConfig().UnmarshalTo(&tc); err != nil {
		return err
	}
	if tc.CommonTlsContext == nil {
		tc.CommonTlsContext = &tlsv3.CommonTlsContext{}
	}
	tc.CommonTlsContext.AlpnProtocols = []string{"http/1.1"}
	a, err := toAny(&tc)
	if err != nil {
		return err
	}
	ts.ConfigType = &corev3.TransportSocket_TypedConfig{TypedConfig: a}
	return nil
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
		if d.MockResponse != nil || d.AnyProvider || !realtime.Supported(d.Provider) {
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
			RequestHeaderMode:   extprocv3.ProcessingMode_SEND,
			RequestBodyMode:     extprocv3.ProcessingMode_NONE,
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
