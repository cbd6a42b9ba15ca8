package xds

import (
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/contract"
)

// TestForceIPv4: litellm_settings.force_ipv4 makes a deployment's cluster
// resolve its host name to IPv4 addresses only; without it IPv4 is preferred.
func TestForceIPv4(t *testing.T) {
	for _, tc := range []struct {
		extra string
		want  clusterv3.Cluster_DnsLookupFamily
	}{
		{"", clusterv3.Cluster_V4_PREFERRED},
		{"litellm_settings: {force_ipv4: true}\n", clusterv3.Cluster_V4_ONLY},
	} {
		cfg, err := config.Parse([]byte("model_list: [{model_name: a, litellm_params: {model: openai/a, api_key: k, api_base: \"https://llm.example/v1\"}}]\n"+tc.extra),
			"t.yaml", func(string) (string, bool) { return "", false })
		if err != nil {
			t.Fatal(err)
		}
		if len(cfg.Warnings) != 0 {
			t.Errorf("warnings: %v", cfg.Warnings)
		}
		res, err := Build(cfg, Options{ExtProcSocket: "/tmp/x.sock"})
		if err != nil {
			t.Fatal(err)
		}
		if got := clusterByName(t, res, contract.ClusterName(cfg.Models[0].ID)).DnsLookupFamily; got != tc.want {
			t.Errorf("%q: %v, want %v", tc.extra, got, tc.want)
		}
	}
}
