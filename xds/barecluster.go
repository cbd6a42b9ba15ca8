package xds

import (
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	upstreamcodecv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/upstream_codec/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	metadatav3 "github.com/envoyproxy/go-control-plane/envoy/type/metadata/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/llmgate/llmgate/internal/contract"
)

// bareCluster describes a cluster whose requests no per-try filter sees:
// only the upstream codec in its filters (the module's shared upstream
// filters, D55, and the attempt filter never run). The pass-through
// targets' clusters (D113) and the realtime sessions' (D159, D164) are
// built by it.
type bareCluster struct {
	name string
	// host and port: the one upstream host. An empty host makes an
	// original-destination cluster instead, addressed per request by the
	// request filter (llmgate.ctx ClientSideDstKey, as D156's), whose TLS
	// takes the SNI and the certificate's name from the request's
	// :authority.
	host string
	port uint32
	tls  bool
	// http1: HTTP/1.1 only, and only http/1.1 in the TLS ALPN (a WebSocket
	// upgrade is an HTTP/1.1 one).
	http1 bool
}

// build is the cluster.
func (b bareCluster) build(o Options) (*clusterv3.Cluster, error) {
	o = o.withDefaults()
	c := &clusterv3.Cluster{
		Name:                          b.name,
		ConnectTimeout:                durationpb.New(10 * time.Second),
		PerConnectionBufferLimitBytes: wrapperspb.UInt32(o.MaxRequestBytes),
	}
	po := upstreamProtocols(b.tls && !b.http1)
	var ts *corev3.TransportSocket
	var err error
	if b.host == "" {
		setOriginalDst(c)
		c.CircuitBreakers = deploymentCircuitBreakers(o) // one cluster for every host
		if b.tls {
			ts, err = clientSideTLS(o)
			po.UpstreamHttpProtocolOptions = &corev3.UpstreamHttpProtocolOptions{AutoSni: true, AutoSanValidation: !o.UpstreamTLS.NoVerify}
		}
	} else {
		c.LoadAssignment = &endpointv3.ClusterLoadAssignment{
			ClusterName: b.name,
			Endpoints: []*endpointv3.LocalityLbEndpoints{{LbEndpoints: []*endpointv3.LbEndpoint{{
				HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{
					Address:  socketAddress(b.host, b.port),
					Hostname: b.host,
				}},
			}}}},
		}
		setDiscovery(c, b.host, o)
		if b.tls {
			ts, err = upstreamTLS(b.host, o)
		}
	}
	if err != nil {
		return nil, err
	}
	if ts != nil && b.http1 {
		if err := http1Only(ts); err != nil {
			return nil, err
		}
	}
	c.TransportSocket = ts
	codec, err := typedFilter("envoy.filters.http.upstream_codec", &upstreamcodecv3.UpstreamCodec{})
	if err != nil {
		return nil, err
	}
	po.HttpFilters = []*hcmv3.HttpFilter{codec}
	opts, err := toAny(po)
	if err != nil {
		return nil, err
	}
	c.TypedExtensionProtocolOptions = map[string]*anypb.Any{"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": opts}
	return c, nil
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

// setOriginalDst makes c an original-destination cluster whose host is the
// address ("ip:port") the request filter wrote in llmgate.ctx
// ClientSideDstKey: Envoy never resolves a name itself, and a client cannot
// name the address (metadata, not a header). Hosts unused for a minute are
// dropped.
func setOriginalDst(c *clusterv3.Cluster) {
	c.ClusterDiscoveryType = &clusterv3.Cluster_Type{Type: clusterv3.Cluster_ORIGINAL_DST}
	c.LbPolicy = clusterv3.Cluster_CLUSTER_PROVIDED
	c.LbConfig = &clusterv3.Cluster_OriginalDstLbConfig_{OriginalDstLbConfig: &clusterv3.Cluster_OriginalDstLbConfig{
		MetadataKey: &metadatav3.MetadataKey{Key: contract.ContextMetadataNamespace, Path: []*metadatav3.MetadataKey_PathSegment{
			{Segment: &metadatav3.MetadataKey_PathSegment_Key{Key: contract.ClientSideDstKey}},
		}},
	}}
	c.CleanupInterval = durationpb.New(time.Minute)
}
