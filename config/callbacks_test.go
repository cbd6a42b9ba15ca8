package config

import (
	"slices"
	"strings"
	"testing"
)

func TestPrometheusCallback(t *testing.T) {
	base := "model_list:\n  - model_name: a\n    litellm_params: {model: openai/gpt-4o}\nlitellm_settings:\n"
	for _, c := range []struct {
		name, settings string
		prom, authOff  bool
		buckets        []float64
		warn           string
	}{
		{name: "none", settings: "  drop_params: true\n"},
		{name: "callbacks", settings: "  callbacks: [prometheus]\n", prom: true},
		{name: "success_callback", settings: "  success_callback: [\"prometheus\"]\n", prom: true},
		{name: "single name", settings: "  callbacks: prometheus\n", prom: true},
		{name: "other callbacks warn", settings: "  callbacks: [langfuse, prometheus]\n", prom: true, warn: `callback "langfuse": accepted, not implemented yet`},
		{name: "auth off", settings: "  callbacks: [prometheus]\n  require_auth_for_metrics_endpoint: false\n", prom: true, authOff: true},
		{name: "auth on", settings: "  callbacks: [prometheus]\n  require_auth_for_metrics_endpoint: true\n", prom: true},
		{name: "buckets", settings: "  prometheus_latency_buckets: [0.1, 1, 10, .inf]\n", buckets: []float64{0.1, 1, 10}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := mustParse(t, base+c.settings, nil)
			ls := &cfg.LiteLLM
			if ls.Prometheus() != c.prom || ls.MetricsAuthOff != c.authOff || !slices.Equal(ls.PrometheusLatencyBuckets, c.buckets) {
				t.Errorf("prometheus %v auth off %v buckets %v", ls.Prometheus(), ls.MetricsAuthOff, ls.PrometheusLatencyBuckets)
			}
			found := c.warn == ""
			for _, w := range cfg.Warnings {
				if c.warn != "" && strings.Contains(w.Message, c.warn) {
					found = true
				}
			}
			if !found {
				t.Errorf("no warning %q in %v", c.warn, cfg.Warnings)
			}
		})
	}
	for _, bad := range []string{"  prometheus_latency_buckets: [1, 0.5]\n", "  prometheus_latency_buckets: [-1]\n", "  prometheus_latency_buckets: []\n"} {
		parseErr(t, base+bad, nil)
	}
}
