package xds

import (
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/contract"
)

// TestCircuitBreakers: every cluster's circuit breakers are sized to the
// in-flight ceiling (DefaultMaxInFlight, or global_max_parallel_requests),
// never Envoy's defaults (1,024 requests, 3 concurrent retries).
func TestCircuitBreakers(t *testing.T) {
	for _, tc := range []struct {
		name, general string
		want          uint32
	}{
		{"default", "", DefaultMaxInFlight},
		{"global_max_parallel_requests", "general_settings: {global_max_parallel_requests: 5000}\n", 5000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			yaml := "model_list:\n  - model_name: m\n    litellm_params: {model: openai/gpt-4o, api_base: \"http://127.0.0.1:8000/v1\", api_key: k}\n    model_info: {id: d}\n" + tc.general
			cfg, err := config.Parse([]byte(yaml), "test.yaml", func(string) (string, bool) { return "", false })
			if err != nil {
				t.Fatal(err)
			}
			res, err := Build(cfg, Options{ExtProcSocket: "/run/x.sock"})
			if err != nil {
				t.Fatal(err)
			}
			if err := res.Validate(); err != nil {
				t.Fatal(err)
			}
			check := func(c *clusterv3.Cluster, requests, retries uint32) {
				t.Helper()
				ths := c.GetCircuitBreakers().GetThresholds()
				if len(ths) != 2 {
					t.Fatalf("%s: %d thresholds, want DEFAULT and HIGH", c.Name, len(ths))
				}
				for _, th := range ths {
					if th.GetMaxRequests().GetValue() != requests || th.GetMaxPendingRequests().GetValue() != requests ||
						th.GetMaxConnections().GetValue() != requests || th.GetMaxRetries().GetValue() != retries {
						t.Errorf("%s %v: %v, want %d requests, %d retries", c.Name, th.Priority, th, requests, retries)
					}
				}
			}
			check(clusterByName(t, res, contract.ClusterName("d")), tc.want, tc.want)
			// The request and the attempt filter each hold a stream per request.
			check(clusterByName(t, res, ExtProcCluster), 2*tc.want+1024, 0)
		})
	}
}
