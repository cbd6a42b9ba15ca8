package xds

import (
	"time"

	accesslogv3 "github.com/envoyproxy/go-control-plane/envoy/config/accesslog/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	grpcalsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/grpc/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/model"
)

// Outcomes off the request path (docs/architecture.md D44): Envoy reports
// every upstream try (the router's upstream_log) and every planned request
// (the HCM's access_log) to the gateway's gRPC access-log service
// (envoy.service.accesslog.v3, served beside ext_proc). The gateway joins the
// entries of one request by its x-request-id and turns the tries no attempt
// filter reported into outcome events (extproc/als.go).

// ALSCluster is the cluster of the gateway's access-log service: the same
// endpoints as the ext_proc cluster (one gRPC server serves both), its own
// connections and stats.
const ALSCluster = "llmgate_als"

// OutcomeLogName is the log_name of the outcome access log. The per-try and
// the per-request logger share one config, so Envoy gives them one logger and
// one gRPC stream per worker: the entries of one request arrive in order on
// one stream, at one replica.
const OutcomeLogName = "llmgate_outcomes"

// OutcomeLogFlushInterval bounds how long an entry waits in Envoy's buffer
// before it is sent (a full buffer, OutcomeLogBufferBytes, is sent at once).
// Outcomes feed cooldowns and latency routing, so the wait is short.
const OutcomeLogFlushInterval = 20 * time.Millisecond

// OutcomeLogBufferBytes is the size at which Envoy sends buffered entries.
const OutcomeLogBufferBytes = 16 << 10

// OutcomeResponseHeaders are the provider response headers logged with each
// try (the rest of the try is in the entry's common properties).
var OutcomeResponseHeaders = []string{"retry-after", "x-ratelimit-remaining-requests", "x-ratelimit-remaining-tokens"}

// outcomeLogConfig is the one gRPC access-log config of both loggers.
func outcomeLogConfig(o Options) *grpcalsv3.HttpGrpcAccessLogConfig {
	return &grpcalsv3.HttpGrpcAccessLogConfig{
		CommonConfig: &grpcalsv3.CommonGrpcAccessLogConfig{
			LogName:             OutcomeLogName,
			TransportApiVersion: corev3.ApiVersion_V3,
			GrpcService: &corev3.GrpcService{TargetSpecifier: &corev3.GrpcService_EnvoyGrpc_{EnvoyGrpc: &corev3.GrpcService_EnvoyGrpc{
				ClusterName: ALSCluster,
			}}},
			BufferFlushInterval: durationpb.New(OutcomeLogFlushInterval),
			BufferSizeBytes:     wrapperspb.UInt32(OutcomeLogBufferBytes),
			// The stream to the gateway is reopened when it fails (a
			// restarted replica); entries logged while it is down are
			// dropped and counted by Envoy, never a request's failure.
			GrpcStreamRetryPolicy: &corev3.RetryPolicy{
				RetryBackOff: &corev3.BackoffStrategy{BaseInterval: durationpb.New(100 * time.Millisecond), MaxInterval: durationpb.New(time.Second)},
				NumRetries:   wrapperspb.UInt32(1 << 20),
			},
		},
		AdditionalResponseHeadersToLog: OutcomeResponseHeaders,
	}
}

// outcomeLog is one access logger of the outcome log; filter, when set,
// decides which entries are logged.
func outcomeLog(o Options, filter *accesslogv3.AccessLogFilter) (*accesslogv3.AccessLog, error) {
	a, err := toAny(outcomeLogConfig(o))
	if err != nil {
		return nil, err
	}
	return &accesslogv3.AccessLog{Name: "envoy.access_loggers.http_grpc", Filter: filter, ConfigType: &accesslogv3.AccessLog_TypedConfig{TypedConfig: a}}, nil
}

// withOutcomeLog adds the per-try logger to the router: one entry when each
// try ends (its cluster, status, response flags, timings, the headers above).
func withOutcomeLog(r *routerv3.Router, o Options) error {
	if !o.OutcomeLog {
		return nil
	}
	l, err := outcomeLog(o, moduleTryFilter(o))
	if err != nil {
		return err
	}
	r.UpstreamLog = append(r.UpstreamLog, l)
	// One entry at each try's end, none when its connection is ready nor
	// periodically.
	r.UpstreamLogOptions = &routerv3.Router_UpstreamAccessLogOptions{FlushUpstreamLogOnUpstreamStream: false}
	return nil
}

// outcomeRequestLog is the per-request logger of the HCM: one entry when a
// request the request filter planned ends (it carries llmgate.ctx and the
// usage metadata llmgate.usage); requests answered by the gateway itself
// (management routes, refusals) have no context and are not logged.
func outcomeRequestLog(o Options) (*accesslogv3.AccessLog, error) {
	if !o.OutcomeLog || ModuleOutcomes(o) {
		return nil, nil
	}
	planned := &accesslogv3.AccessLogFilter{FilterSpecifier: &accesslogv3.AccessLogFilter_MetadataFilter{MetadataFilter: &accesslogv3.MetadataFilter{
		Matcher: &matcherv3.MetadataMatcher{
			Filter: contract.ContextMetadataNamespace,
			Path:   []*matcherv3.MetadataMatcher_PathSegment{{Segment: &matcherv3.MetadataMatcher_PathSegment_Key{Key: "ctx"}}},
			Value:  &matcherv3.ValueMatcher{MatchPattern: &matcherv3.ValueMatcher_PresentMatch{PresentMatch: true}},
		},
		MatchIfKeyNotFound: wrapperspb.Bool(false),
	}}}
	return outcomeLog(o, planned)
}

// ALSServiceCluster is the cluster of the access-log service: the ext_proc
// cluster's endpoints, TLS and health checks under its own name. A worker
// holds one stream for the whole run, so the circuit breakers (sized as the
// ext_proc cluster's, D15) are never the limit.
func ALSServiceCluster(o Options) (*clusterv3.Cluster, error) {
	c, err := ExtProcServiceCluster(o)
	if err != nil {
		return nil, err
	}
	c = proto.Clone(c).(*clusterv3.Cluster)
	c.Name = ALSCluster
	c.LoadAssignment.ClusterName = ALSCluster
	return c, nil
}

// outcomeLogWanted: the outcome log is on when some deployment has a
// fast-path cluster, whose successful tries meet no attempt filter (D45).
func outcomeLogWanted(m *model.Model, o Options) bool {
	if !o.FastPath {
		return false
	}
	for _, d := range m.Deployments {
		if FastPath(d) {
			return true
		}
	}
	return false
}

// ModuleOutcomes: the module sends one outcome record per planned request
// (with the try that answered) to the access-log service, so the HCM has no
// per-request outcome entry and the router logs only the tries that did not
// succeed (docs/architecture.md D54).
func ModuleOutcomes(o Options) bool {
	return o.RequestModule != nil && o.RequestModule.OutcomeSocket != ""
}

// moduleTryFilter is the per-try logger's filter in module mode: a try with
// a status of 400 or more, without a response (0), or with any response
// flag (a reset, a timeout, a refused connection, the client gone) — every
// try the module does not report. nil (every try) otherwise.
func moduleTryFilter(o Options) *accesslogv3.AccessLogFilter {
	if !ModuleOutcomes(o) {
		return nil
	}
	status := func(op accesslogv3.ComparisonFilter_Op, v uint32, key string) *accesslogv3.AccessLogFilter {
		return &accesslogv3.AccessLogFilter{FilterSpecifier: &accesslogv3.AccessLogFilter_StatusCodeFilter{StatusCodeFilter: &accesslogv3.StatusCodeFilter{
			Comparison: &accesslogv3.ComparisonFilter{Op: op, Value: &corev3.RuntimeUInt32{DefaultValue: v, RuntimeKey: key}},
		}}}
	}
	return &accesslogv3.AccessLogFilter{FilterSpecifier: &accesslogv3.AccessLogFilter_OrFilter{OrFilter: &accesslogv3.OrFilter{Filters: []*accesslogv3.AccessLogFilter{
		status(accesslogv3.ComparisonFilter_GE, 400, "llmgate.outcome_log.error_status"),
		status(accesslogv3.ComparisonFilter_LE, 0, "llmgate.outcome_log.no_response_status"),
		{FilterSpecifier: &accesslogv3.AccessLogFilter_ResponseFlagFilter{ResponseFlagFilter: &accesslogv3.ResponseFlagFilter{}}},
	}}}}
}
