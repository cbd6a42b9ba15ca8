package xds

import (
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/llmgate/llmgate/internal/contract"
)

// ClientSideClusters are the two clusters of requests that carry their own
// api_key or api_base (docs/architecture.md D156): original-destination
// clusters whose host is the address the request filter resolved and
// checked, read from the request's dynamic metadata (llmgate.ctx "dst"), so
// Envoy never resolves a client's name itself (no rebinding between the
// check and the call) and a client cannot name the address (metadata, not a
// header). The TLS one verifies the upstream's certificate against the CA
// bundle and the name of ClientSideSNIHeader, which is also the SNI (the
// request filter sets it; the attempt filter removes it). In ext_proc mode
// the attempt filter runs in the cluster (told ClientSideDeployment); in
// module mode the cluster is bare like every other (D55).
func ClientSideClusters(o Options) ([]*clusterv3.Cluster, error) {
	o = o.withDefaults()
	var out []*clusterv3.Cluster
	for _, tls := range []bool{false, true} {
		name := contract.ClientSideCluster
		if tls {
			name = contract.ClientSideTLSCluster
		}
		c := &clusterv3.Cluster{
			Name:                          name,
			ConnectTimeout:                durationpb.New(10 * time.Second),
			PerConnectionBufferLimitBytes: wrapperspb.UInt32(o.MaxRequestBytes),
			CircuitBreakers:               deploymentCircuitBreakers(o),
		}
		setOriginalDst(c) // a client's addresses do not accumulate
		po := upstreamProtocols(tls)
		if tls {
			ts, err := clientSideTLS(o)
			if err != nil {
				return nil, err
			}
			c.TransportSocket = ts
			po.UpstreamHttpProtocolOptions = &corev3.UpstreamHttpProtocolOptions{
				AutoSni:               true,
				AutoSanValidation:     !o.UpstreamTLS.NoVerify,
				OverrideAutoSniHeader: contract.ClientSideSNIHeader,
			}
		}
		if !ModuleUpstream(o) {
			attempt, codec, err := attemptChain(AttemptFilter(contract.ClientSideDeployment, o))
			if err != nil {
				return nil, err
			}
			po.HttpFilters = []*hcmv3.HttpFilter{attempt, codec}
		}
		opts, err := toAny(po)
		if err != nil {
			return nil, err
		}
		c.TypedExtensionProtocolOptions = map[string]*anypb.Any{"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": opts}
		out = append(out, c)
	}
	return out, nil
}

// clientSideTLS is upstreamTLS without a fixed name: the SNI and the
// certificate's name come from the request (auto_sni, auto_san_validation).
func clientSideTLS(o Options) (*corev3.TransportSocket, error) {
	t := o.UpstreamTLS
	common := &tlsv3.CommonTlsContext{AlpnProtocols: []string{"h2", "http/1.1"},
		TlsParams: &tlsv3.TlsParameters{TlsMaximumProtocolVersion: tlsv3.TlsParameters_TLSv1_3}}
	if !t.NoVerify {
		ca := o.CABundle
		if t.CAFile != "" {
			ca = t.CAFile
		}
		common.ValidationContextType = &tlsv3.CommonTlsContext_ValidationContext{ValidationContext: &tlsv3.CertificateValidationContext{TrustedCa: file(ca)}}
	}
	if len(t.ECDHCurves) > 0 {
		common.TlsParams.EcdhCurves = t.ECDHCurves
	}
	if len(t.CipherSuites) > 0 {
		common.TlsParams.CipherSuites = t.CipherSuites
	}
	a, err := toAny(&tlsv3.UpstreamTlsContext{CommonTlsContext: common})
	if err != nil {
		return nil, err
	}
	return &corev3.TransportSocket{Name: "envoy.transport_sockets.tls", ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: a}}, nil
}
