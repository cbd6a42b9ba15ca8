package xds

import (
	"fmt"
	"net"
	"strings"
	"time"

	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	upstreamcodecv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/upstream_codec/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/model"
	"github.com/llmgate/llmgate/internal/upstream"
)

// DeploymentCluster builds the cluster of one deployment: one endpoint (the
// api_base host), TLS with SNI for https, and the attempt filter (ext_proc) in
// the cluster's upstream HTTP filters, told which deployment it serves through
// gRPC initial metadata. A `model: "*"` deployment has one cluster per
// provider: provider names it (empty for every other deployment).
func DeploymentCluster(md *model.Deployment, provider string, r model.Routing, o Options) (*clusterv3.Cluster, error) {
	o = o.withDefaults()
	d := md.Config
	if provider != "" {
		dp := *d
		dp.Provider = provider
		d = &dp
	}
	base, err := upstream.For(d)
	if err != nil {
		return nil, err
	}
	fast := o.FastPath && FastPath(md)
	name := md.ClusterFor(provider)
	c := &clusterv3.Cluster{
		Name:                          name,
		ConnectTimeout:                durationpb.New(10 * time.Second),
		PerConnectionBufferLimitBytes: wrapperspb.UInt32(o.MaxRequestBytes),
		LoadAssignment: &endpointv3.ClusterLoadAssignment{
			ClusterName: name,
			Endpoints: []*endpointv3.LocalityLbEndpoints{{
				LbEndpoints: []*endpointv3.LbEndpoint{{
					HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{
						Address:  socketAddress(base.Host, base.Port),
						Hostname: base.Host,
					}},
				}},
			}},
		},
		Metadata:        deploymentMetadata(d),
		CircuitBreakers: deploymentCircuitBreakers(o),
	}
	if fast {
		markFastPath(c)
	}
	setDiscovery(c, base.Host, o)
	if !r.DisableCooldowns && !md.Wildcard {
		c.OutlierDetection = outlierDetection(md, r)
	}
	if base.TLS {
		ts, err := upstreamTLS(base.Host, o)
		if err != nil {
			return nil, fmt.Errorf("deployment %q: %w", d.ID, err)
		}
		c.TransportSocket = ts
	}
	opts, err := deploymentProtocolOptions(d, fast, base.TLS, o)
	if err != nil {
		return nil, fmt.Errorf("deployment %q: %w", d.ID, err)
	}
	c.TypedExtensionProtocolOptions = map[string]*anypb.Any{
		"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": opts,
	}
	return c, nil
}

// outlierDetection mirrors the cooldown settings so Envoy's stats show failing
// deployments. Single-host clusters keep the default panic threshold, so an
// ejection never turns into "no healthy upstream": the exact LiteLLM cooldown
// rules are applied by the request filter when it builds the attempt plan
// (see docs/architecture.md, "Cooldowns").
func outlierDetection(d *model.Deployment, r model.Routing) *clusterv3.OutlierDetection {
	cooldown := d.CooldownTime
	if cooldown <= 0 {
		cooldown = 5 * time.Second
	}
	return &clusterv3.OutlierDetection{
		Consecutive_5Xx:    wrapperspb.UInt32(uint32(r.AllowedFails) + 1),
		BaseEjectionTime:   durationpb.New(cooldown),
		MaxEjectionTime:    durationpb.New(cooldown),
		Interval:           durationpb.New(time.Second),
		MaxEjectionPercent: wrapperspb.UInt32(100),
	}
}

func deploymentMetadata(d *config.Deployment) *corev3.Metadata {
	return &corev3.Metadata{FilterMetadata: map[string]*structpbStruct{
		"llmgate": structOf(map[string]any{"deployment_id": d.ID, "model_group": d.ModelName, "provider": d.Provider}),
	}}
}

// upstreamTLS is the transport socket of a deployment's https host: the
// certificate verified against the CA bundle and the host's name (an IP
// address host: against its IP SAN, with no SNI, which may not carry an
// address), unless ssl_verify is false; ssl_certificate presented as the
// client certificate; ssl_ecdh_curve's curve offered; ssl_security_level's
// TLS 1.2 ciphers (D121); TLS 1.2 or 1.3 (D112).
func upstreamTLS(host string, o Options) (*corev3.TransportSocket, error) {
	t := o.UpstreamTLS
	// TLS 1.3 allowed, as LiteLLM's Python client offers it (Envoy's client
	// default stops at 1.2).
	common := &tlsv3.CommonTlsContext{AlpnProtocols: []string{"h2", "http/1.1"},
		TlsParams: &tlsv3.TlsParameters{TlsMaximumProtocolVersion: tlsv3.TlsParameters_TLSv1_3}}
	sni, san := host, tlsv3.SubjectAltNameMatcher_DNS
	if net.ParseIP(host) != nil {
		sni, san = "", tlsv3.SubjectAltNameMatcher_IP_ADDRESS
	}
	if !t.NoVerify {
		ca := o.CABundle
		if t.CAFile != "" {
			ca = t.CAFile
		}
		common.ValidationContextType = &tlsv3.CommonTlsContext_ValidationContext{ValidationContext: &tlsv3.CertificateValidationContext{
			TrustedCa:                 file(ca),
			MatchTypedSubjectAltNames: []*tlsv3.SubjectAltNameMatcher{{SanType: san, Matcher: exactMatcher(host)}},
		}}
	}
	if t.ClientCert != "" {
		common.TlsCertificates = []*tlsv3.TlsCertificate{{CertificateChain: file(t.ClientCert), PrivateKey: file(t.ClientCert)}}
	}
	if len(t.ECDHCurves) > 0 {
		common.TlsParams.EcdhCurves = t.ECDHCurves
	}
	if len(t.CipherSuites) > 0 {
		common.TlsParams.CipherSuites = t.CipherSuites
	}
	a, err := toAny(&tlsv3.UpstreamTlsContext{Sni: sni, CommonTlsContext: common})
	if err != nil {
		return nil, err
	}
	return &corev3.TransportSocket{Name: "envoy.transport_sockets.tls", ConfigType: &corev3.TransportSocket_TypedConfig{TypedConfig: a}}, nil
}

// setDiscovery makes a one-host cluster static for an IP address, else a
// logical DNS cluster (IPv4 preferred; only with force_ipv4).
func setDiscovery(c *clusterv3.Cluster, host string, o Options) {
	if ip := net.ParseIP(host); ip != nil {
		c.ClusterDiscoveryType = &clusterv3.Cluster_Type{Type: clusterv3.Cluster_STATIC}
		return
	}
	c.ClusterDiscoveryType = &clusterv3.Cluster_Type{Type: clusterv3.Cluster_LOGICAL_DNS}
	c.DnsLookupFamily = clusterv3.Cluster_V4_PREFERRED
	if o.ForceIPv4 {
		c.DnsLookupFamily = clusterv3.Cluster_V4_ONLY
	}
}

// upstreamProtocols: HTTP/2 with ALPN fallback to HTTP/1.1 for TLS,
// HTTP/1.1 for plain http; a 60 s idle timeout.
func upstreamProtocols(tls bool) *httpv3.HttpProtocolOptions {
	po := &httpv3.HttpProtocolOptions{
		CommonHttpProtocolOptions: &corev3.HttpProtocolOptions{IdleTimeout: durationpb.New(60 * time.Second)},
	}
	if tls {
		po.UpstreamProtocolOptions = &httpv3.HttpProtocolOptions_AutoConfig{AutoConfig: &httpv3.HttpProtocolOptions_AutoHttpConfig{
			HttpProtocolOptions:  &corev3.Http1ProtocolOptions{},
			Http2ProtocolOptions: &corev3.Http2ProtocolOptions{},
		}}
	} else {
		po.UpstreamProtocolOptions = &httpv3.HttpProtocolOptions_ExplicitHttpConfig_{ExplicitHttpConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig{
			ProtocolConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_HttpProtocolOptions{HttpProtocolOptions: &corev3.Http1ProtocolOptions{}},
		}}
	}
	return po
}

// deploymentProtocolOptions: upstreamProtocols; the attempt filter then the
// upstream codec.
func deploymentProtocolOptions(d *config.Deployment, fast, tls bool, o Options) (*anypb.Any, error) {
	po := upstreamProtocols(tls)
	if ModuleUpstream(o) {
		// Bare: every try runs the router's shared upstream filters (D55).
		return toAny(po)
	}
	af := AttemptFilter(d.ID, o)
	af.GrpcService.InitialMetadata = append(af.GrpcService.InitialMetadata, &corev3.HeaderValue{Key: contract.ProviderMetadataKey, Value: d.Provider})
	attempt, codec, err := attemptChain(af)
	if err != nil {
		return nil, err
	}
	po.HttpFilters = []*hcmv3.HttpFilter{attempt, codec}
	if fast {
		fp, err := fastPathFilters(d, o)
		if err != nil {
			return nil, err
		}
		po.HttpFilters = append(fp, codec)
	}
	return toAny(po)
}

// attemptChain is a cluster's upstream filters in ext_proc mode: the
// attempt filter af, then the upstream codec.
func attemptChain(af *extprocv3.ExternalProcessor) (attempt, codec *hcmv3.HttpFilter, err error) {
	if attempt, err = typedFilter("envoy.filters.http.ext_proc", af); err != nil {
		return nil, nil, err
	}
	codec, err = typedFilter("envoy.filters.http.upstream_codec", &upstreamcodecv3.UpstreamCodec{})
	return attempt, codec, err
}

// AttemptFilter is the ext_proc config of the attempt filter: request headers
// and the buffered body of each try, then the response headers. The server
// overrides the response body mode per response (buffered for JSON, streamed
// for SSE and eventstream, none when nothing needs translating).
func AttemptFilter(deploymentID string, o Options) *extprocv3.ExternalProcessor {
	o = o.withDefaults()
	gs := extProcGrpcService(o)
	gs.InitialMetadata = []*corev3.HeaderValue{{Key: contract.DeploymentMetadataKey, Value: deploymentID}, {Key: contract.PhaseMetadataKey, Value: contract.PhaseAttempt}}
	return &extprocv3.ExternalProcessor{
		GrpcService:    gs,
		MessageTimeout: durationpb.New(o.ExtProcTimeout),
		// A try held for LiteLLM's backoff (up to 8 s) asks for a longer
		// message timeout first (D18).
		MaxMessageTimeout: durationpb.New(60 * time.Second),
		// ext_proc unreachable or failing: 503, which local_reply_config turns
		// into OpenAI JSON (the gateway's own filters never answer 503).
		StatusOnError: &typev3.HttpStatus{Code: typev3.StatusCode_ServiceUnavailable},
		ProcessingMode: &extprocv3.ProcessingMode{
			RequestHeaderMode:   extprocv3.ProcessingMode_SEND,
			RequestBodyMode:     extprocv3.ProcessingMode_BUFFERED,
			RequestTrailerMode:  extprocv3.ProcessingMode_SKIP,
			ResponseHeaderMode:  extprocv3.ProcessingMode_SEND,
			ResponseBodyMode:    extprocv3.ProcessingMode_NONE,
			ResponseTrailerMode: extprocv3.ProcessingMode_SKIP,
		},
		AllowModeOverride: true,
		MutationRules:     allowRouting(),
		MetadataOptions: &extprocv3.MetadataOptions{
			ForwardingNamespaces: &extprocv3.MetadataOptions_MetadataNamespaces{Untyped: []string{contract.ContextMetadataNamespace, contract.SpacedMetadataNamespace}},
			ReceivingNamespaces:  &extprocv3.MetadataOptions_MetadataNamespaces{Untyped: []string{contract.SpacedMetadataNamespace}},
		},
	}
}

// ExtProcServiceCluster is the cluster of the ext_proc server (HTTP/2, on a
// Unix socket in `llmgate run`).
func ExtProcServiceCluster(o Options) (*clusterv3.Cluster, error) {
	o = o.withDefaults()
	var addrs []*corev3.Address
	typ := clusterv3.Cluster_STATIC
	if o.ExtProcSocket != "" {
		addrs = append(addrs, &corev3.Address{Address: &corev3.Address_Pipe{Pipe: &corev3.Pipe{Path: o.ExtProcSocket}}})
	} else {
		// Several replicas: a comma-separated list.
		for _, a := range strings.Split(o.ExtProcAddress, ",") {
			a = strings.TrimSpace(a)
			host, port, err := net.SplitHostPort(a)
			if err != nil {
				return nil, fmt.Errorf("ext_proc address %q: %w", a, err)
			}
			var p uint64
			if _, err := fmt.Sscan(port, &p); err != nil || p == 0 || p > 65535 {
				return nil, fmt.Errorf("ext_proc address %q: bad port", a)
			}
			if net.ParseIP(host) == nil {
				typ = clusterv3.Cluster_STRICT_DNS
			}
			addrs = append(addrs, socketAddress(host, uint32(p)))
		}
	}
	var lbs []*endpointv3.LbEndpoint
	for _, addr := range addrs {
		lbs = append(lbs, &endpointv3.LbEndpoint{HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{Address: addr}}})
	}
	po, err := toAny(&httpv3.HttpProtocolOptions{
		UpstreamProtocolOptions: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_{ExplicitHttpConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig{
			ProtocolConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_Http2ProtocolOptions{Http2ProtocolOptions: &corev3.Http2ProtocolOptions{
				MaxConcurrentStreams: wrapperspb.UInt32(1 << 20),
			}},
		}},
	})
	if err != nil {
		return nil, err
	}
	var ts *corev3.TransportSocket
	if o.ExtProcSocket == "" {
		if ts, err = UpstreamTLSSocket(o.ExtProcTLS); err != nil {
			return nil, err
		}
	}
	return &clusterv3.Cluster{
		TransportSocket:               ts,
		Name:                          ExtProcCluster,
		ConnectTimeout:                durationpb.New(2 * time.Second),
		ClusterDiscoveryType:          &clusterv3.Cluster_Type{Type: typ},
		PerConnectionBufferLimitBytes: wrapperspb.UInt32(o.MaxRequestBytes + 1<<20),
		LoadAssignment: &endpointv3.ClusterLoadAssignment{
			ClusterName: ExtProcCluster,
			Endpoints:   []*endpointv3.LocalityLbEndpoints{{LbEndpoints: lbs}},
		},
		TypedExtensionProtocolOptions: map[string]*anypb.Any{"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": po},
		CircuitBreakers:               extProcCircuitBreakers(o),
		HealthChecks:                  extProcHealthChecks(o),
	}, nil
}

// ExtProcHealthService is the grpc.health.v1 service name `llmgate extproc`
// reports; NOT_SERVING from the moment it starts draining.
const ExtProcHealthService = "envoy.service.ext_proc.v3.ExternalProcessor"

// extProcHealthChecks: in split mode Envoy checks each ext_proc replica
// every second over grpc.health.v1, so a replica that drains (SIGTERM) or
// dies stops getting new streams within about a second. None on the
// in-process Unix socket.
func extProcHealthChecks(o Options) []*corev3.HealthCheck {
	if o.ExtProcSocket != "" {
		return nil
	}
	return []*corev3.HealthCheck{{
		Timeout:            durationpb.New(time.Second),
		Interval:           durationpb.New(time.Second),
		NoTrafficInterval:  durationpb.New(time.Second),
		UnhealthyThreshold: wrapperspb.UInt32(1),
		HealthyThreshold:   wrapperspb.UInt32(1),
		HealthChecker: &corev3.HealthCheck_GrpcHealthCheck_{GrpcHealthCheck: &corev3.HealthCheck_GrpcHealthCheck{
			ServiceName: ExtProcHealthService,
		}},
	}}
}

func extProcGrpcService(o Options) *corev3.GrpcService {
	return &corev3.GrpcService{
		TargetSpecifier: &corev3.GrpcService_EnvoyGrpc_{EnvoyGrpc: &corev3.GrpcService_EnvoyGrpc{
			ClusterName:             ExtProcCluster,
			MaxReceiveMessageLength: wrapperspb.UInt32(o.MaxRequestBytes + 1<<20),
		}},
	}
}

func socketAddress(host string, port uint32) *corev3.Address {
	return &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
		Address:       host,
		PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port},
	}}}
}

func typedFilter(name string, m proto.Message) (*hcmv3.HttpFilter, error) {
	a, err := toAny(m)
	if err != nil {
		return nil, err
	}
	return &hcmv3.HttpFilter{Name: name, ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: a}}, nil
}
