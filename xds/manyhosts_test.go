package xds

import (
	"fmt"
	"strings"
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	overridehostv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/load_balancing_policies/override_host/v3"
	subsetv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/load_balancing_policies/subset/v3"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/dynmod/filter"
	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/model"
)

// manyHostsConfig: hosts fast-path deployments on plain-http IP addresses
// (two deployments on the first host, one IPv6 host), plus a host name, an
// https IP address, a translated deployment on an IP address and a
// deployment with extra_headers: those four keep D62's shape.
func manyHostsConfig(hosts int) string {
	var b strings.Builder
	b.WriteString("model_list:\n")
	for i := 0; i < hosts-1; i++ {
		fmt.Fprintf(&b, "  - model_name: g%d\n    litellm_params: {model: openai/gpt-4o, api_base: \"http://10.1.%d.%d:8000/d%d/v1\", api_key: sk-m%d}\n    model_info: {id: m%d}\n", i/2, i/250, 1+i%250, i, i, i)
	}
	b.WriteString(`  - model_name: g0
    litellm_params: {model: openai/gpt-4o, api_base: "http://10.1.0.1:8000/again/v1", api_key: sk-again}
    model_info: {id: again}
  - model_name: six
    litellm_params: {model: openai/gpt-4o, api_base: "http://[fd00::0001]:9000/v1", api_key: sk-six}
    model_info: {id: six}
  - model_name: named
    litellm_params: {model: openai/gpt-4o, api_base: "http://vllm.internal:8000/v1", api_key: sk-named}
    model_info: {id: named}
  - model_name: tls
    litellm_params: {model: openai/gpt-4o, api_base: "https://10.9.9.9/v1", api_key: sk-tls}
    model_info: {id: tls}
  - model_name: claude
    litellm_params: {model: anthropic/claude-3-5-sonnet-20241022, api_base: "http://10.8.8.8:8000", api_key: sk-claude}
    model_info: {id: claude}
  - model_name: extra
    litellm_params: {model: openai/gpt-4o, api_base: "http://10.7.7.7:8000/v1", api_key: sk-extra, extra_headers: {x-a: b}}
    model_info: {id: extra}
`)
	return b.String()
}

// TestManyHostClusters (D86): above ManyHostsMin hosts the fast-path
// deployments on plain-http IP addresses share one STATIC cluster with an
// endpoint per host and the override_host policy reading llmgate.ctx "oh"
// (no host when the list is used up: a subset fallback with no fallback)
// and writing the host it picked to llmgate.host "a";
// the module's compile agrees; at ManyHostsMin hosts the shape is D62's.
func TestManyHostClusters(t *testing.T) {
	o := Options{ExtProcSocket: "/tmp/x.sock", FastPath: true, RequestModule: &filter.Config{Marker: "m", TableSocket: "/tmp/t.sock"}}
	build := func(hosts int) (*config.Config, *Resources) {
		t.Helper()
		cfg, err := config.Parse([]byte(manyHostsConfig(hosts)), "t.yaml", func(string) (string, bool) { return "", false })
		if err != nil {
			t.Fatal(err)
		}
		r, err := Build(cfg, o)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Validate(); err != nil {
			t.Fatal(err)
		}
		return cfg, r
	}
	n := ManyHostsMin + 1 // hosts: n-1 IPv4 (one with two deployments) + IPv6
	cfg, r := build(n)
	own := model.Compile(cfg)
	HostClusters(own)
	if !r.Model.ManyHosts || !own.ManyHosts {
		t.Errorf("the compiled model does not say it has the cluster of many hosts")
	}
	for _, d := range r.Model.Deployments {
		want, addr := ManyHostsCluster, ""
		switch {
		case d.ID == "again":
			addr = "10.1.0.1:8000"
		case d.ID == "six":
			addr = "[fd00::1]:9000"
		case strings.HasPrefix(d.ID, "m"):
			var i int
			fmt.Sscanf(d.ID, "m%d", &i)
			addr = fmt.Sprintf("10.1.%d.%d:8000", i/250, 1+i%250)
		case d.ID == "named":
			want = "dep_host_vllm_internal_8000"
		case d.ID == "tls":
			want = "dep_host_10_9_9_9_443_tls"
		default:
			want = contract.ClusterName(d.ID)
		}
		if d.Cluster != want || d.HostAddress != addr {
			t.Errorf("deployment %s on %s at %q, want %s at %q", d.ID, d.Cluster, d.HostAddress, want, addr)
		}
		if od, _ := own.Deployment(d.ID); od == nil || od.Cluster != d.Cluster || od.HostAddress != d.HostAddress {
			t.Errorf("the module's compile puts %s elsewhere", d.ID)
		}
	}
	var many *clusterv3.Cluster
	names := map[string]bool{}
	for _, c := range r.Clusters {
		if names[c.Name] {
			t.Errorf("cluster %s built twice", c.Name)
		}
		names[c.Name] = true
		if c.Name == ManyHostsCluster {
			many = c
		}
		if strings.HasPrefix(c.Name, "dep_m") || strings.HasPrefix(c.Name, "dep_host_10_1_") {
			t.Errorf("a deployment of the many hosts has a cluster of its own: %s", c.Name)
		}
	}
	for _, want := range []string{"dep_host_vllm_internal_8000", "dep_host_10_9_9_9_443_tls", "dep_claude", "dep_extra"} {
		if !names[want] {
			t.Errorf("no cluster %s", want)
		}
	}
	if many == nil {
		t.Fatalf("no cluster %s among %d", ManyHostsCluster, len(r.Clusters))
	}
	if many.GetType() != clusterv3.Cluster_STATIC || many.TransportSocket != nil || many.OutlierDetection != nil || strings.Contains(many.Metadata.String(), "deployment_id") {
		t.Errorf("%s: type %v, TLS %v, outlier detection %v, metadata %v", many.Name, many.GetType(), many.TransportSocket != nil, many.OutlierDetection != nil, many.Metadata)
	}
	var eps []string
	for _, le := range many.GetLoadAssignment().GetEndpoints() {
		for _, ep := range le.GetLbEndpoints() {
			sa := ep.GetEndpoint().GetAddress().GetSocketAddress()
			eps = append(eps, fmt.Sprintf("%s:%d", sa.GetAddress(), sa.GetPortValue()))
		}
	}
	if len(eps) != n || eps[0] != "10.1.0.1:8000" || eps[n-1] != "fd00::1:9000" {
		t.Errorf("%s has %d endpoints (first %v, last %v), want one per host: %d", many.Name, len(eps), eps[0], eps[len(eps)-1], n)
	}
	pol := many.GetLoadBalancingPolicy().GetPolicies()
	if len(pol) != 1 || pol[0].GetTypedExtensionConfig().GetName() != "envoy.load_balancing_policies.override_host" {
		t.Fatalf("%s: load balancing policy %v", many.Name, pol)
	}
	oh := &overridehostv3.OverrideHost{}
	if err := pol[0].GetTypedExtensionConfig().GetTypedConfig().UnmarshalTo(oh); err != nil {
		t.Fatal(err)
	}
	src := oh.GetOverrideHostSources()
	if len(src) != 1 || src[0].GetMetadata().GetKey() != contract.ContextMetadataNamespace || len(src[0].GetMetadata().GetPath()) != 1 ||
		src[0].GetMetadata().GetPath()[0].GetKey() != contract.OverrideHostsKey || src[0].GetHeader() != "" {
		t.Errorf("override hosts from %v, want llmgate.ctx %q only", src, contract.OverrideHostsKey)
	}
	if k := oh.GetSelectedHostKey(); k.GetKey() != contract.SelectedHostMetadataNamespace || len(k.GetPath()) != 1 || k.GetPath()[0].GetKey() != contract.SelectedHostKey {
		t.Errorf("the picked host is not written for the module's check: %v", k)
	}
	fb := oh.GetFallbackPolicy().GetPolicies()
	none := &subsetv3.Subset{}
	if len(fb) != 1 || fb[0].GetTypedExtensionConfig().GetTypedConfig().UnmarshalTo(none) != nil ||
		none.GetFallbackPolicy() != subsetv3.Subset_NO_FALLBACK || len(none.GetSubsetSelectors()) != 0 {
		t.Errorf("the fallback picks a host: %v", fb)
	}

	// At ManyHostsMin hosts: a cluster per host, as D62.
	_, r = build(ManyHostsMin)
	if r.Model.ManyHosts {
		t.Errorf("at %d hosts the model says it has the cluster of many hosts", ManyHostsMin)
	}
	for _, d := range r.Model.Deployments {
		if d.Cluster == ManyHostsCluster || d.HostAddress != "" {
			t.Fatalf("at %d hosts deployment %s is on %s", ManyHostsMin, d.ID, d.Cluster)
		}
	}
	if d, _ := r.Model.Deployment("m0"); d.Cluster != "dep_host_10_1_0_1_8000" {
		t.Errorf("at %d hosts m0 on %s", ManyHostsMin, d.Cluster)
	}
}
