package xds

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/dynmod/filter"
	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/model"
)

const hostClusterConfig = `
model_list:
  - model_name: a
    litellm_params: {model: openai/gpt-4o, api_base: "http://127.0.0.1:8000/d1/v1", api_key: sk-one}
    model_info: {id: d1}
  - model_name: a
    litellm_params: {model: openai/gpt-4o-mini, api_base: "http://127.0.0.1:8000/d2/v1", api_key: sk-two}
    model_info: {id: d2}
  - model_name: b
    litellm_params: {model: openai/gpt-4o, api_base: "http://127.0.0.1:8000/d3/v1", api_key: sk-three}
    model_info: {id: d3}
  - model_name: b
    litellm_params: {model: azure/gpt-4o-eu, api_base: https://eu.example.openai.azure.com, api_key: sk-four, api_version: "2024-06-01"}
    model_info: {id: eu}
  - model_name: b
    litellm_params: {model: openai/gpt-4o, api_base: "http://127.0.0.1:8001/v1", api_key: sk-five}
    model_info: {id: other-port}
  - model_name: c
    litellm_params: {model: anthropic/claude-3-5-sonnet-20241022, api_key: sk-six}
    model_info: {id: claude}
  - model_name: c
    litellm_params: {model: openai/gpt-4o, api_base: "http://127.0.0.1:8000/d7/v1", api_key: sk-seven, extra_headers: {x-a: b}}
    model_info: {id: extra}
router_settings:
  fallbacks: [{"a": ["b"]}]
`

// TestHostClusters (D62): in module mode the fast-path deployments of one
// upstream host (scheme, host, port) share one bare cluster with no
// deployment in it and no outlier detection; a translated deployment and one
// with extra_headers keep their own; every cluster a deployment or the
// default plan names exists; no key is in any resource; the module's own
// compile of the config names the same clusters; ext_proc mode keeps a
// cluster per deployment.
func TestHostClusters(t *testing.T) {
	cfg, err := config.Parse([]byte(hostClusterConfig), "t.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	o := Options{ExtProcSocket: "/tmp/x.sock", FastPath: true, RequestModule: &filter.Config{Marker: "m", TableSocket: "/tmp/t.sock"}}
	r, err := Build(cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"d1": "dep_host_127_0_0_1_8000", "d2": "dep_host_127_0_0_1_8000", "d3": "dep_host_127_0_0_1_8000",
		"eu": "dep_host_eu_example_openai_azure_com_443_tls", "other-port": "dep_host_127_0_0_1_8001",
		"claude": "dep_claude", "extra": "dep_extra",
	}
	own := model.Compile(cfg)
	HostClusters(own)
	for _, d := range r.Model.Deployments {
		if d.ClusterFor("") != want[d.ID] {
			t.Errorf("deployment %s on cluster %s, want %s", d.ID, d.ClusterFor(""), want[d.ID])
		}
		if od, _ := own.Deployment(d.ID); od == nil || od.Cluster != d.Cluster {
			t.Errorf("the module's compile puts %s elsewhere", d.ID)
		}
	}
	names := map[string]int{}
	for _, c := range r.Clusters {
		names[c.Name]++
		if !contract.IsHostCluster(c.Name) {
			continue
		}
		if strings.Contains(c.Name, ".") {
			t.Errorf("host cluster %s: a dot splits its name in Envoy's stats", c.Name)
		}
		if c.OutlierDetection != nil || strings.Contains(protojson.Format(c.Metadata), "deployment_id") {
			t.Errorf("host cluster %s carries a deployment's outlier detection or id", c.Name)
		}
	}
	for _, n := range []string{"dep_host_127_0_0_1_8000", "dep_host_127_0_0_1_8001", "dep_host_eu_example_openai_azure_com_443_tls", "dep_claude", "dep_extra"} {
		if names[n] != 1 {
			t.Errorf("cluster %s built %d times", n, names[n])
		}
	}
	if names["dep_d1"]+names["dep_d2"]+names["dep_d3"]+names["dep_eu"] != 0 {
		t.Errorf("fast-path deployments kept clusters of their own: %v", names)
	}
	routes := protojson.Format(r.Routes[0])
	for _, n := range strings.Split(routes, `"clusterName":`)[1:] {
		n = strings.Trim(strings.SplitN(strings.TrimSpace(n), ",", 2)[0], `" }`)
		if strings.HasPrefix(n, contract.DeploymentClusterPrefix) && names[n] == 0 {
			t.Errorf("the routes name cluster %s, which is not built", n)
		}
	}
	for _, m := range r.all() {
		s := protojson.Format(m)
		for _, k := range []string{"sk-one", "sk-two", "sk-three", "sk-four", "sk-five", "sk-seven"} {
			if strings.Contains(s, k) {
				t.Errorf("%T carries key %s", m, k)
			}
		}
	}

	plain, err := Build(cfg, Options{ExtProcSocket: "/tmp/x.sock", FastPath: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range plain.Clusters {
		if contract.IsHostCluster(c.Name) {
			t.Errorf("ext_proc mode built host cluster %s", c.Name)
		}
	}
	for _, d := range plain.Model.Deployments {
		if d.ClusterFor("") != contract.ClusterName(d.ID) {
			t.Errorf("ext_proc mode: %s on %s", d.ID, d.ClusterFor(""))
		}
	}
}
