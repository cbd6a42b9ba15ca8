package callbacks

import (
	"context"
	"math"
	"net/url"
	"slices"
	"sort"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
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
//
// The histograms are aggregated here, not by the SDK's instruments (D79):
// a try's four SDK records each took the SDK's locks and hashed the whole
// attribute set to find its series, ≈ 2 µs a try; here one lock and one
// lookup by deployment find the try's series, and the reader collects
// them through a Producer as the SDK's cumulative explicit-bucket
// histograms (the same bounds, counts, sums, min and max).
type GenAIMetrics struct {
	mu       sync.Mutex
	series   map[genAIKey]*genAISeries
	failed   map[genAIFailKey]*floatHist
	start    time.Time
	provider *sdkmetric.MeterProvider
}

// NewGenAIMetrics builds the metrics on a meter provider that exports
// through the reader newReader makes with the option given (the metrics'
// producer): a periodic OTLP reader, or a manual one in tests.
func NewGenAIMetrics(newReader func(sdkmetric.ReaderOption) sdkmetric.Reader, res *resource.Resource) (*GenAIMetrics, error) {
	g := &GenAIMetrics{series: map[genAIKey]*genAISeries{}, failed: map[genAIFailKey]*floatHist{}, start: time.Now()}
	g.provider = sdkmetric.NewMeterProvider(sdkmetric.WithReader(newReader(sdkmetric.WithProducer(genAIProducer{g}))), sdkmetric.WithResource(res))
	return g, nil
}

// Record records one try: its duration (with error.type when it failed)
// and, on success, its token usage, its time to first token (streams) and
// its time per output token.
func (g *GenAIMetrics) Record(t *outcome.Try) {
	key := genAIKey{t.Endpoint, t.Provider, t.Model, t.APIBase} // no string built per try (D74)
	g.mu.Lock()
	defer g.mu.Unlock()
	if t.Failed() {
		fk := genAIFailKey{key, errorClass(t)}
		h := g.failed[fk]
		if h == nil {
			if len(g.failed) >= maxGenAISeries {
				clear(g.failed)
			}
			h = newFloatHist(durationBuckets)
			g.failed[fk] = h
		}
		h.add(t.Latency.Seconds())
		return
	}
	s := g.series[key]
	if s == nil {
		if len(g.series) >= maxGenAISeries { // deployments are the config's, but bound it anyway
			clear(g.series)
		}
		s = newGenAISeries(t)
		g.series[key] = s
	}
	s.duration.add(t.Latency.Seconds())
	if t.PromptTokens > 0 {
		s.input.add(int64(t.PromptTokens))
	}
	if t.CompletionTokens > 0 {
		s.output.add(int64(t.CompletionTokens))
	}
	if t.Stream && t.TimeToFirstToken > 0 {
		s.ttft.add(t.TimeToFirstToken.Seconds())
		if t.CompletionTokens > 1 && t.Latency > t.TimeToFirstToken {
			s.tpot.add((t.Latency - t.TimeToFirstToken).Seconds() / float64(t.CompletionTokens-1))
		}
	} else if t.CompletionTokens > 0 && t.Latency > 0 {
		s.tpot.add(t.Latency.Seconds() / float64(t.CompletionTokens))
	}
}

// maxGenAISeries bounds the series kept.
const maxGenAISeries = 10000

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

// genAIKey is a deployment identity of the series.
type genAIKey struct{ endpoint, provider, model, apiBase string }

// genAIFailKey is a failure's series: its deployment and error.type.
type genAIFailKey struct {
	genAIKey
	errorType string
}

// genAISeries are a deployment's successes' histograms.
type genAISeries struct {
	plain, inputSet, outputSet attribute.Set
	duration, ttft, tpot       *floatHist
	input, output              *intHist
}

func newGenAISeries(t *outcome.Try) *genAISeries {
	attrs := genAIAttrs(t)
	return &genAISeries{
		plain:     attribute.NewSet(attrs...),
		inputSet:  attribute.NewSet(append(attrs[:len(attrs):len(attrs)], attribute.String("gen_ai.token.type", "input"))...),
		outputSet: attribute.NewSet(append(attrs[:len(attrs):len(attrs)], attribute.String("gen_ai.token.type", "output"))...),
		duration:  newFloatHist(durationBuckets), ttft: newFloatHist(ttftBuckets), tpot: newFloatHist(tpotBuckets),
		input: newIntHist(tokenBuckets), output: newIntHist(tokenBuckets),
	}
}

// hist is an explicit-bucket histogram as the SDK keeps it: bucket i
// counts the values in (bounds[i-1], bounds[i]]. floatHist and intHist are
// its two kinds (durations; token counts).
type hist[N int64 | float64] struct {
	bounds   []float64
	counts   []uint64
	n        uint64
	sum      N
	min, max N
}

type (
	floatHist = hist[float64]
	intHist   = hist[int64]
)

func newFloatHist(bounds []float64) *floatHist {
	return &floatHist{bounds: bounds, counts: make([]uint64, len(bounds)+1)}
}

func newIntHist(bounds []float64) *intHist {
	return &intHist{bounds: bounds, counts: make([]uint64, len(bounds)+1)}
}

func (h *hist[N]) add(v N) {
	if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
		return
	}
	h.counts[sort.SearchFloat64s(h.bounds, float64(v))]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if h.n == 0 || v > h.max {
		h.max = v
	}
	h.n++
	h.sum += v
}

func (h *hist[N]) point(attrs attribute.Set, start, now time.Time) metricdata.HistogramDataPoint[N] {
	return metricdata.HistogramDataPoint[N]{Attributes: attrs, StartTime: start, Time: now, Count: h.n, Bounds: h.bounds,
		BucketCounts: slices.Clone(h.counts), Min: metricdata.NewExtrema(h.min), Max: metricdata.NewExtrema(h.max), Sum: h.sum}
}

// genAIProducer hands the reader the histograms at each collection.
type genAIProducer struct{ g *GenAIMetrics }

func (p genAIProducer) Produce(context.Context) ([]metricdata.ScopeMetrics, error) {
	g := p.g
	now := time.Now()
	var tokens []metricdata.HistogramDataPoint[int64]
	var duration, ttft, tpot []metricdata.HistogramDataPoint[float64]
	g.mu.Lock()
	for _, s := range g.series {
		if s.input.n > 0 {
			tokens = append(tokens, s.input.point(s.inputSet, g.start, now))
		}
		if s.output.n > 0 {
			tokens = append(tokens, s.output.point(s.outputSet, g.start, now))
		}
		if s.duration.n > 0 {
			duration = append(duration, s.duration.point(s.plain, g.start, now))
		}
		if s.ttft.n > 0 {
			ttft = append(ttft, s.ttft.point(s.plain, g.start, now))
		}
		if s.tpot.n > 0 {
			tpot = append(tpot, s.tpot.point(s.plain, g.start, now))
		}
	}
	for k, h := range g.failed {
		attrs := genAIAttrs(&outcome.Try{Endpoint: k.endpoint, Provider: k.provider, Model: k.model, APIBase: k.apiBase})
		duration = append(duration, h.point(attribute.NewSet(append(attrs, attribute.String("error.type", k.errorType))...), g.start, now))
	}
	g.mu.Unlock()
	var ms []metricdata.Metrics
	if len(tokens) > 0 {
		ms = append(ms, metricdata.Metrics{Name: "gen_ai.client.token.usage", Description: "Number of input and output tokens used", Unit: "{token}",
			Data: metricdata.Histogram[int64]{DataPoints: tokens, Temporality: metricdata.CumulativeTemporality}})
	}
	for _, f := range []struct {
		name, desc, unit string
		dps              []metricdata.HistogramDataPoint[float64]
	}{
		{"gen_ai.server.request.duration", "Generative AI server request duration such as time-to-last byte or last output token", "s", duration},
		{"gen_ai.server.time_to_first_token", "Time to generate first token for successful responses", "s", ttft},
		{"gen_ai.server.time_per_output_token", "Time per output token generated after the first token for successful responses", "s", tpot},
	} {
		if len(f.dps) > 0 {
			ms = append(ms, metricdata.Metrics{Name: f.name, Description: f.desc, Unit: f.unit,
				Data: metricdata.Histogram[float64]{DataPoints: f.dps, Temporality: metricdata.CumulativeTemporality}})
		}
	}
	if len(ms) == 0 {
		return nil, nil
	}
	return []metricdata.ScopeMetrics{{Scope: instrumentation.Scope{Name: "github.com/llmgate/llmgate"}, Metrics: ms}}, nil
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
