package xds

import (
	"fmt"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	accesslogv3 "github.com/envoyproxy/go-control-plane/envoy/config/accesslog/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	mutationv3 "github.com/envoyproxy/go-control-plane/envoy/config/common/mutation_rules/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	tracev3 "github.com/envoyproxy/go-control-plane/envoy/config/trace/v3"
	otelalsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/open_telemetry/v3"
	headermutationv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/header_mutation/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/contract"
	commonv1 "go.opentelemetry.io/proto/otlp/common/v1"
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

// otlpAccessLog is the listener's OTLP access log, on with the otel callback
// beside Envoy's tracer: one log record per request to the same collector
// (OTLP logs: gRPC, or OTLP/HTTP to /v1/logs beside the traces path), its
// body the stdout access log's line, its attributes the same facts one by
// one (the client's path, model, model group, status, attempts, cluster,
// call id, durations, the fast path's tokens). Envoy stamps each record
// with the request's trace and span ids. nil without the tracer.
func otlpAccessLog(o Options) (*accesslogv3.AccessLog, error) {
	tc := o.tracing
	if tc == nil {
		return nil, nil
	}
	line := accessLogFormat(false)
	body := strings.TrimSuffix(line.GetTextFormatSource().GetInlineString(), "\n")
	attrs := map[string]string{
		"http.request.method": "%REQ(:METHOD)%", "url.path": clientPath, "network.protocol.name": "%PROTOCOL%",
		"http.response.status_code": "%RESPONSE_CODE%", "envoy.response_flags": "%RESPONSE_FLAGS%",
		"duration_ms": "%DURATION%", "upstream_ttfb_ms": "%RESPONSE_DURATION%",
		"attempts": "%UPSTREAM_REQUEST_ATTEMPT_COUNT%", "gen_ai.request.model": ctxField("model"), "llm.model_group": ctxField("group"),
		"envoy.cluster": "%UPSTREAM_CLUSTER%", "server.address": "%UPSTREAM_HOST%", "litellm.call_id": "%REQ(X-REQUEST-ID)%",
		"gen_ai.usage.input_tokens":  "%DYNAMIC_METADATA(" + contract.UsageMetadataNamespace + ":prompt_tokens)%",
		"gen_ai.usage.output_tokens": "%DYNAMIC_METADATA(" + contract.UsageMetadataNamespace + ":completion_tokens)%",
	}
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	kvs := &commonv1.KeyValueList{}
	for _, k := range keys {
		kvs.Values = append(kvs.Values, &commonv1.KeyValue{Key: k, Value: &commonv1.AnyValue{Value: &commonv1.AnyValue_StringValue{StringValue: attrs[k]}}})
	}
	cfg := &otelalsv3.OpenTelemetryAccessLogConfig{
		LogName:    "llmgate",
		StatPrefix: "llmgate_otlp_logs",
		Body:       &commonv1.AnyValue{Value: &commonv1.AnyValue_StringValue{StringValue: body}},
		Attributes: kvs,
		Formatters: line.Formatters,
		ResourceAttributes: &commonv1.KeyValueList{Values: []*commonv1.KeyValue{{Key: "service.name",
			Value: &commonv1.AnyValue{Value: &commonv1.AnyValue_StringValue{StringValue: tc.service}}}}},
	}
	if tc.grpc {
		gs := &corev3.GrpcService{TargetSpecifier: &corev3.GrpcService_EnvoyGrpc_{EnvoyGrpc: &corev3.GrpcService_EnvoyGrpc{ClusterName: TracingCluster}}}
		for _, k := range sortedKeys(tc.headers) {
			gs.InitialMetadata = append(gs.InitialMetadata, &corev3.HeaderValue{Key: k, Value: tc.headers[k]})
		}
		cfg.GrpcService = gs
	} else {
		path := "/v1/logs"
		if p, ok := strings.CutSuffix(tc.path, "/v1/traces"); ok {
			path = p + "/v1/logs"
		}
		scheme := "http"
		if tc.tls {
			scheme = "https"
		}
		hs := &corev3.HttpService{HttpUri: &corev3.HttpUri{
			Uri:              scheme + "://" + net.JoinHostPort(tc.host, strconv.Itoa(int(tc.port))) + path,
			HttpUpstreamType: &corev3.HttpUri_Cluster{Cluster: TracingCluster},
			Timeout:          durationpb.New(5 * time.Second),
		}}
		for _, k := range sortedKeys(tc.headers) {
			hs.RequestHeadersToAdd = append(hs.RequestHeadersToAdd, &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: k, Value: tc.headers[k]}})
		}
		cfg.HttpService = hs
	}
	a, err := toAny(cfg)
	if err != nil {
		return nil, err
	}
	return &accesslogv3.AccessLog{Name: "envoy.access_loggers.open_telemetry", ConfigType: &accesslogv3.AccessLog_TypedConfig{TypedConfig: a}}, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
