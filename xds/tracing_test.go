package xds

import (
	"strings"
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	tracev3 "github.com/envoyproxy/go-control-plane/envoy/config/trace/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"

	"github.com/llmgate/llmgate/config"
)

// With the otel callback the listener gets Envoy's OpenTelemetry tracer,
// exporting to the callback's endpoint over its protocol with its service
// name, through its own cluster; fast-path tries drop the injected
// traceparent unless forward_traceparent_to_llm_provider. Without the
// callback: no tracing, no cluster.
func TestTracingConfig(t *testing.T) {
	yaml := `
model_list:
  - model_name: a
    litellm_params: {model: openai/gpt-4o, api_base: "http://127.0.0.1:9/v1", api_key: k}
litellm_settings:
  callbacks: %s
  forward_traceparent_to_llm_provider: %s
`
	build := func(callbacks, forward string, env map[string]string) (*hcmv3.HttpConnectionManager, *Resources) {
		t.Helper()
		cfg, err := config.Parse([]byte(strings.Replace(strings.Replace(yaml, "%s", callbacks, 1), "%s", forward, 1)), "t.yaml",
			func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		if err != nil {
			t.Fatal(err)
		}
		res, err := Build(cfg, Options{ExtProcSocket: "/run/x.sock", FastPath: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := res.Validate(); err != nil {
			t.Fatal(err)
		}
		var hcm hcmv3.HttpConnectionManager
		if err := res.Listeners[0].FilterChains[0].Filters[0].GetTypedConfig().UnmarshalTo(&hcm); err != nil {
			t.Fatal(err)
		}
		return &hcm, res
	}
	cluster := func(res *Resources, name string) *clusterv3.Cluster {
		for _, c := range res.Clusters {
			if c.Name == name {
				return c
			}
		}
		return nil
	}
	untraced := func(res *Resources) bool {
		for _, c := range res.Clusters {
			if !strings.HasPrefix(c.Name, "dep_") {
				continue
			}
			var po httpv3.HttpProtocolOptions
			if err := c.TypedExtensionProtocolOptions["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"].UnmarshalTo(&po); err != nil {
				t.Fatal(err)
			}
			for _, f := range po.HttpFilters {
				if f.Name == "envoy.filters.http.header_mutation" && strings.Contains(f.GetTypedConfig().String(), "traceparent") {
					return true
				}
			}
		}
		return false
	}

	otlpLog := func(h *hcmv3.HttpConnectionManager) bool {
		for _, al := range h.AccessLog {
			if al.Name == "envoy.access_loggers.open_telemetry" {
				return true
			}
		}
		return false
	}
	hcm, res := build(`["prometheus"]`, "false", nil)
	if hcm.Tracing != nil || cluster(res, TracingCluster) != nil || untraced(res) || otlpLog(hcm) {
		t.Fatal("tracing without the otel callback")
	}
	env := map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector.example:4317", "OTEL_SERVICE_NAME": "gw"}
	hcm, res = build(`["otel"]`, "false", env)
	var otel tracev3.OpenTelemetryConfig
	if hcm.Tracing == nil || hcm.Tracing.GetProvider().GetName() != "envoy.tracers.opentelemetry" ||
		hcm.Tracing.GetProvider().GetTypedConfig().UnmarshalTo(&otel) != nil {
		t.Fatalf("tracing %v", hcm.Tracing)
	}
	if otel.ServiceName != "gw" || otel.GetGrpcService().GetEnvoyGrpc().GetClusterName() != TracingCluster || !otlpLog(hcm) {
		t.Fatalf("tracer %v", &otel)
	}
	c := cluster(res, TracingCluster)
	if c == nil || c.GetType() != clusterv3.Cluster_STRICT_DNS ||
		c.LoadAssignment.Endpoints[0].LbEndpoints[0].GetEndpoint().GetAddress().GetSocketAddress().GetPortValue() != 4317 {
		t.Fatalf("collector cluster %v", c)
	}
	if !untraced(res) {
		t.Fatal("fast-path tries keep Envoy's traceparent without forward_traceparent_to_llm_provider")
	}
	_, res = build(`["otel"]`, "true", env)
	if untraced(res) {
		t.Fatal("traceparent removed despite forward_traceparent_to_llm_provider")
	}
	env = map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "https://otlp.example"}
	hcm, _ = build(`["otel"]`, "false", env)
	otel.Reset()
	if err := hcm.Tracing.GetProvider().GetTypedConfig().UnmarshalTo(&otel); err != nil ||
		otel.GetHttpService().GetHttpUri().GetUri() != "https://otlp.example:443/v1/traces" || otel.ServiceName != "litellm" {
		t.Fatalf("http tracer %v", &otel)
	}
}
