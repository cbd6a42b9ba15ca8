package callbacks

import (
	"context"
	"net/url"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/llmgate/llmgate/internal/outcome"
)

// Bucket boundaries the GenAI semantic conventions advise for each metric.
var (
	tokenBuckets    = []float64{1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864}
	durationBuckets = []float64{0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92}
	ttftBuckets     = []float64{0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0}
	tpotBuckets     = []float64{0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5}
)

// GenAIMetrics are the OpenTelemetry GenAI metrics of the otel callback,
// recorded from the outcome events (off the request path) and exported by
// the reader: gen_ai.client.token.usage, gen_ai.server.request.duration,
// gen_ai.server.time_to_first_token, gen_ai.server.time_per_output_token.
type GenAIMetrics struct {
	mu                          sync.Mutex
	sets                        map[genAIKey]genAISets
	provider                    *sdkmetric.MeterProvider
	tokens                      metric.Int64Histogram
	duration, ttft, perOutToken metric.Float64Histogram
}

// NewGenAIMetrics builds the instruments on a meter provider that exports
// through reader (a periodic OTLP reader, or a manual one in tests).
func NewGenAIMetrics(reader sdkmetric.Reader, res *resource.Resource) (*GenAIMetrics, error) {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader), sdkmetric.WithResource(res))
	m := mp.Meter("github.com/llmgate/llmgate")
	g := &GenAIMetrics{provider: mp, sets: map[genAIKey]genAISets{}}
	var err error
	if g.tokens, err = m.Int64Histogram("gen_ai.client.token.usage", metric.WithUnit("{token}"),
		metric.WithDescription("Number of input and output tokens used"), metric.WithExplicitBucketBoundaries(tokenBuckets...)); err != nil {
		return nil, err
	}
	if g.duration, err = m.Float64Histogram("gen_ai.server.request.duration", metric.WithUnit("s"),
		metric.WithDescription("Generative AI server request duration such as time-to-last byte or last output token"), metric.WithExplicitBucketBoundaries(durationBuckets...)); err != nil {
		return nil, err
	}
	if g.ttft, err = m.Float64Histogram("gen_ai.server.time_to_first_token", metric.WithUnit("s"),
		metric.WithDescription("Time to generate first token for successful responses"), metric.WithExplicitBucketBoundaries(ttftBuckets...)); err != nil {
		return nil, err
	}
	if g.perOutToken, err = m.Float64Histogram("gen_ai.server.time_per_output_token", metric.WithUnit("s"),
		metric.WithDescription("Time per output token generated after the first token for successful responses"), metric.WithExplicitBucketBoundaries(tpotBuckets...)); err != nil {
		return nil, err
	}
	return g, nil
}

// Record records one try: its duration (with error.type when it failed)
// and, on success, its token usage, its time to first token (streams) and
// its time per output token.
func (g *GenAIMetrics) Record(t *outcome.Try) {
	ctx := context.Background()
	if t.Failed() {
		attrs := genAIAttrs(t)
		failed := append(attrs[:len(attrs):len(attrs)], attribute.String("error.type", errorClass(t)))
		g.duration.Record(ctx, t.Latency.Seconds(), metric.WithAttributes(failed...))
		return
	}
	sets := g.setsOf(t)
	g.duration.Record(ctx, t.Latency.Seconds(), sets.plain)
	if t.PromptTokens > 0 {
		g.tokens.Record(ctx, int64(t.PromptTokens), sets.input)
	}
	if t.CompletionTokens > 0 {
		g.tokens.Record(ctx, int64(t.CompletionTokens), sets.output)
	}
	if t.Stream && t.TimeToFirstToken > 0 {
		g.ttft.Record(ctx, t.TimeToFirstToken.Seconds(), sets.plain)
		if t.CompletionTokens > 1 && t.Latency > t.TimeToFirstToken {
			g.perOutToken.Record(ctx, (t.Latency-t.TimeToFirstToken).Seconds()/float64(t.CompletionTokens-1), sets.plain)
		}
	} else if t.CompletionTokens > 0 && t.Latency > 0 {
		g.perOutToken.Record(ctx, t.Latency.Seconds()/float64(t.CompletionTokens), sets.plain)
	}
}

func genAIAttrs(t *outcome.Try) []attribute.KeyValue {
	return []attribute.KeyValue{
		attribute.String("gen_ai.operation.name", operation(t.Endpoint)),
		attribute.String("gen_ai.provider.name", t.Provider),
		attribute.String("gen_ai.system", t.Provider),
		attribute.String("gen_ai.request.model", t.Model),
		attribute.String("gen_ai.response.model", t.Model),
		attribute.String("server.address", t.APIBase),
	}
}

// genAISets are a success's attribute sets, by deployment identity
// (D58: built once, not per try).
type genAISets struct {
	plain, input, output metric.MeasurementOption
}

// genAIKey is a deployment identity of the attribute sets.
type genAIKey struct{ endpoint, provider, model, apiBase string }

func (g *GenAIMetrics) setsOf(t *outcome.Try) genAISets {
	key := genAIKey{t.Endpoint, t.Provider, t.Model, t.APIBase} // no string built per try (D74)
	g.mu.Lock()
	defer g.mu.Unlock()
	if s, ok := g.sets[key]; ok {
		return s
	}
	attrs := genAIAttrs(t)
	s := genAISets{plain: metric.WithAttributeSet(attribute.NewSet(attrs...)),
		input:  metric.WithAttributeSet(attribute.NewSet(append(attrs[:len(attrs):len(attrs)], attribute.String("gen_ai.token.type", "input"))...)),
		output: metric.WithAttributeSet(attribute.NewSet(append(attrs[:len(attrs):len(attrs)], attribute.String("gen_ai.token.type", "output"))...))}
	if len(g.sets) >= 10000 { // deployments are the config's, but bound it anyway
		clear(g.sets)
	}
	g.sets[key] = s
	return s
}

// Shutdown exports what was recorded and stops the reader.
func (g *GenAIMetrics) Shutdown(ctx context.Context) error { return g.provider.Shutdown(ctx) }

// newMetricExporter builds the OTLP metric exporter for the otel callback's
// endpoint (the metrics URL over http/protobuf, the target over grpc).
func newMetricExporter(s *OTelSettings) (sdkmetric.Exporter, error) {
	ep := s.MetricsEndpoint
	u, err := url.Parse(ep)
	if err != nil {
		return nil, err
	}
	if s.Protocol == "grpc" {
		host := u.Host
		if host == "" {
			host = ep
		}
		opts := []otlpmetricgrpc.Option{otlpmetricgrpc.WithEndpoint(host), otlpmetricgrpc.WithHeaders(s.Headers), otlpmetricgrpc.WithTimeout(PostTimeout)}
		if u.Scheme != "https" {
			opts = append(opts, otlpmetricgrpc.WithInsecure())
		}
		return otlpmetricgrpc.New(context.Background(), opts...)
	}
	return otlpmetrichttp.New(context.Background(), otlpmetrichttp.WithEndpointURL(ep), otlpmetrichttp.WithHeaders(s.Headers),
		otlpmetrichttp.WithTimeout(PostTimeout))
}
