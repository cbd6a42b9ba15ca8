package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"

	collectormetrics "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	metricspb "go.opentelemetry.io/proto/otlp/metrics/v1"
	"google.golang.org/grpc"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// otlpMetricsReceiver is an in-process OTLP/gRPC metrics collector keeping
// the latest export of each metric (cumulative temporality).
type otlpMetricsReceiver struct {
	collectormetrics.UnimplementedMetricsServiceServer
	mu     sync.Mutex
	latest map[string]*metricspb.Metric
}

func (r *otlpMetricsReceiver) Export(_ context.Context, req *collectormetrics.ExportMetricsServiceRequest) (*collectormetrics.ExportMetricsServiceResponse, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rm := range req.ResourceMetrics {
		for _, sm := range rm.ScopeMetrics {
			for _, m := range sm.Metrics {
				r.latest[m.Name] = m
			}
		}
	}
	return &collectormetrics.ExportMetricsServiceResponse{}, nil
}

func (r *otlpMetricsReceiver) get(name string) *metricspb.Metric {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.latest[name]
}

// TestOTelGenAIMetrics: with callbacks: ["otel"] an in-process OTLP/gRPC
// metrics receiver gets the GenAI metrics: the token usage sums by token
// type equal the usage the client was answered with, one request duration
// per request, a time to first token for the stream only.
func TestOTelGenAIMetrics(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rcv := &otlpMetricsReceiver{latest: map[string]*metricspb.Metric{}}
	gs := grpc.NewServer()
	collectormetrics.RegisterMetricsServiceServer(gs, rcv)
	go func() { _ = gs.Serve(l) }()
	defer gs.Stop()
	g := startGateway(t, fmt.Sprintf(`
model_list:
  - model_name: good
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/good/v1, api_key: k}
litellm_settings:
  callbacks: ["otel"]
general_settings:
  master_key: %[2]s
`, fake.URL(), master), "OTEL_EXPORTER_OTLP_PROTOCOL=grpc", "OTEL_EXPORTER_OTLP_ENDPOINT=http://"+l.Addr().String(),
		"OTEL_METRIC_EXPORT_INTERVAL=300")

	var in, out int64
	for i := 0; i < 3; i++ {
		code, _, b := do(t, "POST", g.URL+"/v1/chat/completions", master, chatBody("good", fmt.Sprintf("metrics %d", i)))
		if code != 200 {
			t.Fatalf("%d %s", code, b)
		}
		var r struct {
			Usage struct {
				Prompt     int64 `json:"prompt_tokens"`
				Completion int64 `json:"completion_tokens"`
			} `json:"usage"`
		}
		if err := json.Unmarshal(b, &r); err != nil || r.Usage.Prompt == 0 || r.Usage.Completion == 0 {
			t.Fatalf("usage: %s", b)
		}
		in, out = in+r.Usage.Prompt, out+r.Usage.Completion
	}
	code, _, b := do(t, "POST", g.URL+"/v1/chat/completions", master, chatBody("good", "stream me", `"stream":true`, `"stream_options":{"include_usage":true}`))
	if code != 200 {
		t.Fatalf("stream: %d %s", code, b)
	}
	for _, line := range strings.Split(string(b), "\n") {
		var c struct {
			Usage *struct {
				Prompt     int64 `json:"prompt_tokens"`
				Completion int64 `json:"completion_tokens"`
			} `json:"usage"`
		}
		if json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &c) == nil && c.Usage != nil {
			in, out = in+c.Usage.Prompt, out+c.Usage.Completion
		}
	}

	histCount := func(name string) (uint64, map[string]float64) {
		m := rcv.get(name)
		if m == nil || m.GetHistogram() == nil {
			return 0, nil
		}
		var n uint64
		sums := map[string]float64{}
		for _, dp := range m.GetHistogram().DataPoints {
			n += dp.Count
			typ := ""
			for _, a := range dp.Attributes {
				if a.Key == "gen_ai.token.type" {
					typ = a.Value.GetStringValue()
				}
			}
			sums[typ] += dp.GetSum()
		}
		return n, sums
	}
	waitUntil(t, g, "the GenAI metrics", func() ([]string, []string, bool) {
		n, _ := histCount("gen_ai.server.request.duration")
		f, _ := histCount("gen_ai.server.time_to_first_token")
		return nil, nil, n >= 4 && f >= 1
	})
	if n, _ := histCount("gen_ai.server.request.duration"); n != 4 {
		t.Errorf("%d request durations, want 4", n)
	}
	if f, _ := histCount("gen_ai.server.time_to_first_token"); f != 1 {
		t.Errorf("%d times to first token, want 1 (the stream)", f)
	}
	_, sums := histCount("gen_ai.client.token.usage")
	// The usage the client was answered with, stream included.
	if int64(sums["input"]) != in || int64(sums["output"]) != out {
		t.Errorf("token usage input %v output %v, want %d and %d (the usage the client got)", sums["input"], sums["output"], in, out)
	}
	if m := rcv.get("gen_ai.client.token.usage"); m == nil || m.Unit != "{token}" {
		t.Errorf("gen_ai.client.token.usage unit: %v", m)
	}
}
