package callbacks

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

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

// newExporter builds the OTLP span exporter. Its own retry is off: the
// sender retries with back-off and counts what it drops.
func newExporter(s *OTelSettings) (sdktrace.SpanExporter, error) {
	u, err := url.Parse(s.Endpoint)
	if err != nil {
		return nil, err
	}
	if s.Protocol == "grpc" {
		host := u.Host
		if host == "" { // "host:port" without a scheme
			host = s.Endpoint
		}
		opts := []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(host), otlptracegrpc.WithHeaders(s.Headers),
			otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: false}), otlptracegrpc.WithTimeout(PostTimeout)}
		if u.Scheme != "https" {
			opts = append(opts, otlptracegrpc.WithInsecure())
		}
		return otlptracegrpc.New(context.Background(), opts...)
	}
	opts := []otlptracehttp.Option{otlptracehttp.WithEndpointURL(s.Endpoint), otlptracehttp.WithHeaders(s.Headers),
		otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false}), otlptracehttp.WithTimeout(PostTimeout)}
	return otlptracehttp.New(context.Background(), opts...)
}

// postOTel exports a batch of tries as spans.
func (m *Manager) postOTel(ctx context.Context, batch []outcome.Try) error {
	m.mu.Lock()
	exp, res := m.otelExporter, m.otelResource
	m.mu.Unlock()
	if exp == nil {
		return nil
	}
	var spans []sdktrace.ReadOnlySpan
	for i := range batch {
		spans = append(spans, Spans(&batch[i], res)...)
	}
	return exp.ExportSpans(ctx, spans)
}

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
func Spans(t *outcome.Try, res *resource.Resource) []sdktrace.ReadOnlySpan {
	tid, parent := traceIDs(t)
	reqID := spanID(t.CallID, "request")
	op := operation(t.Endpoint)
	sc := func(id trace.SpanID, remote bool) trace.SpanContext {
		return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: id, TraceFlags: trace.FlagsSampled, Remote: remote})
	}
	scope := instrumentation.Scope{Name: "github.com/llmgate/llmgate"}
	attrs := []attribute.KeyValue{
		attribute.String("gen_ai.operation.name", op),
		attribute.String("gen_ai.provider.name", t.Provider),
		attribute.String("gen_ai.system", t.Provider),
		attribute.String("gen_ai.request.model", t.Model),
		attribute.String("gen_ai.response.model", t.Model),
		attribute.Int("gen_ai.usage.input_tokens", t.PromptTokens),
		attribute.Int("gen_ai.usage.output_tokens", t.CompletionTokens),
		attribute.String("litellm.call_id", t.CallID),
		attribute.String("llm.model_group", t.ModelGroup),
		attribute.String("llmgate.deployment_id", t.DeploymentID),
		attribute.String("server.address", t.APIBase),
		attribute.Int("llmgate.attempt", t.Attempt),
		attribute.Int("llmgate.retry", t.Retry),
		attribute.Int("llmgate.fallback", t.Fallback),
		attribute.String("llmgate.answer", t.Answer.String()),
	}
	if t.Status > 0 {
		attrs = append(attrs, attribute.Int("http.response.status_code", t.Status))
	}
	if t.CostKnown {
		attrs = append(attrs, attribute.Float64("gen_ai.usage.cost", t.Cost))
	}
	status := sdktrace.Status{Code: codes.Ok}
	if t.Failed() {
		cls := errorClass(t)
		attrs = append(attrs, attribute.String("error.type", cls))
		status = sdktrace.Status{Code: codes.Error, Description: "litellm." + cls + " " + strconv.Itoa(t.Status)}
	}
	start := t.End.Add(-t.Latency)
	if t.Latency <= 0 || start.Before(t.Start) {
		start = t.Start
	}
	attempt := tracetest.SpanStub{
		Name:                 op + " " + t.Model,
		SpanContext:          sc(spanID(t.CallID, "attempt", strconv.Itoa(t.Attempt)), false),
		Parent:               sc(reqID, false),
		SpanKind:             trace.SpanKindClient,
		StartTime:            start,
		EndTime:              t.End,
		Attributes:           attrs,
		Status:               status,
		Resource:             res,
		InstrumentationScope: scope,
	}
	var out []sdktrace.ReadOnlySpan
	if !t.Refused {
		out = append(out, attempt.Snapshot()) // a refused request made no try
	}
	if t.Answer == outcome.AnswerSent {
		srv := serverSpan(t, sc(spanID(t.CallID, "server"), false), res, scope, status)
		if parent.IsValid() {
			srv.Parent = sc(parent, true)
		}
		out = append(out, srv.Snapshot())
		reqAttrs := []attribute.KeyValue{
			attribute.String("gen_ai.operation.name", op),
			attribute.String("gen_ai.provider.name", t.Provider),
			attribute.String("gen_ai.system", t.Provider),
			attribute.String("gen_ai.request.model", t.RequestedModel),
			attribute.String("gen_ai.response.model", t.Model),
			attribute.Int("gen_ai.usage.input_tokens", t.PromptTokens),
			attribute.Int("gen_ai.usage.output_tokens", t.CompletionTokens),
			attribute.String("litellm.call_id", t.CallID),
			attribute.String("llm.model_group", t.ModelGroup),
			attribute.String("http.route", t.Route),
			attribute.Int("llmgate.attempts", t.Attempt+1),
		}
		if t.Status > 0 {
			reqAttrs = append(reqAttrs, attribute.Int("http.response.status_code", t.Status))
		}
		req := tracetest.SpanStub{
			Name:                 "litellm_request",
			SpanContext:          sc(reqID, false),
			Parent:               sc(spanID(t.CallID, "server"), false),
			SpanKind:             trace.SpanKindInternal,
			StartTime:            t.Start,
			EndTime:              t.End,
			Attributes:           reqAttrs,
			Status:               status,
			Resource:             res,
			InstrumentationScope: scope,
		}
		out = append(out, req.Snapshot())
	}
	return out
}

// ServerSpanName is LiteLLM's name of the proxy's server span.
const ServerSpanName = "Received Proxy Server Request"

// serverSpan is the request's server span, from the request's arrival at
// the gateway to its end, with the HTTP server attributes (D58: built from
// the outcome instead of Envoy's tracer).
func serverSpan(t *outcome.Try, ctx trace.SpanContext, res *resource.Resource, scope instrumentation.Scope, status sdktrace.Status) tracetest.SpanStub {
	attrs := []attribute.KeyValue{
		attribute.String("http.request.method", "POST"),
		attribute.String("url.path", t.Route),
		attribute.String("http.route", t.Route),
		attribute.String("litellm.call_id", t.CallID),
	}
	if t.Status > 0 {
		attrs = append(attrs, attribute.Int("http.response.status_code", t.Status))
	}
	if t.Failed() {
		attrs = append(attrs, attribute.String("error.type", errorClass(t)))
	}
	return tracetest.SpanStub{
		Name:                 ServerSpanName,
		SpanContext:          ctx,
		SpanKind:             trace.SpanKindServer,
		StartTime:            t.Start,
		EndTime:              t.End,
		Attributes:           attrs,
		Status:               status,
		Resource:             res,
		InstrumentationScope: scope,
	}
}
