package callbacks

import (
	"context"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/llmgate/llmgate/internal/outcome"
)

// TestGenAIMetrics: a successful stream, a successful non-streamed answer
// and a failed try give the GenAI semantic-convention metrics: token usage
// by token type, request duration (error.type on the failure), time to
// first token for the stream only, time per output token.
func TestGenAIMetrics(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	g, err := NewGenAIMetrics(reader, otelResource("svc"))
	if err != nil {
		t.Fatal(err)
	}
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
	reader := sdkmetric.NewManualReader()
	g, err := NewGenAIMetrics(reader, otelResource("svc"))
	if err != nil {
		t.Fatal(err)
	}
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
