package callbacks

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	"go.opentelemetry.io/otel/trace"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonv1 "go.opentelemetry.io/proto/otlp/common/v1"
	resourcev1 "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"

	"github.com/llmgate/llmgate/internal/outcome"
)

// OTel is the otel callback's name.
const OTel = "otel"

// OTelSettings configure the OTLP trace exporter.
type OTelSettings struct {
	Protocol string // "grpc" or "http/protobuf"
	Endpoint string // traces URL (http/protobuf) or target URL (grpc)
	// MetricsEndpoint is the metrics URL (http/protobuf) or target URL
	// (grpc) of the GenAI metrics; empty: no metrics.
	MetricsEndpoint string
	Headers         map[string]string
	ServiceName     string
	// Sampler and SamplerRatio are OTEL_TRACES_SAMPLER and its argument
	// (config.Sampler*; "" is the default, parentbased_always_on).
	Sampler      string
	SamplerRatio float64
	// LogsEndpoint, when set, receives an OTLP log record per client
	// request (the access log; LogsProtocol "grpc" or "http/protobuf").
	LogsEndpoint string
	LogsProtocol string
	LogsHeaders  map[string]string
}

// tracesExporter sends the spans as OTLP export requests built directly
// (D58: no SDK span pipeline: the SDK's conversion of read-only spans was
// most of the otel callback's CPU), over OTLP/HTTP protobuf or OTLP/gRPC.
type tracesExporter struct {
	c          *otlpClient
	grpcTraces collectortrace.TraceServiceClient
	resource   *resourcev1.Resource
}

func newTracesExporter(s *OTelSettings, client *http.Client) (*tracesExporter, error) {
	c, err := newOTLPClient(s.Protocol, s.Endpoint, s.Headers, client)
	if err != nil {
		return nil, err
	}
	x := &tracesExporter{c: c, resource: serviceResource(s.ServiceName)}
	if c.conn != nil {
		x.grpcTraces = collectortrace.NewTraceServiceClient(c.conn)
	}
	return x, nil
}

func (x *tracesExporter) close() { x.c.close() }

// postOTel exports a batch of tries as spans.
func (m *Manager) postOTel(ctx context.Context, batch []outcome.Try) error {
	m.mu.Lock()
	x := m.otelTraces
	m.mu.Unlock()
	if x == nil {
		return nil
	}
	spans := make([]*tracepb.Span, 0, 3*len(batch))
	for i := range batch {
		spans = append(spans, Spans(&batch[i])...)
	}
	req := &collectortrace.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{Resource: x.resource,
		ScopeSpans: []*tracepb.ScopeSpans{{Scope: scope, Spans: spans}}}}}
	if x.grpcTraces != nil {
		_, err := x.grpcTraces.Export(x.c.outgoing(ctx), req)
		return err
	}
	return x.c.post(ctx, req)
}

// scope is the instrumentation scope of the spans and log records.
var scope = &commonv1.InstrumentationScope{Name: "github.com/llmgate/llmgate"}

// serviceResource is the OTLP resource of the spans and log records.
func serviceResource(service string) *resourcev1.Resource {
	return &resourcev1.Resource{Attributes: []*commonv1.KeyValue{strAttr("service.name", service)}}
}

// otelResource is the SDK resource of the GenAI metrics (the same service).
func otelResource(service string) *resource.Resource {
	return resource.NewSchemaless(attribute.String("service.name", service))
}

// operation is the GenAI semantic conventions' gen_ai.operation.name.
func operation(endpoint string) string {
	switch endpoint {
	case "completions":
		return "text_completion"
	case "embeddings":
		return "embeddings"
	}
	return "chat"
}

// traceIDs returns the request's trace id and the parent of its request
// span: the client's traceparent when it sent one, else a trace id derived
// from the call id (every try of a request lands in the same trace).
func traceIDs(t *outcome.Try) (trace.TraceID, trace.SpanID) {
	if tp := t.Traceparent; len(tp) == 55 {
		tid, err1 := trace.TraceIDFromHex(tp[3:35])
		sid, err2 := trace.SpanIDFromHex(tp[36:52])
		if err1 == nil && err2 == nil {
			return tid, sid
		}
	}
	var tid trace.TraceID
	if b, err := hex.DecodeString(strings.ReplaceAll(t.CallID, "-", "")); err == nil && len(b) == 16 {
		copy(tid[:], b)
	} else {
		h := sha256.Sum256([]byte(t.CallID))
		copy(tid[:], h[:16])
	}
	return tid, trace.SpanID{}
}

func spanID(parts ...string) trace.SpanID {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	var id trace.SpanID
	copy(id[:], h[:8])
	if !id.IsValid() {
		id[7] = 1
	}
	return id
}

// Spans are a try's spans: the attempt span (a child of the request span),
// and, for the try whose answer reached the client, the request span
// litellm_request and above it the server span (LiteLLM's "Received Proxy
// Server Request", a child of the client's span when it sent a
// traceparent: what Envoy's own server span told, D58). Span ids are
// derived from the call id, so the tries of one request, exported apart,
// form one tree.
func Spans(t *outcome.Try) []*tracepb.Span {
	tid, parent := traceIDs(t)
	reqID := spanID(t.CallID, "request")
	op := operation(t.Endpoint)
	attrs := []*commonv1.KeyValue{
		strAttr("gen_ai.operation.name", op),
		strAttr("gen_ai.provider.name", t.Provider),
		strAttr("gen_ai.system", t.Provider),
		strAttr("gen_ai.request.model", t.Model),
		strAttr("gen_ai.response.model", t.Model),
		intAttr("gen_ai.usage.input_tokens", t.PromptTokens),
		intAttr("gen_ai.usage.output_tokens", t.CompletionTokens),
		strAttr("litellm.call_id", t.CallID),
		strAttr("llm.model_group", t.ModelGroup),
		strAttr("llmgate.deployment_id", t.DeploymentID),
		strAttr("server.address", t.APIBase),
		intAttr("llmgate.attempt", t.Attempt),
		intAttr("llmgate.retry", t.Retry),
		intAttr("llmgate.fallback", t.Fallback),
		strAttr("llmgate.answer", t.Answer.String()),
	}
	if t.Status > 0 {
		attrs = append(attrs, intAttr("http.response.status_code", t.Status))
	}
	if t.CostKnown {
		attrs = append(attrs, &commonv1.KeyValue{Key: "gen_ai.usage.cost", Value: &commonv1.AnyValue{Value: &commonv1.AnyValue_DoubleValue{DoubleValue: t.Cost}}})
	}
	status := &tracepb.Status{Code: tracepb.Status_STATUS_CODE_OK}
	var cls string
	if t.Failed() {
		cls = errorClass(t)
		attrs = append(attrs, strAttr("error.type", cls))
		status = &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: "litellm." + cls + " " + strconv.Itoa(t.Status)}
	}
	start := t.End.Add(-t.Latency)
	if t.Latency <= 0 || start.Before(t.Start) {
		start = t.Start
	}
	tidb := tid[:]
	out := make([]*tracepb.Span, 0, 3)
	if !t.Refused { // a refused request made no try
		id := spanID(t.CallID, "attempt", strconv.Itoa(t.Attempt))
		out = append(out, &tracepb.Span{TraceId: tidb, SpanId: id[:], ParentSpanId: reqID[:], Flags: 0x101,
			Name: op + " " + t.Model, Kind: tracepb.Span_SPAN_KIND_CLIENT,
			StartTimeUnixNano: unixNano(start), EndTimeUnixNano: unixNano(t.End), Attributes: attrs, Status: status})
	}
	if t.Answer != outcome.AnswerSent {
		return out
	}
	srvID := spanID(t.CallID, "server")
	srvAttrs := []*commonv1.KeyValue{
		strAttr("http.request.method", "POST"),
		strAttr("url.path", t.Route),
		strAttr("http.route", t.Route),
		strAttr("litellm.call_id", t.CallID),
	}
	reqAttrs := []*commonv1.KeyValue{
		strAttr("gen_ai.operation.name", op),
		strAttr("gen_ai.provider.name", t.Provider),
		strAttr("gen_ai.system", t.Provider),
		strAttr("gen_ai.request.model", t.RequestedModel),
		strAttr("gen_ai.response.model", t.Model),
		intAttr("gen_ai.usage.input_tokens", t.PromptTokens),
		intAttr("gen_ai.usage.output_tokens", t.CompletionTokens),
		strAttr("litellm.call_id", t.CallID),
		strAttr("llm.model_group", t.ModelGroup),
		strAttr("http.route", t.Route),
		intAttr("llmgate.attempts", t.Attempt+1),
	}
	if t.Status > 0 {
		srvAttrs = append(srvAttrs, intAttr("http.response.status_code", t.Status))
		reqAttrs = append(reqAttrs, intAttr("http.response.status_code", t.Status))
	}
	if cls != "" {
		srvAttrs = append(srvAttrs, strAttr("error.type", cls))
	}
	srv := &tracepb.Span{TraceId: tidb, SpanId: srvID[:], Flags: 0x101, Name: ServerSpanName, Kind: tracepb.Span_SPAN_KIND_SERVER,
		StartTimeUnixNano: unixNano(t.Start), EndTimeUnixNano: unixNano(t.End), Attributes: srvAttrs, Status: status}
	if parent.IsValid() {
		srv.ParentSpanId, srv.Flags = parent[:], 0x301 // sampled, remote parent
	}
	return append(out, srv, &tracepb.Span{TraceId: tidb, SpanId: reqID[:], ParentSpanId: srvID[:], Flags: 0x101,
		Name: "litellm_request", Kind: tracepb.Span_SPAN_KIND_INTERNAL,
		StartTimeUnixNano: unixNano(t.Start), EndTimeUnixNano: unixNano(t.End), Attributes: reqAttrs, Status: status})
}

// ServerSpanName is LiteLLM's name of the proxy's server span.
const ServerSpanName = "Received Proxy Server Request"

func unixNano(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(t.UnixNano())
}

func intAttr(k string, v int) *commonv1.KeyValue {
	return &commonv1.KeyValue{Key: k, Value: &commonv1.AnyValue{Value: &commonv1.AnyValue_IntValue{IntValue: int64(v)}}}
}
