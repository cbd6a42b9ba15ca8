package envoy

import (
	"fmt"
	metricsv3 "github.com/envoyproxy/go-control-plane/envoy/config/metrics/v3"
	overloadv3 "github.com/envoyproxy/go-control-plane/envoy/config/overload/v3"
	downstreamv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/resource_monitors/downstream_connections/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/xds"
)

// BootstrapOptions say where the control plane and the admin interface are.
type BootstrapOptions struct {
	NodeID string
	// XDSSocket is the control plane's Unix socket; when empty XDSHost:XDSPort is used.
	XDSSocket string
	XDSHost   string
	XDSPort   uint32
	// XDSTLS: Envoy dials the control plane over TLS (mTLS with a client
	// certificate); not for XDSSocket.
	XDSTLS xds.TLSFiles
	// AdminSocket puts Envoy's admin interface on this Unix socket (mode
	// 0600); `llmgate run` uses one inside its private 0700 directory. When
	// empty the admin interface listens on AdminAddress:AdminPort (default
	// loopback). The admin interface has no authentication: whoever reaches
	// it can raise the log level (Envoy's debug log prints request headers,
	// keys included) or stop Envoy.
	AdminSocket  string
	AdminAddress string
	AdminPort    uint32
	// NoDeploymentStats turns off Envoy's per-cluster stats of deployment
	// clusters (dep_*). They cost Envoy about half of the time and a third of
	// the memory of a large push (docs/benchmarks.md); `llmgate run` turns
	// them off above 1,000 deployments.
	NoDeploymentStats bool
	// StateOfTheWorld makes Envoy use state-of-the-world ADS instead of
	// delta ADS (every push carries every resource again); for comparison
	// (`llmbench --scale-only … --sotw`) and for control planes that lack delta.
	StateOfTheWorld bool
}

// Bootstrap builds the bootstrap: ADS for listeners and clusters (routes come
// over ADS too), the static control-plane cluster, and the admin interface.
func Bootstrap(o BootstrapOptions) (*bootstrapv3.Bootstrap, error) {
	if o.NodeID == "" {
		o.NodeID = "llmgate"
	}
	if o.AdminAddress == "" {
		o.AdminAddress = "127.0.0.1"
	}
	var addr *corev3.Address
	if o.XDSSocket != "" {
		addr = &corev3.Address{Address: &corev3.Address_Pipe{Pipe: &corev3.Pipe{Path: o.XDSSocket}}}
	} else {
		if o.XDSPort == 0 {
			return nil, fmt.Errorf("bootstrap: no control plane address")
		}
		host := o.XDSHost
		if host == "" {
			host = "127.0.0.1"
		}
		addr = &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
			Address: host, PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: o.XDSPort},
		}}}
	}
	h2, err := anypb.New(&httpv3.HttpProtocolOptions{
		UpstreamProtocolOptions: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_{ExplicitHttpConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig{
			ProtocolConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_Http2ProtocolOptions{Http2ProtocolOptions: &corev3.Http2ProtocolOptions{}},
		}},
	})
	if err != nil {
		return nil, err
	}
	ads := &corev3.ConfigSource{ResourceApiVersion: corev3.ApiVersion_V3, ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}}}
	dc, err := anypb.New(&downstreamv3.DownstreamConnectionsConfig{MaxActiveDownstreamConnections: 100000})
	if err != nil {
		return nil, err
	}
	admin := &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
		Address: o.AdminAddress, PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: o.AdminPort},
	}}}
	if o.AdminSocket != "" {
		admin = &corev3.Address{Address: &corev3.Address_Pipe{Pipe: &corev3.Pipe{Path: o.AdminSocket, Mode: 0o600}}}
	}
	var xdsTLS *corev3.TransportSocket
	if o.XDSSocket == "" {
		if xdsTLS, err = xds.UpstreamTLSSocket(o.XDSTLS); err != nil {
			return nil, err
		}
	}
	apiType := corev3.ApiConfigSource_DELTA_GRPC
	if o.StateOfTheWorld {
		apiType = corev3.ApiConfigSource_GRPC
	}
	b := &bootstrapv3.Bootstrap{
		Node:  &corev3.Node{Id: o.NodeID, Cluster: "llmgate"},
		Admin: &bootstrapv3.Admin{Address: admin},
		DynamicResources: &bootstrapv3.Bootstrap_DynamicResources{
			AdsConfig: &corev3.ApiConfigSource{
				// Delta xDS (D48): a config change travels as the resources it
				// changes, not as every cluster of the config again.
				ApiType:                   apiType,
				TransportApiVersion:       corev3.ApiVersion_V3,
				GrpcServices:              []*corev3.GrpcService{{TargetSpecifier: &corev3.GrpcService_EnvoyGrpc_{EnvoyGrpc: &corev3.GrpcService_EnvoyGrpc{ClusterName: xds.XDSCluster}}}},
				SetNodeOnFirstMessageOnly: true,
			},
			LdsConfig: ads,
			CdsConfig: ads,
		},
		StaticResources: &bootstrapv3.Bootstrap_StaticResources{Clusters: []*clusterv3.Cluster{{
			Name:                 xds.XDSCluster,
			TransportSocket:      xdsTLS,
			ConnectTimeout:       durationpb.New(2 * time.Second),
			ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STATIC},
			LoadAssignment: &endpointv3.ClusterLoadAssignment{ClusterName: xds.XDSCluster, Endpoints: []*endpointv3.LocalityLbEndpoints{{
				LbEndpoints: []*endpointv3.LbEndpoint{{HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{Address: addr}}}},
			}}},
			TypedExtensionProtocolOptions: map[string]*anypb.Any{"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": h2},
		}}},
		// A bound on client connections (Envoy warns without one).
		OverloadManager: &overloadv3.OverloadManager{ResourceMonitors: []*overloadv3.ResourceMonitor{{
			Name:       "envoy.resource_monitors.global_downstream_max_connections",
			ConfigType: &overloadv3.ResourceMonitor_TypedConfig{TypedConfig: dc},
		}}},
	}
	if o.NoDeploymentStats {
		b.StatsConfig = &metricsv3.StatsConfig{StatsMatcher: &metricsv3.StatsMatcher{StatsMatcher: &metricsv3.StatsMatcher_ExclusionList{ExclusionList: &matcherv3.ListStringMatcher{
			Patterns: []*matcherv3.StringMatcher{{MatchPattern: &matcherv3.StringMatcher_Prefix{Prefix: "cluster." + contract.DeploymentClusterPrefix}}},
		}}}}
	}
	return b, nil
}

// BootstrapJSON renders the bootstrap as JSON (Envoy reads it with --config-path).
func BootstrapJSON(o BootstrapOptions) ([]byte, error) {
	b, err := Bootstrap(o)
	if err != nil {
		return nil, err
	}
	return protojson.MarshalOptions{Indent: "  "}.Marshal(b)
}
