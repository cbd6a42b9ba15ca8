package xds

import (
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"time"

	accesslogv3 "github.com/envoyproxy/go-control-plane/envoy/config/accesslog/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	celv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/filters/cel/v3"
	streamv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/stream/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/llmgate/llmgate/internal/contract"
)

// RequestFilter is the ext_proc config of the request filter, once per
// request, before the router: pipelined (docs/architecture.md D46) — the
// request headers, then the body streamed without waiting for their answer
// (FULL_DUPLEX_STREAMED); the filter answers once, after the last chunk: the
// headers, then the whole body. It may write the attempt
// plan into dynamic metadata and clears the route cache.
func RequestFilter(o Options) *extprocv3.ExternalProcessor {
	o = o.withDefaults()
	gs := extProcGrpcService(o)
	gs.InitialMetadata = []*corev3.HeaderValue{{Key: contract.PhaseMetadataKey, Value: contract.PhaseRequest}}
	f := &extprocv3.ExternalProcessor{
		GrpcService:    gs,
		MessageTimeout: durationpb.New(o.ExtProcTimeout),
		// /health calls every model and extends its own timeout up to this.
		MaxMessageTimeout: durationpb.New(60 * time.Second),
		// ext_proc unreachable or failing: 503, which local_reply_config turns
		// into OpenAI JSON (the gateway's own filters never answer 503).
		StatusOnError: &typev3.HttpStatus{Code: typev3.StatusCode_ServiceUnavailable},
		ProcessingMode: &extprocv3.ProcessingMode{
			RequestHeaderMode: extprocv3.ProcessingMode_SEND,
			RequestBodyMode:   extprocv3.ProcessingMode_FULL_DUPLEX_STREAMED,
			// Trailers, when a client sends them, are the body's end.
			RequestTrailerMode:  extprocv3.ProcessingMode_SEND,
			ResponseHeaderMode:  extprocv3.ProcessingMode_SKIP,
			ResponseBodyMode:    extprocv3.ProcessingMode_NONE,
			ResponseTrailerMode: extprocv3.ProcessingMode_SKIP,
		},
		// The filter sets content-length for the body it sends back (D12
		// or not), in the header answer it sends after the last chunk.
		AllowContentLengthHeader: true,
		MutationRules:            allowRouting(),
		MetadataOptions: &extprocv3.MetadataOptions{
			ReceivingNamespaces: &extprocv3.MetadataOptions_MetadataNamespaces{Untyped: []string{contract.PlanMetadataNamespace, contract.ContextMetadataNamespace, contract.FastMetadataNamespace, contract.FastAnswerMetadataNamespace}},
		},
	}
	if o.guardrailAnswers {
		// A post_call guardrail (D139): the answer's headers and buffered
		// body come to the request filter's stream while it is open — only
		// a request that runs such a guardrail keeps it open; any other
		// ends its stream once the request is answered.
		f.ProcessingMode.ResponseHeaderMode = extprocv3.ProcessingMode_SEND
		f.ProcessingMode.ResponseBodyMode = extprocv3.ProcessingMode_BUFFERED
		// A streamed answer is read chunk by chunk instead (D149): the
		// filter asks for it in its answer to the response headers.
		f.AllowModeOverride = true
	}
	if o.NoPriorityGroup {
		// Older Envoys (the degraded mode, D43): Envoy 1.36 has no
		// allow_content_length_header, and the duplex mode is not proven
		// there; the STREAMED pipeline (one answer per chunk, proven on 1.36)
		// runs there, and providers get the body chunked.
		f.ProcessingMode.RequestBodyMode = extprocv3.ProcessingMode_STREAMED
		f.ProcessingMode.RequestTrailerMode = extprocv3.ProcessingMode_SKIP
		f.SendBodyWithoutWaitingForHeaderResponse = true
		f.AllowContentLengthHeader = false
	}
	return f
}

// envoyFlags are the response flags of replies Envoy makes itself (no route,
// no healthy upstream, upstream failure or timeout, ext_proc failure, ...).
var envoyFlags = []string{"LH", "UH", "UT", "LR", "UR", "UF", "UC", "UO", "NR", "DI", "FI", "RL", "UAEX", "RLSE", "DC", "URX", "SI", "IH", "DPE", "UMSDR", "RFCF", "NFCF", "DT", "UPE", "NC", "OM", "DF", "DO", "DR", "UDO"}

// LocalReplyConfig rewrites Envoy's own error replies into OpenAI error JSON.
// Replies made by the gateway's ext_proc are already OpenAI JSON and carry no
// Envoy response flag, so they are left alone.
func LocalReplyConfig() *hcmv3.LocalReplyConfig {
	statusFilter := func(status uint32, typ string) *accesslogv3.AccessLogFilter {
		return &accesslogv3.AccessLogFilter{FilterSpecifier: &accesslogv3.AccessLogFilter_StatusCodeFilter{StatusCodeFilter: &accesslogv3.StatusCodeFilter{Comparison: &accesslogv3.ComparisonFilter{
			Op:    accesslogv3.ComparisonFilter_EQ,
			Value: &corev3.RuntimeUInt32{DefaultValue: status, RuntimeKey: "llmgate.local_reply." + typ},
		}}}}
	}
	mapper := func(status uint32, typ string, statusOnly ...bool) *hcmv3.ResponseMapper {
		f := &accesslogv3.AccessLogFilter{FilterSpecifier: &accesslogv3.AccessLogFilter_ResponseFlagFilter{ResponseFlagFilter: &accesslogv3.ResponseFlagFilter{Flags: envoyFlags}}}
		message := "%LOCAL_REPLY_BODY% (%RESPONSE_CODE_DETAILS%)"
		switch {
		case status == 0:
		case status == 503 && len(statusOnly) > 0:
			// A failing ext_proc (status_on_error): its details carry the gRPC
			// error text, which is internal; say what it means instead.
			f = statusFilter(status, typ)
			message = "The gateway could not process the request (its request processor is unavailable); try again"
		case status == 413 || status == 426:
			// Envoy's buffer limit (413) and the codec's protocol check (426)
			// answer without a response flag, as a failing ext_proc (503,
			// status_on_error, above) does; the gateway's own 413s (its
			// replies' details start with llmgate_: max_request_size_mb,
			// max_file_size_mb, D147) keep their body.
			f = &accesslogv3.AccessLogFilter{FilterSpecifier: &accesslogv3.AccessLogFilter_AndFilter{AndFilter: &accesslogv3.AndFilter{Filters: []*accesslogv3.AccessLogFilter{
				statusFilter(status, typ), notGatewayReplyFilter(),
			}}}}
		case status == 400 || status == 431:
			// The codec's errors on a request line or headers it cannot read
			// (400, and 431 for headers over the limits) carry their response
			// flag (DPE) only after the reply is made; they are told apart
			// from the gateway's own 400s and 431s by the request having no
			// :method.
			f = &accesslogv3.AccessLogFilter{FilterSpecifier: &accesslogv3.AccessLogFilter_AndFilter{AndFilter: &accesslogv3.AndFilter{Filters: []*accesslogv3.AccessLogFilter{
				statusFilter(status, typ), codecErrorFilter(),
			}}}}
		default:
			f = &accesslogv3.AccessLogFilter{FilterSpecifier: &accesslogv3.AccessLogFilter_AndFilter{AndFilter: &accesslogv3.AndFilter{Filters: []*accesslogv3.AccessLogFilter{
				f, statusFilter(status, typ),
			}}}}
		}
		return &hcmv3.ResponseMapper{
			Filter: f,
			BodyFormatOverride: &corev3.SubstitutionFormatString{
				Format: &corev3.SubstitutionFormatString_JsonFormat{JsonFormat: &structpb.Struct{Fields: map[string]*structpb.Value{
					"error": structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{
						"message": structpb.NewStringValue(message),
						"type":    structpb.NewStringValue(typ),
						"param":   structpb.NewNullValue(),
						"code":    structpb.NewStringValue("%RESPONSE_CODE%"),
					}}),
				}}},
				ContentType: "application/json",
			},
		}
	}
	return &hcmv3.LocalReplyConfig{Mappers: []*hcmv3.ResponseMapper{
		upstreamTimeoutMapper(),
		extProcTimeoutMapper(),
		mapper(404, "not_found_error"),
		mapper(413, "invalid_request_error"),
		mapper(400, "invalid_request_error"),
		mapper(431, "invalid_request_error"),
		mapper(426, "invalid_request_error"),
		mapper(408, "timeout_error"),
		mapper(504, "timeout_error"),
		mapper(429, "rate_limit_error"),
		mapper(503, "service_unavailable_error"),
		mapper(503, "service_unavailable_error", true),
		mapper(0, "api_error"),
	}}
}

// Listener is the client-facing listener: HTTP/1.1 and h2c, the request
// filter, then the router; routes come over RDS (ADS).
func Listener(o Options) (*listenerv3.Listener, error) {
	o = o.withDefaults()
	reqFilter, err := typedFilter("envoy.filters.http.ext_proc", RequestFilter(o))
	if err != nil {
		return nil, err
	}
	// The in-Envoy request filter before it, when on (xds/module.go, D53).
	reqFilters, err := requestFilters(o, reqFilter)
	if err != nil {
		return nil, err
	}
	rt := &routerv3.Router{SuppressEnvoyHeaders: false}
	if err := withOutcomeLog(rt, o); err != nil {
		return nil, err
	}
	// In module mode, one upstream filter chain for every cluster (D55).
	if err := withModuleUpstream(rt, o); err != nil {
		return nil, err
	}
	router, err := typedFilter("envoy.filters.http.router", rt)
	if err != nil {
		return nil, err
	}
	strip, err := StripInternalHeaders()
	if err != nil {
		return nil, err
	}
	h := &hcmv3.HttpConnectionManager{
		StatPrefix: "llmgate",
		CodecType:  hcmv3.HttpConnectionManager_AUTO,
		RouteSpecifier: &hcmv3.HttpConnectionManager_Rds{Rds: &hcmv3.Rds{
			RouteConfigName: RouteConfigName,
			ConfigSource: &corev3.ConfigSource{
				ResourceApiVersion:    corev3.ApiVersion_V3,
				ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}},
			},
		}},
		HttpFilters:      append(append([]*hcmv3.HttpFilter{strip}, reqFilters...), router),
		LocalReplyConfig: LocalReplyConfig(),
		// Long generations: no request timeout; streams are bounded by route idle timeouts.
		RequestTimeout:    durationpb.New(0),
		StreamIdleTimeout: durationpb.New(10 * time.Minute),
		// Slow clients: the headers must arrive within this.
		RequestHeadersTimeout: durationpb.New(RequestHeadersTimeout),
		// LiteLLM accepts HTTP/1.0 (Envoy answers 426 by default).
		HttpProtocolOptions: &corev3.Http1ProtocolOptions{AcceptHttp_10: true, DefaultHostForHttp_10: "llmgate"},
		// Above what a client may send (ClientMaxHeaders): room for the
		// headers Envoy and the gateway add.
		CommonHttpProtocolOptions: &corev3.HttpProtocolOptions{MaxHeadersCount: wrapperspb.UInt32(EnvoyMaxHeaders)},
		MaxRequestHeadersKb:       wrapperspb.UInt32(EnvoyMaxHeadersKB),
		UseRemoteAddress:          wrapperspb.Bool(true),
		GenerateRequestId:         wrapperspb.Bool(true),
		Http2ProtocolOptions: &corev3.Http2ProtocolOptions{
			InitialStreamWindowSize:     wrapperspb.UInt32(16 << 20),
			InitialConnectionWindowSize: wrapperspb.UInt32(32 << 20),
		},
	}
	// No tracer: the otel callback's spans are built from the outcomes (D58).
	if o.AccessLog {
		al, err := toAny(&streamv3.StdoutAccessLog{AccessLogFormat: &streamv3.StdoutAccessLog_LogFormat{LogFormat: accessLogFormat(o.JSONAccessLog)}})
		if err != nil {
			return nil, err
		}
		h.AccessLog = []*accesslogv3.AccessLog{{Name: "envoy.access_loggers.stdout", ConfigType: &accesslogv3.AccessLog_TypedConfig{TypedConfig: al}}}
	}
	if ol, err := outcomeRequestLog(o); err != nil {
		return nil, err
	} else if ol != nil {
		h.AccessLog = append(h.AccessLog, ol)
	}
	if passThroughObserved(&o.PassThrough) || o.realtime {
		// Before the router: it sees the provider's answer first (D128).
		obs, err := passThroughObserver(o)
		if err != nil {
			return nil, err
		}
		n := len(h.HttpFilters)
		h.HttpFilters = append(h.HttpFilters[:n-1:n-1], obs, h.HttpFilters[n-1])
	}
	if o.FastPath && o.RequestModule == nil { // the module's response hooks otherwise (D54)
		lua, err := fastPathLuaFilter()
		if err != nil {
			return nil, err
		}
		// After the request filter, before the router (D45).
		n := len(h.HttpFilters)
		h.HttpFilters = append(h.HttpFilters[:n-1:n-1], lua, h.HttpFilters[n-1])
	}
	if o.providerHeaders {
		ph, err := providerHeadersFilter()
		if err != nil {
			return nil, err
		}
		// Last before the router: it sees the provider's answer first,
		// before any filter adds its own headers (providerheaders.go).
		n := len(h.HttpFilters)
		h.HttpFilters = append(h.HttpFilters[:n-1:n-1], ph, h.HttpFilters[n-1])
	}
	hcmAny, err := toAny(h)
	if err != nil {
		return nil, err
	}
	return &listenerv3.Listener{
		Name:                          ListenerName,
		Address:                       socketAddress(o.ListenAddress, o.Port),
		PerConnectionBufferLimitBytes: wrapperspb.UInt32(o.MaxRequestBytes),
		// No SO_REUSEPORT: a second Envoy on a taken port fails to bind
		// instead of sharing the port with this one (D50); the workers
		// share one socket, balanced exactly.
		EnableReusePort:         wrapperspb.Bool(false),
		ConnectionBalanceConfig: exactBalance(),
		FilterChains: []*listenerv3.FilterChain{{
			Filters: []*listenerv3.Filter{{
				Name:       "envoy.filters.network.http_connection_manager",
				ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: hcmAny},
			}},
		}},
	}, nil
}

// exactBalance hands each accepted connection to the worker with the fewest
// (without SO_REUSEPORT the kernel no longer spreads them).
func exactBalance() *listenerv3.Listener_ConnectionBalanceConfig {
	return &listenerv3.Listener_ConnectionBalanceConfig{BalanceType: &listenerv3.Listener_ConnectionBalanceConfig_ExactBalance_{
		ExactBalance: &listenerv3.Listener_ConnectionBalanceConfig_ExactBalance{},
	}}
}

// upstreamTimeoutMapper answers a request whose last try timed out (Envoy's
// per_try_timeout, response flag UT, 504) as LiteLLM does: 408 with its
// Timeout exception's type and message (docs/architecture.md D18).
func upstreamTimeoutMapper() *hcmv3.ResponseMapper {
	return &hcmv3.ResponseMapper{
		Filter: &accesslogv3.AccessLogFilter{FilterSpecifier: &accesslogv3.AccessLogFilter_ResponseFlagFilter{
			ResponseFlagFilter: &accesslogv3.ResponseFlagFilter{Flags: []string{"UT"}}}},
		StatusCode: wrapperspb.UInt32(408),
		BodyFormatOverride: &corev3.SubstitutionFormatString{
			Format: &corev3.SubstitutionFormatString_JsonFormat{JsonFormat: &structpb.Struct{Fields: map[string]*structpb.Value{
				"error": structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{
					"message": structpb.NewStringValue("litellm.Timeout: APITimeoutError - Request timed out. Received Model Group=%DYNAMIC_METADATA(" + contract.ContextMetadataNamespace + ":group)%\nAvailable Model Group Fallbacks=None"),
					"type":    structpb.NewStringValue("timeout_error"),
					"param":   structpb.NewNullValue(),
					"code":    structpb.NewStringValue("408"),
				}}),
			}}},
			ContentType: "application/json",
		},
	}
}

// codecErrorFilter matches replies of Envoy's HTTP codecs: their response
// code details start with "http1." or "http2." (the gateway's own replies'
// details start with "llmgate_").
// notGatewayReplyFilter matches a reply the gateway's filters did not make
// (theirs carry details llmgate_…).
func notGatewayReplyFilter() *accesslogv3.AccessLogFilter {
	cel, _ := anypb.New(&celv3.ExpressionFilter{Expression: "!response.code_details.startsWith('llmgate_')"})
	return &accesslogv3.AccessLogFilter{FilterSpecifier: &accesslogv3.AccessLogFilter_ExtensionFilter{ExtensionFilter: &accesslogv3.ExtensionFilter{
		Name: "envoy.access_loggers.extension_filters.cel", ConfigType: &accesslogv3.ExtensionFilter_TypedConfig{TypedConfig: cel},
	}}}
}

func codecErrorFilter() *accesslogv3.AccessLogFilter {
	cel, _ := anypb.New(&celv3.ExpressionFilter{Expression: "response.code_details.startsWith('http1.') || response.code_details.startsWith('http2.')"})
	return &accesslogv3.AccessLogFilter{FilterSpecifier: &accesslogv3.AccessLogFilter_ExtensionFilter{ExtensionFilter: &accesslogv3.ExtensionFilter{
		Name: "envoy.access_loggers.extension_filters.cel", ConfigType: &accesslogv3.ExtensionFilter_TypedConfig{TypedConfig: cel},
	}}}
}
