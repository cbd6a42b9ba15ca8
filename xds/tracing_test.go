package xds

import (
	"strings"
	"testing"

	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"

	"github.com/llmgate/llmgate/config"
)

// The otel callback costs Envoy nothing (D58): no tracer on the listener,
// no OTLP cluster, no OTLP access log, no per-try filter removing an
// injected traceparent — the spans and the OTLP log records are built by
// the gateway from the outcomes, and the client's traceparent reaches a
// provider only as the request filter forwards it (D23). Session 4 had
// Envoy's tracer and OTLP access logger here (D37).
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
		res, hcm, _ := buildHCM(t, cfg, Options{ExtProcSocket: "/run/x.sock", FastPath: true})
		return hcm, res
	}
	otelAnywhere := func(h *hcmv3.HttpConnectionManager, res *Resources) string {
		if h.Tracing != nil {
			return "a tracer on the listener"
		}
		for _, al := range h.AccessLog {
			if al.Name == "envoy.access_loggers.open_telemetry" {
				return "an OTLP access log"
			}
		}
		for _, c := range res.Clusters {
			if strings.Contains(c.Name, "otlp") {
				return "cluster " + c.Name
			}
			if !strings.HasPrefix(c.Name, "dep_") {
				continue
			}
			var po httpv3.HttpProtocolOptions
			if err := c.TypedExtensionProtocolOptions["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"].UnmarshalTo(&po); err != nil {
				t.Fatal(err)
			}
			for _, f := range po.HttpFilters {
				if strings.Contains(f.GetTypedConfig().String(), "traceparent") {
					return "a traceparent filter on " + c.Name
				}
			}
		}
		return ""
	}
	env := map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector.example:4317", "OTEL_SERVICE_NAME": "gw",
		"OTEL_LOGS_EXPORTER": "otlp"}
	for _, tc := range []struct{ callbacks, forward string }{{`["prometheus"]`, "false"}, {`["otel"]`, "false"}, {`["otel"]`, "true"}} {
		if what := otelAnywhere(build(tc.callbacks, tc.forward, env)); what != "" {
			t.Errorf("callbacks %s, forward %s: %s", tc.callbacks, tc.forward, what)
		}
	}
}
