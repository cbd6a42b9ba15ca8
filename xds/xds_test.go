package xds

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	pgv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/router/cluster_specifiers/priority_group/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/model"
)

var update = flag.Bool("update", false, "rewrite golden files")

const testConfig = `
model_list:
  - model_name: gpt-4o
    litellm_params: {model: azure/gpt-4o-eu, api_base: https://eu.example.openai.azure.com, api_key: k1, api_version: "2024-06-01", weight: 3}
    model_info: {id: eu}
  - model_name: gpt-4o
    litellm_params: {model: azure/gpt-4o-us, api_base: https://us.example.openai.azure.com, api_key: k2, api_version: "2024-06-01", weight: 1}
    model_info: {id: us}
  - model_name: claude
    litellm_params: {model: anthropic/claude-3-5-sonnet-20241022, api_key: k3, cooldown_time: 30}
    model_info: {id: claude}
  - model_name: local
    litellm_params: {model: openai/llama, api_base: "http://127.0.0.1:8000/v1"}
    model_info: {id: local}
  - model_name: mock
    litellm_params: {model: openai/gpt-4o, mock_response: hi}
    model_info: {id: mock}
  - model_name: "*"
    litellm_params: {model: "*", api_base: "http://127.0.0.1:9000/v1"}
    model_info: {id: star}
router_settings:
  num_retries: 3
  timeout: 30
  stream_timeout: 60
  allowed_fails: 2
  cooldown_time: 10
  fallbacks: [{"gpt-4o": ["claude"]}]
general_settings:
  max_request_size_mb: 8
`

func build(t *testing.T) (*config.Config, *Resources) {
	t.Helper()
	cfg, err := config.Parse([]byte(testConfig), "test.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	res, err := Build(cfg, Options{ListenAddress: "127.0.0.1", Port: 4000, ExtProcSocket: "/run/llmgate/extproc.sock"})
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Validate(); err != nil {
		t.Fatalf("resources fail Envoy's validation: %v", err)
	}
	return cfg, res
}

// TestRenderGolden compares every resource built from testConfig with the
// golden YAML (rewrite with -update after a deliberate change).
func TestRenderGolden(t *testing.T) {
	_, res := build(t)
	got, err := res.YAML()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "render.golden.yaml")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./xds -update)", err)
	}
	if string(got) != string(want) {
		t.Errorf("rendered resources differ from %s; run go test ./xds -update and review the diff", path)
	}
}

func TestVersionIsStable(t *testing.T) {
	_, a := build(t)
	_, b := build(t)
	if a.Version != b.Version || a.Version == "" {
		t.Fatalf("versions %q %q", a.Version, b.Version)
	}
}

func clusterByName(t *testing.T, res *Resources, name string) *clusterv3.Cluster {
	t.Helper()
	for _, c := range res.Clusters {
		if c.Name == name {
			return c
		}
	}
	var names []string
	for _, c := range res.Clusters {
		names = append(names, c.Name)
	}
	t.Fatalf("no cluster %s in %v", name, names)
	return nil
}

func TestClusters(t *testing.T) {
	_, res := build(t)
	for _, c := range res.Clusters {
		if c.Name == contract.ClusterName("mock") {
			t.Error("a mock_response deployment has no upstream and needs no cluster")
		}
	}
	eu := clusterByName(t, res, contract.ClusterName("eu"))
	if eu.GetType() != clusterv3.Cluster_LOGICAL_DNS {
		t.Errorf("hostname endpoint: type %v", eu.GetType())
	}
	var tc tlsv3.UpstreamTlsContext
	if err := eu.GetTransportSocket().GetTypedConfig().UnmarshalTo(&tc); err != nil {
		t.Fatal(err)
	}
	if tc.Sni != "eu.example.openai.azure.com" {
		t.Errorf("SNI = %q", tc.Sni)
	}
	if got := eu.GetOutlierDetection().GetBaseEjectionTime().AsDuration(); got != 10*time.Second {
		t.Errorf("cooldown_time → base ejection %v", got)
	}
	if got := eu.GetOutlierDetection().GetConsecutive_5Xx().GetValue(); got != 3 {
		t.Errorf("allowed_fails 2 → consecutive_5xx %d", got)
	}
	if got := eu.GetPerConnectionBufferLimitBytes().GetValue(); got != 8<<20 {
		t.Errorf("max_request_size_mb 8 → buffer %d", got)
	}
	claude := clusterByName(t, res, contract.ClusterName("claude"))
	if got := claude.GetOutlierDetection().GetBaseEjectionTime().AsDuration(); got != 30*time.Second {
		t.Errorf("deployment cooldown_time → %v", got)
	}
	local := clusterByName(t, res, contract.ClusterName("local"))
	if local.GetType() != clusterv3.Cluster_STATIC || local.GetTransportSocket() != nil {
		t.Errorf("plain http IP endpoint: type %v tls %v", local.GetType(), local.GetTransportSocket())
	}
	// The attempt filter is told which deployment each cluster serves.
	var po httpv3.HttpProtocolOptions
	if err := local.GetTypedExtensionProtocolOptions()["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"].UnmarshalTo(&po); err != nil {
		t.Fatal(err)
	}
	if n := len(po.HttpFilters); n != 2 || po.HttpFilters[0].Name != "envoy.filters.http.ext_proc" || po.HttpFilters[1].Name != "envoy.filters.http.upstream_codec" {
		t.Fatalf("upstream filters: %v", po.HttpFilters)
	}
	var ep extprocv3.ExternalProcessor
	if err := po.HttpFilters[0].GetTypedConfig().UnmarshalTo(&ep); err != nil {
		t.Fatal(err)
	}
	md := map[string]string{}
	for _, h := range ep.GrpcService.InitialMetadata {
		md[h.Key] = h.Value
	}
	if md[contract.DeploymentMetadataKey] != "local" || md[contract.PhaseMetadataKey] != contract.PhaseAttempt {
		t.Errorf("attempt filter metadata %v", md)
	}
	if ep.GetStatusOnError().GetCode() != 503 || ep.GetMessageTimeout().AsDuration() < time.Second {
		t.Errorf("status_on_error %v, message_timeout %v", ep.GetStatusOnError(), ep.GetMessageTimeout())
	}
	// model: "*" has one cluster per provider, all at its api_base.
	for _, p := range []string{"openai", "groq", "anthropic"} {
		clusterByName(t, res, contract.ProviderClusterName("star", p))
	}
}

func TestRoutes(t *testing.T) {
	_, res := build(t)
	rc := res.Routes[0]
	routes := map[string]*routev3.Route{}
	for _, r := range rc.VirtualHosts[0].Routes {
		routes[r.Name] = r
	}
	last := rc.VirtualHosts[0].Routes[len(rc.VirtualHosts[0].Routes)-1]
	if last.GetDirectResponse().GetStatus() != 404 || !strings.Contains(last.GetDirectResponse().GetBody().GetInlineString(), `"error"`) {
		t.Errorf("the catch-all must answer OpenAI-format 404: %v", last)
	}
	r := routes["group:gpt-4o"]
	if r == nil {
		t.Fatalf("no route for gpt-4o: %v", routes)
	}
	a := r.GetRoute()
	rp := a.GetRetryPolicy()
	if !rp.RefreshClusterOnRetry || rp.GetNumRetries().GetValue() != 3 || rp.GetPerTryTimeout().AsDuration() != 30*time.Second {
		t.Errorf("retry policy %v", rp)
	}
	if a.GetIdleTimeout().AsDuration() != 60*time.Second || a.GetTimeout().AsDuration() != 0 {
		t.Errorf("timeouts: idle %v total %v", a.GetIdleTimeout().AsDuration(), a.GetTimeout().AsDuration())
	}
	if ir := a.GetInternalRedirectPolicy(); ir == nil || ir.RedirectResponseCodes[0] != 307 || ir.ResponseHeadersToCopy[0] != contract.FallbackHeader {
		t.Errorf("internal redirect policy %v", ir)
	}
	var spec pgv3.PriorityGroupClusterSpecifier
	if err := a.GetInlineClusterSpecifierPlugin().GetExtension().GetTypedConfig().UnmarshalTo(&spec); err != nil {
		t.Fatal(err)
	}
	if spec.OverrideMetadataNamespace != contract.PlanMetadataNamespace || len(spec.PriorityGroups) != 2 {
		t.Fatalf("priority groups %v", &spec)
	}
	w := map[string]uint32{}
	for _, c := range spec.PriorityGroups[0].Clusters {
		w[c.ClusterName] = c.GetWeight().GetValue()
	}
	if w[contract.ClusterName("eu")] != 3*w[contract.ClusterName("us")] || w[contract.ClusterName("us")] == 0 {
		t.Errorf("weights %v, want 3:1", w)
	}
	if spec.PriorityGroups[1].Name != "claude" {
		t.Errorf("fallback group %v", spec.PriorityGroups[1])
	}
}

func TestWeight(t *testing.T) {
	d := func(w float64, rpm, tpm int64) *config.Deployment {
		return &config.Deployment{Params: config.LiteLLMParams{Weight: w, RPM: rpm, TPM: tpm}}
	}
	for _, tc := range []struct {
		name  string
		group []*config.Deployment
		want  []uint32
	}{
		{"uniform", []*config.Deployment{d(0, 0, 0), d(0, 0, 0)}, []uint32{1, 1}},
		{"weight wins over rpm", []*config.Deployment{d(2, 100, 0), d(1, 900, 0)}, []uint32{2000, 1000}},
		{"rpm", []*config.Deployment{d(0, 100, 0), d(0, 300, 0)}, []uint32{100000, 300000}},
		{"tpm", []*config.Deployment{d(0, 0, 1000), d(0, 0, 3000)}, []uint32{1000000, 3000000}},
		{"fractional weights keep precision", []*config.Deployment{d(0.25, 0, 0), d(0.75, 0, 0)}, []uint32{250, 750}},
		// One factor for the group: rpm 900 and 1800 stay 1:2 (each scaled
		// on its own they were 900000 and 1800, 500:1).
		{"ratios across magnitudes", []*config.Deployment{d(0, 900, 0), d(0, 1800, 0)}, []uint32{900000, 1800000}},
		{"huge weights are scaled down together", []*config.Deployment{d(0, 4e9, 0), d(0, 2e9, 0)}, []uint32{1 << 31, 1 << 30}},
		{"unweighted ones go last", []*config.Deployment{d(3, 0, 0), d(0, 0, 0)}, []uint32{3000, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &config.Config{}
			for i, d := range tc.group {
				d.ID, d.ModelName = fmt.Sprint(i), "g"
				cfg.Models = append(cfg.Models, *d)
			}
			got := Weights(model.Compile(cfg).Deployments)
			if tc.want[0] == 1 && got == nil {
				return // uniform
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("weights %v, want %v", got, tc.want)
			}
		})
	}
}
