package xds

import (
	"slices"
	"strings"
	"testing"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	httpv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/upstreams/http/v3"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/dynmod/filter"
	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/model"
)

// TestModuleUpstreamResources (D55): in module mode every deployment
// cluster is bare, the router carries the one upstream filter chain (the
// module, the attempt filter's composite naming no deployment, the codec),
// no SDS secret is pushed and no key appears in any resource; without the
// module the clusters keep their own chains and the keys their secrets.
func TestModuleUpstreamResources(t *testing.T) {
	cfg, err := config.Parse([]byte(testConfig), "test.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	o := Options{ExtProcSocket: "/tmp/x.sock", FastPath: true, RequestModule: &filter.Config{Marker: "m", TableSocket: "/tmp/t.sock"}}
	if !ModuleUpstream(o) {
		t.Fatal("module mode off")
	}
	r, err := Build(cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(r.Secrets) != 0 {
		t.Errorf("%d SDS secrets in module mode", len(r.Secrets))
	}
	for _, m := range r.all() {
		s := protojson.Format(m)
		for _, k := range []string{`"k1"`, `"k2"`, `"k3"`, "Bearer "} {
			if strings.Contains(s, k) {
				t.Errorf("%T carries key %s", m, k)
			}
		}
	}
	clusters := 0
	for _, c := range r.Clusters {
		if !strings.HasPrefix(c.Name, contract.DeploymentClusterPrefix) {
			continue
		}
		clusters++
		var po httpv3.HttpProtocolOptions
		if err := c.TypedExtensionProtocolOptions["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"].UnmarshalTo(&po); err != nil {
			t.Fatal(err)
		}
		if len(po.HttpFilters) != 0 {
			t.Errorf("cluster %s has %d upstream filters of its own", c.Name, len(po.HttpFilters))
		}
		if c.OutlierDetection == nil && !strings.HasPrefix(c.Name, "dep_star_") && !contract.IsHostCluster(c.Name) {
			t.Errorf("cluster %s lost its outlier detection", c.Name)
		}
	}
	if clusters < 4 {
		t.Errorf("%d deployment clusters", clusters)
	}
	rt := hcmRouter(t, listenerHCM(t, r.Listeners[0]))
	var names []string
	for _, f := range rt.UpstreamHttpFilters {
		names = append(names, f.Name)
	}
	if want := []string{"llmgate.upstream", "llmgate.attempt", "envoy.filters.http.upstream_codec"}; !slices.Equal(names, want) {
		t.Errorf("router upstream filters %v, want %v", names, want)
	}
	if s := protojson.Format(rt); !strings.Contains(s, filter.UpstreamFilterName) || strings.Contains(s, contract.DeploymentMetadataKey) {
		t.Errorf("router upstream chain: the module missing or a deployment named: %s", s)
	}
	full, errOnly := SharedAttemptFilters(o)
	for _, f := range []*extprocv3.ExternalProcessor{full, errOnly} {
		for _, h := range f.GrpcService.InitialMetadata {
			if h.Key == contract.DeploymentMetadataKey || h.Key == contract.ProviderMetadataKey {
				t.Errorf("the shared attempt filter names %s", h.Key)
			}
		}
	}
	if !slices.Contains(full.RequestAttributes, ClusterAttribute) || !slices.Contains(errOnly.ResponseAttributes, ClusterAttribute) ||
		!slices.Contains(errOnly.ResponseAttributes, "upstream.request_attempt_count") {
		t.Errorf("attributes: full %v, error %v", full.RequestAttributes, errOnly.ResponseAttributes)
	}

	// ext_proc mode (no module) and the degraded mode keep today's clusters.
	for _, o := range []Options{{ExtProcSocket: "/tmp/x.sock", FastPath: true}, {ExtProcSocket: "/tmp/x.sock", FastPath: true, NoPriorityGroup: true, RequestModule: o.RequestModule}} {
		if ModuleUpstream(o) {
			t.Errorf("module upstream on for %+v", o)
		}
	}
	plain, err := Build(cfg, Options{ExtProcSocket: "/tmp/x.sock", FastPath: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(plain.Secrets) != 2 || strings.Contains(protojson.Format(plain.Listeners[0]), "upstream_http_filters") {
		t.Errorf("without the module: %d secrets, listener %s", len(plain.Secrets), protojson.Format(plain.Listeners[0]))
	}
}

// TestModuleUpstreamTries (D55): what the module does on a fast try is what
// the cluster's Lua, header_mutation and credential_injector did: the path
// per endpoint, the authority, every other key header removed, the key and
// organization set; no entry for deployments off the fast path.
func TestModuleUpstreamTries(t *testing.T) {
	cfg, err := config.Parse([]byte(`
model_list:
  - model_name: a
    litellm_params: {model: openai/gpt-4o-mini, api_base: "https://api.example.com/v1", api_key: sk-a, organization: org-1}
    model_info: {id: oa}
  - model_name: b
    litellm_params: {model: azure/dep-b, api_base: "https://b.example.openai.azure.com", api_key: k-b, api_version: "2024-06-01"}
    model_info: {id: az}
  - model_name: c
    litellm_params: {model: openai/llama, api_base: "http://127.0.0.1:8000/v1", api_key: none}
    model_info: {id: nokey}
  - model_name: d
    litellm_params: {model: anthropic/claude-3-5-sonnet-20241022, api_key: k-d}
    model_info: {id: ant}
`), "t.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	tries := ModuleUpstreamTries(model.Compile(cfg))
	if _, ok := tries["dep_ant"]; ok || len(tries) != 3 {
		t.Fatalf("tries for %v", tries)
	}
	set := func(u *UpstreamTry) map[string]string {
		m := map[string]string{}
		for _, kv := range u.Set {
			m[kv[0]] = kv[1]
		}
		return m
	}
	oa := tries["dep_oa"]
	if oa.Paths["chat"] != "/v1/chat/completions" || oa.Paths["embeddings"] != "/v1/embeddings" || oa.Paths["completions"] != "/v1/completions" || oa.Authority != "api.example.com" {
		t.Errorf("openai: %+v", oa)
	}
	if s := set(oa); s["authorization"] != "Bearer sk-a" || s["openai-organization"] != "org-1" || s["content-type"] != "application/json" {
		t.Errorf("openai sets %v", s)
	}
	if slices.Contains(oa.Remove, "authorization") || !slices.Contains(oa.Remove, "api-key") || !slices.Contains(oa.Remove, "x-api-key") || !slices.Contains(oa.Remove, contract.GroupHeader) {
		t.Errorf("openai removes %v", oa.Remove)
	}
	az := tries["dep_az"]
	if az.Paths["chat"] != "/openai/deployments/dep-b/chat/completions?api-version=2024-06-01" || az.Authority != "b.example.openai.azure.com" {
		t.Errorf("azure: %+v", az)
	}
	if s := set(az); s["api-key"] != "k-b" || s["authorization"] != "" || s["openai-organization"] != "" {
		t.Errorf("azure sets %v", s)
	}
	if !slices.Contains(az.Remove, "authorization") || slices.Contains(az.Remove, "api-key") {
		t.Errorf("azure removes %v", az.Remove)
	}
	nk := tries["dep_nokey"]
	if s := set(nk); s["authorization"] != "" || !slices.Contains(nk.Remove, "authorization") || nk.Authority != "127.0.0.1:8000" {
		t.Errorf("no key: sets %v removes %v authority %q", s, nk.Remove, nk.Authority)
	}
}
