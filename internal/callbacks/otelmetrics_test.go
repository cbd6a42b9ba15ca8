package callbacks

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/llmgate/llmgate/internal/outcome"
)

// TestGenAIMetrics: a successful stream, a successful non-streamed answer
// and a failed try give the GenAI semantic-convention metrics: token usage
// by token type, request duration (error.type on the failure), time to
// first token for the stream only, time per output token.
func TestGenAIMetrics(t *testing.T) {
	g, reader := manualGenAI(t)
	stream := sampleTry("c1", 200)
	stream.Stream, stream.TimeToFirstToken, stream.Latency = true, 200*time.Millisecond, 1200*time.Millisecond
	stream.PromptTokens, stream.CompletionTokens = 10, 5 // 1 s over 4 tokens after the first
	plain := sampleTry("c2", 200)
	plain.PromptTokens, plain.CompletionTokens, plain.Latency = 30, 8, 2*time.Second
	failed := sampleTry("c3", 429)
	failed.Answer, failed.PromptTokens, failed.CompletionTokens, failed.Latency = outcome.AnswerRetried, 0, 0, 100*time.Millisecond
	for _, tr := range []outcome.Try{stream, plain, failed} {
		g.Record(&tr)
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]metricdata.Aggregation{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			got[m.Name] = m.Data
		}
	}
	if v, _ := rm.Resource.Set().Value("service.name"); v.AsString() != "svc" {
		t.Errorf("service.name = %q", v.AsString())
	}

	tok, ok := got["gen_ai.client.token.usage"].(metricdata.Histogram[int64])
	if !ok {
		t.Fatalf("gen_ai.client.token.usage missing or not an int histogram: %T", got["gen_ai.client.token.usage"])
	}
	sums := map[string]int64{}
	for _, dp := range tok.DataPoints {
		typ, _ := dp.Attributes.Value("gen_ai.token.type")
		if op, _ := dp.Attributes.Value("gen_ai.operation.name"); op.AsString() != "chat" {
			t.Errorf("gen_ai.operation.name = %q", op.AsString())
		}
		if m, _ := dp.Attributes.Value("gen_ai.request.model"); m.AsString() != "gpt-4o" {
			t.Errorf("gen_ai.request.model = %q", m.AsString())
		}
		sums[typ.AsString()] += dp.Sum
	}
	if sums["input"] != 40 || sums["output"] != 13 || len(sums) != 2 {
		t.Errorf("token sums = %v, want input 40, output 13", sums)
	}

	dur, ok := got["gen_ai.server.request.duration"].(metricdata.Histogram[float64])
	if !ok {
		t.Fatalf("gen_ai.server.request.duration missing: %T", got["gen_ai.server.request.duration"])
	}
	var okCount, errCount uint64
	for _, dp := range dur.DataPoints {
		if e, has := dp.Attributes.Value("error.type"); has {
			errCount += dp.Count
			if e.AsString() != "RateLimitError" || dp.Sum != 0.1 {
				t.Errorf("failed duration: error.type %q sum %v", e.AsString(), dp.Sum)
			}
			continue
		}
		okCount += dp.Count
		if dp.Sum != 3.2 {
			t.Errorf("successful durations sum %v, want 3.2", dp.Sum)
		}
	}
	if okCount != 2 || errCount != 1 {
		t.Errorf("durations: %d ok, %d failed; want 2 and 1", okCount, errCount)
	}

	ttft, ok := got["gen_ai.server.time_to_first_token"].(metricdata.Histogram[float64])
	if !ok || len(ttft.DataPoints) != 1 || ttft.DataPoints[0].Count != 1 || ttft.DataPoints[0].Sum != 0.2 {
		t.Errorf("gen_ai.server.time_to_first_token = %+v", got["gen_ai.server.time_to_first_token"])
	}
	tpot, ok := got["gen_ai.server.time_per_output_token"].(metricdata.Histogram[float64])
	if !ok || len(tpot.DataPoints) != 1 || tpot.DataPoints[0].Count != 2 || tpot.DataPoints[0].Sum != 0.25+0.25 {
		t.Errorf("gen_ai.server.time_per_output_token = %+v", got["gen_ai.server.time_per_output_token"])
	}
}

// TestOTelCallbackRecordsGenAIMetrics: the otel callback's sink records
// every try on the GenAI metrics.
func TestOTelCallbackRecordsGenAIMetrics(t *testing.T) {
	g, reader := manualGenAI(t)
	m := New(nil)
	m.Configure(Settings{FlushInterval: time.Hour, OTel: &OTelSettings{Protocol: "http/protobuf", Endpoint: "http://127.0.0.1:1/v1/traces"}})
	m.mu.Lock()
	m.otelMetrics = g
	m.mu.Unlock()
	sink := m.Sink()
	retried := sampleTry("c1", 500)
	retried.Answer = outcome.AnswerRetried
	sink(retried)
	sink(sampleTry("c1", 200))
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, sm := range rm.ScopeMetrics {
		for _, x := range sm.Metrics {
			if x.Name == "gen_ai.server.request.duration" {
				for _, dp := range x.Data.(metricdata.Histogram[float64]).DataPoints {
					n += dp.Count
				}
			}
		}
	}
	if n != 2 {
		t.Errorf("%d durations recorded, want 2 (every try)", n)
	}
}

// manualGenAI is GenAIMetrics read by a manual reader.
func manualGenAI(t testing.TB) (*GenAIMetrics, *sdkmetric.ManualReader) {
	var reader *sdkmetric.ManualReader
	g, err := NewGenAIMetrics(func(o sdkmetric.ReaderOption) sdkmetric.Reader { reader = sdkmetric.NewManualReader(o); return reader }, otelResource("svc"))
	if err != nil {
		t.Fatal(err)
	}
	return g, reader
}

// TestGenAIMetricsMatchSDK (D79): the histograms aggregated here are the
// ones the SDK's instruments gave for the same tries (the code before D79
// recorded on them): per metric and attribute set, the same count, sum,
// bounds, bucket counts, min and max, cumulative.
func TestGenAIMetricsMatchSDK(t *testing.T) {
	ctx := context.Background()
	g, reader := manualGenAI(t)
	ref := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(ref))
	m := mp.Meter("ref")
	tok, _ := m.Int64Histogram("gen_ai.client.token.usage", metric.WithExplicitBucketBoundaries(tokenBuckets...))
	dur, _ := m.Float64Histogram("gen_ai.server.request.duration", metric.WithExplicitBucketBoundaries(durationBuckets...))
	ttft, _ := m.Float64Histogram("gen_ai.server.time_to_first_token", metric.WithExplicitBucketBoundaries(ttftBuckets...))
	tpot, _ := m.Float64Histogram("gen_ai.server.time_per_output_token", metric.WithExplicitBucketBoundaries(tpotBuckets...))
	for i := 0; i < 200; i++ {
		tr := sampleTry(fmt.Sprintf("c%d", i), []int{200, 200, 200, 429, 500}[i%5])
		tr.Model = []string{"gpt-4o", "claude"}[i%2]
		tr.Latency = time.Duration(1+i*37%5000) * time.Millisecond
		tr.PromptTokens, tr.CompletionTokens = i*13%3000, i*7%900
		tr.Stream = i%3 == 0
		tr.TimeToFirstToken = time.Duration(i*11%700) * time.Millisecond
		g.Record(&tr)
		attrs := genAIAttrs(&tr)
		with := func(kv ...attribute.KeyValue) metric.MeasurementOption {
			return metric.WithAttributes(append(attrs[:len(attrs):len(attrs)], kv...)...)
		}
		if tr.Failed() {
			dur.Record(ctx, tr.Latency.Seconds(), with(attribute.String("error.type", errorClass(&tr))))
			continue
		}
		dur.Record(ctx, tr.Latency.Seconds(), with())
		if tr.PromptTokens > 0 {
			tok.Record(ctx, int64(tr.PromptTokens), with(attribute.String("gen_ai.token.type", "input")))
		}
		if tr.CompletionTokens > 0 {
			tok.Record(ctx, int64(tr.CompletionTokens), with(attribute.String("gen_ai.token.type", "output")))
		}
		if tr.Stream && tr.TimeToFirstToken > 0 {
			ttft.Record(ctx, tr.TimeToFirstToken.Seconds(), with())
			if tr.CompletionTokens > 1 && tr.Latency > tr.TimeToFirstToken {
				tpot.Record(ctx, (tr.Latency-tr.TimeToFirstToken).Seconds()/float64(tr.CompletionTokens-1), with())
			}
		} else if tr.CompletionTokens > 0 && tr.Latency > 0 {
			tpot.Record(ctx, tr.Latency.Seconds()/float64(tr.CompletionTokens), with())
		}
	}
	points := func(r *sdkmetric.ManualReader) map[string]string {
		var rm metricdata.ResourceMetrics
		if err := r.Collect(ctx, &rm); err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, sm := range rm.ScopeMetrics {
			for _, x := range sm.Metrics {
				switch d := x.Data.(type) {
				case metricdata.Histogram[int64]:
					for _, dp := range d.DataPoints {
						mn, _ := dp.Min.Value()
						mx, _ := dp.Max.Value()
						out[x.Name+" "+dp.Attributes.Encoded(attribute.DefaultEncoder())] = fmt.Sprint(d.Temporality, dp.Count, dp.Sum, dp.Bounds, dp.BucketCounts, mn, mx)
					}
				case metricdata.Histogram[float64]:
					for _, dp := range d.DataPoints {
						mn, _ := dp.Min.Value()
						mx, _ := dp.Max.Value()
						out[x.Name+" "+dp.Attributes.Encoded(attribute.DefaultEncoder())] = fmt.Sprint(d.Temporality, dp.Count, fmt.Sprintf("%.9g", dp.Sum), dp.Bounds, dp.BucketCounts, mn, mx)
					}
				}
			}
		}
		return out
	}
	got, want := points(reader), points(ref)
	if len(want) < 10 || len(got) != len(want) {
		t.Fatalf("%d series, the SDK's %d", len(got), len(want))
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s:\n got %s\nwant %s", k, got[k], w)
		}
	}
}
