package bench

import (
	"fmt"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// PlainEnvoyBootstrap is a static Envoy config that passes every request on
// the listener to the upstream unchanged: no ext_proc, no xDS. It is the
// physical limit of the gateway's design (the same HTTP connection manager
// settings as llmgate's listener, minus the filters).
func PlainEnvoyBootstrap(listenPort int, upstreamHost string, upstreamPort int) (*bootstrapv3.Bootstrap, error) {
	router, err := anypb.New(&routerv3.Router{})
	if err != nil {
		return nil, err
	}
	hcm, err := anypb.New(&hcmv3.HttpConnectionManager{
		StatPrefix: "plain",
		CodecType:  hcmv3.HttpConnectionManager_AUTO,
		RouteSpecifier: &hcmv3.HttpConnectionManager_RouteConfig{RouteConfig: &routev3.RouteConfiguration{
			Name: "plain",
			VirtualHosts: []*routev3.VirtualHost{{
				Name:    "all",
				Domains: []string{"*"},
				Routes: []*routev3.Route{{
					Match: &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}},
					Action: &routev3.Route_Route{Route: &routev3.RouteAction{
						ClusterSpecifier: &routev3.RouteAction_Cluster{Cluster: "upstream"},
						Timeout:          durationpb.New(0),
					}},
				}},
			}},
		}},
		HttpFilters:       []*hcmv3.HttpFilter{{Name: "envoy.filters.http.router", ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: router}}},
		RequestTimeout:    durationpb.New(0),
		StreamIdleTimeout: durationpb.New(10 * time.Minute),
		UseRemoteAddress:  wrapperspb.Bool(true),
		GenerateRequestId: wrapperspb.Bool(true),
	})
	if err != nil {
		return nil, err
	}
	addr := func(host string, port int) *corev3.Address {
		return &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
			Address: host, PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: uint32(port)},
		}}}
	}
	b := &bootstrapv3.Bootstrap{
		Node: &corev3.Node{Id: "llmbench-plain", Cluster: "llmbench"},
		StaticResources: &bootstrapv3.Bootstrap_StaticResources{
			Listeners: []*listenerv3.Listener{{
				Name:    "plain",
				Address: addr("127.0.0.1", listenPort),
				FilterChains: []*listenerv3.FilterChain{{Filters: []*listenerv3.Filter{{
					Name:       "envoy.filters.network.http_connection_manager",
					ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: hcm},
				}}}},
			}},
			Clusters: []*clusterv3.Cluster{{
				Name:                 "upstream",
				ConnectTimeout:       durationpb.New(10 * time.Second),
				ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STATIC},
				LoadAssignment: &endpointv3.ClusterLoadAssignment{
					ClusterName: "upstream",
					Endpoints: []*endpointv3.LocalityLbEndpoints{{LbEndpoints: []*endpointv3.LbEndpoint{{
						HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{Address: addr(upstreamHost, upstreamPort)}},
					}}}},
				},
			}},
		},
	}
	if err := b.ValidateAll(); err != nil {
		return nil, fmt.Errorf("plain envoy bootstrap: %w", err)
	}
	return b, nil
}

// PlainEnvoyBootstrapJSON renders PlainEnvoyBootstrap for --config-path.
func PlainEnvoyBootstrapJSON(listenPort int, upstreamHost string, upstreamPort int) ([]byte, error) {
	b, err := PlainEnvoyBootstrap(listenPort, upstreamHost, upstreamPort)
	if err != nil {
		return nil, err
	}
	return protojson.MarshalOptions{Indent: "  "}.Marshal(b)
}
