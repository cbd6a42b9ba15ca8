package xds

import (
	"fmt"
	"net"
	"net/url"
	"sort"
	"strconv"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	mutationv3 "github.com/envoyproxy/go-control-plane/envoy/config/common/mutation_rules/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	tracev3 "github.com/envoyproxy/go-control-plane/envoy/config/trace/v3"
	headermutationv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/header_mutation/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/llmgate/llmgate/config"
)

// TracingCluster is the cluster of the OTLP collector Envoy's tracer
// exports its spans to.
const TracingCluster = "llmgate_otlp"

// tracingConf is Envoy's OpenTelemetry tracer, on with the otel callback
// (D37): it exports to the callback's OTLP endpoint, over the same protocol,
// with the same headers and service name.
type tracingConf struct {
	grpc    bool
	host    string
	port    uint32
	tls     bool
	path    string // the traces path over HTTP
	headers map[string]string
	service string
	// forward: forward_traceparent_to_llm_provider.
	forward bool
}

// tracingOf reads the otel callback's exporter settings; nil without the
// callback (or with an endpoint Envoy cannot reach: the callback itself
// reports that).
func tracingOf(cfg *config.Config) *tracingConf {
	if s, f := cfg.LiteLLM.CallbackEvents("otel"); !s && !f {
		return nil
	}
	lg := &cfg.LiteLLM.Logging
	u, err := url.Parse(lg.OTelEndpoint)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil
	}
	tc := &tracingConf{grpc: lg.OTelProtocol == "grpc", host: u.Hostname(), tls: u.Scheme == "https",
		path: u.EscapedPath(), headers: lg.OTelHeaders, service: lg.OTelServiceName, forward: cfg.LiteLLM.ForwardTraceparent}
	port := u.Port()
	switch {
	case port != "":
	case tc.tls:
		port = "443"
	default:
		port = "80"
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil || p == 0 {
		return nil
	}
	tc.port = uint32(p)
	if tc.path == "" {
		tc.path = "/v1/traces"
	}
	if tc.service == "" {
		tc.service = "litellm"
	}
	return tc
}

// tracing is the listener's tracing block: Envoy's OpenTelemetry tracer,
// every request sampled (the gateway's own spans are too), exporting to
// TracingCluster. A client's traceparent is continued; the request filter
// learns Envoy's span from the traceparent of its ext_proc stream, and the
// gateway's spans hang under it (extproc/traceparent.go).
func tracing(o Options) (*hcmv3.HttpConnectionManager_Tracing, error) {
	tc := o.tracing
	if tc == nil {
		return nil, nil
	}
	otel := &tracev3.OpenTelemetryConfig{ServiceName: tc.service}
	keys := make([]string, 0, len(tc.headers))
	for k := range tc.headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if tc.grpc {
		gs := &corev3.GrpcService{TargetSpecifier: &corev3.GrpcService_EnvoyGrpc_{EnvoyGrpc: &corev3.GrpcService_EnvoyGrpc{ClusterName: TracingCluster}},
			Timeout: durationpb.New(5 * time.Second)}
		for _, k := range keys {
			gs.InitialMetadata = append(gs.InitialMetadata, &corev3.HeaderValue{Key: k, Value: tc.headers[k]})
		}
		otel.GrpcService = gs
	} else {
		scheme := "http"
		if tc.tls {
			scheme = "https"
		}
		hs := &corev3.HttpService{HttpUri: &corev3.HttpUri{
			Uri:              scheme + "://" + net.JoinHostPort(tc.host, strconv.Itoa(int(tc.port))) + tc.path,
			HttpUpstreamType: &corev3.HttpUri_Cluster{Cluster: TracingCluster},
			Timeout:          durationpb.New(5 * time.Second),
		}}
		for _, k := range keys {
			hs.RequestHeadersToAdd = append(hs.RequestHeadersToAdd, &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: k, Value: tc.headers[k]}})
		}
		otel.HttpService = hs
	}
	a, err := toAny(otel)
	if err != nil {
		return nil, err
	}
	return &hcmv3.HttpConnectionManager_Tracing{Provider: &tracev3.Tracing_Http{
		Name:       "envoy.tracers.opentelemetry",
		ConfigType: &tracev3.Tracing_Http_TypedConfig{TypedConfig: a},
	}}, nil
}

// tracingCluster is the OTLP collector's cluster (HTTP/2 for gRPC, TLS for
// an https endpoint), nil without the tracer.
func tracingCluster(o Options) (*clusterv3.Cluster, error) {
	tc := o.tracing
	if tc == nil {
		return nil, nil
	}
	typ := clusterv3.Cluster_STATIC
	if net.ParseIP(tc.host) == nil {
		typ = clusterv3.Cluster_STRICT_DNS
	}
	c := &clusterv3.Cluster{
		Name:                 TracingCluster,
		ConnectTimeout:       durationpb.New(2 * time.Second),
		ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: typ},
		LoadAssignment: &endpointv3.ClusterLoadAssignment{
			ClusterName: TracingCluster,
			Endpoints: []*endpointv3.LocalityLbEndpoints{{LbEndpoints: []*endpointv3.LbEndpoint{{
				HostIdentifier: &endpointv3.LbEndpoint_Endpoint{Endpoint: &endpointv3.Endpoint{Address: socketAddress(tc.host, tc.port)}},
			}}}},
		},
	}
	if tc.grpc {
		po, err := toAny(&httpv3.HttpProtocolOptions{
			UpstreamProtocolOptions: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_{ExplicitHttpConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig{
				ProtocolConfig: &httpv3.HttpProtocolOptions_ExplicitHttpConfig_Http2ProtocolOptions{Http2ProtocolOptions: &corev3.Http2ProtocolOptions{}},
			}},
		})
		if err != nil {
			return nil, err
		}
		c.TypedExtensionProtocolOptions = map[string]*anypb.Any{"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": po}
	}
	if tc.tls {
		ts, err := upstreamTLS(tc.host, o.CABundle)
		if err != nil {
			return nil, fmt.Errorf("otlp cluster: %w", err)
		}
		c.TransportSocket = ts
	}
	return c, nil
}

// untraceFilter is an upstream filter that removes the trace context
// Envoy's tracer injected into a try (traceparent, tracestate), for tries
// that meet no attempt filter (the fast path, D45): the provider gets a
// traceparent only with forward_traceparent_to_llm_provider, as from
// LiteLLM. nil when Envoy does not trace or the header is to be forwarded.
// The attempt filter removes it on the other tries (extproc/forward.go).
func untraceFilter(o Options) (*hcmv3.HttpFilter, error) {
	if o.tracing == nil || o.tracing.forward {
		return nil, nil
	}
	return typedFilter("envoy.filters.http.header_mutation", &headermutationv3.HeaderMutation{Mutations: &headermutationv3.Mutations{
		RequestMutations: []*mutationv3.HeaderMutation{
			{Action: &mutationv3.HeaderMutation_Remove{Remove: "traceparent"}},
			{Action: &mutationv3.HeaderMutation_Remove{Remove: "tracestate"}},
		},
	}})
}
