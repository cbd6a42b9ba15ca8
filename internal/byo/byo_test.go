package byo

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"gopkg.in/yaml.v3"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/envoy"
	"github.com/llmgate/llmgate/xds"
)

const testConfig = `
model_list:
  - model_name: gpt-x
    litellm_params: {model: openai/gpt-4o, api_base: "http://127.0.0.1:9999/v1", api_key: k, weight: 2}
  - model_name: gpt-x
    litellm_params: {model: openai/gpt-4o-mini, api_key: k}
  - model_name: claude
    litellm_params: {model: anthropic/claude-3-haiku, api_key: k}
router_settings:
  fallbacks: [{gpt-x: [claude]}]
general_settings:
  master_key: sk-1
`

func build(t *testing.T, o xds.Options) *xds.Resources {
	t.Helper()
	cfg, err := config.Parse([]byte(testConfig), "config.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	if o.ExtProcAddress == "" {
		o.ExtProcAddress = "127.0.0.1:50051"
	}
	res, err := xds.Build(cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// envoyBinary is the real Envoy; missing, it fails the test except under
// -short outside CI (`make deps` installs it).
func envoyBinary(t *testing.T) string {
	t.Helper()
	bin, err := envoy.FindBinary()
	if err != nil {
		if testing.Short() && os.Getenv("CI") != "true" {
			t.Skipf("envoy not installed (-short): %v", err)
		}
		t.Fatalf("envoy is required (make deps or $ENVOY_BIN): %v", err)
	}
	return bin
}

// validate runs `envoy --mode validate` on a bootstrap.
func validate(t *testing.T, bin string, yaml []byte) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "envoy.yaml")
	if err := os.WriteFile(p, yaml, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "--mode", "validate", "-c", p, "--log-level", "error").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "OK") {
		t.Fatalf("envoy --mode validate: %v\n%s", err, out)
	}
}

const appBootstrap = `
static_resources:
  listeners:
  - name: app_listener
    address: {socket_address: {address: 127.0.0.1, port_value: 8080}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          statPrefix: app
          routeConfig:
            virtualHosts:
            - name: app
              domains: ["*"]
              routes:
              - match: {prefix: /}
                route: {cluster: app}
          httpFilters:
          - name: envoy.filters.http.router
            typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}
  clusters:
  - name: app
    connect_timeout: 1s
    load_assignment:
      cluster_name: app
      endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 8081}}}}]}]
`

func TestStaticAndMergeValidateOnEnvoy(t *testing.T) {
	bin := envoyBinary(t)
	res := build(t, xds.Options{})
	b, err := Static(res, 0)
	if err != nil {
		t.Fatal(err)
	}
	y, err := YAML(b)
	if err != nil {
		t.Fatal(err)
	}
	validate(t, bin, y)
	fr, err := BuildFragments(res, nil)
	if err != nil {
		t.Fatal(err)
	}
	merged, err := Merge([]byte(appBootstrap), fr, MergeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	validate(t, bin, merged)
	// The app's catch-all "/" comes after llmgate's routes (camelCase
	// spelling kept: routeConfig, virtualHosts).
	s := string(merged)
	if i, j := strings.Index(s, "llmgate:path/v1"), strings.Index(s, "cluster: app"); i < 0 || j < 0 || i > j {
		t.Errorf("llmgate's routes must come before the app's catch-all")
	}
	if strings.Contains(s, "route_config:") || strings.Contains(s, "virtual_hosts:\n") && !strings.Contains(s, "virtualHosts:") {
		t.Errorf("the merge must keep the file's spelling of fields it edits")
	}
}

func TestFragmentsAreScopedToLLMRoutes(t *testing.T) {
	fr, err := BuildFragments(build(t, xds.Options{}), []string{"/v1", "/llm/"})
	if err != nil {
		t.Fatal(err)
	}
	var extprocs []string
	for _, f := range fr.HTTPFilters {
		if f.GetTypedConfig().MessageIs(&extprocv3.ExternalProcessor{}) {
			extprocs = append(extprocs, f.GetName())
			if !f.GetDisabled() {
				t.Errorf("ext_proc filter %s must be disabled by default", f.GetName())
			}
		}
		if !strings.HasPrefix(f.GetName(), "llmgate.") || f.GetName() == "envoy.filters.http.router" {
			t.Errorf("filter %q", f.GetName())
		}
	}
	if len(extprocs) == 0 {
		t.Fatal("no ext_proc filter in the fragments")
	}
	paths := map[string]bool{}
	for _, r := range append(fr.Routes, fr.InternalVirtualHost.GetRoutes()...) {
		if !strings.HasPrefix(r.GetName(), RoutePrefix) {
			t.Errorf("route %q is not named %s…", r.GetName(), RoutePrefix)
		}
		for _, n := range extprocs {
			pr := &extprocv3.ExtProcPerRoute{}
			if err := r.GetTypedPerFilterConfig()[n].UnmarshalTo(pr); err != nil || pr.GetOverrides() == nil {
				t.Errorf("route %s does not enable %s: %v", r.GetName(), n, err)
			}
		}
		if p := r.GetMatch().GetPathSeparatedPrefix(); p != "" {
			paths[p] = true
		}
	}
	if !paths["/v1"] || !paths["/llm"] || len(paths) != 2 {
		t.Errorf("entry routes %v", paths)
	}
	if len(fr.LocalReplyMappers) == 0 {
		t.Fatal("no local reply mappers")
	}
	for _, m := range fr.LocalReplyMappers {
		if !isScoped(mustMap(t, m)) {
			t.Errorf("mapper not scoped to llmgate's routes: %v", m)
		}
	}
	if got := fr.InternalVirtualHost.GetDomains(); len(got) != 1 || got[0] != InternalDomain {
		t.Errorf("internal virtual host domains %v", got)
	}
	if _, err := BuildFragments(build(t, xds.Options{}), []string{"v1"}); err == nil {
		t.Error("a relative path prefix must be refused")
	}
}

func mustMap(t *testing.T, m proto.Message) any {
	t.Helper()
	v, err := toMap(m)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestMergeRefusesWhatItCannotDo(t *testing.T) {
	fr, err := BuildFragments(build(t, xds.Options{}), nil)
	if err != nil {
		t.Fatal(err)
	}
	two := strings.Replace(appBootstrap, "  clusters:", `  - name: second
    address: {socket_address: {address: 127.0.0.1, port_value: 8082}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: s
          rds: {route_config_name: r, config_source: {ads: {}}}
          http_filters:
          - name: envoy.filters.http.router
            typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}
  clusters:`, 1)
	for name, tc := range map[string]struct {
		boot string
		o    MergeOptions
		want string
	}{
		"two listeners":  {two, MergeOptions{}, "several HTTP listeners"},
		"rds":            {two, MergeOptions{Listener: "second"}, "RDS"},
		"no such":        {appBootstrap, MergeOptions{Listener: "nope"}, "no HTTP listener named"},
		"no vhost":       {appBootstrap, MergeOptions{VirtualHosts: []string{"other"}}, "no virtual host"},
		"no router":      {strings.NewReplacer("router.v3.Router", "buffer.v3.Buffer", "envoy.filters.http.router", "buffer").Replace(appBootstrap), MergeOptions{}, "no router"},
		"not a document": {"- a\n- b\n", MergeOptions{}, "bootstrap"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Merge([]byte(tc.boot), fr, tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestMergeADS(t *testing.T) {
	bin := envoyBinary(t)
	ads, err := envoy.Bootstrap(envoy.BootstrapOptions{XDSHost: "127.0.0.1", XDSPort: 18000})
	if err != nil {
		t.Fatal(err)
	}
	once, err := MergeADS([]byte(appBootstrap), ads)
	if err != nil {
		t.Fatal(err)
	}
	validate(t, bin, once)
	twice, err := MergeADS(once, ads)
	if err != nil {
		t.Fatalf("merging into a merged bootstrap: %v", err)
	}
	var doc struct {
		StaticResources struct {
			Clusters []struct{ Name string } `yaml:"clusters"`
		} `yaml:"static_resources"`
	}
	if err := yaml.Unmarshal(twice, &doc); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range doc.StaticResources.Clusters {
		if c.Name == xds.XDSCluster {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the control plane's cluster appears %d times after two merges", n)
	}
	if !strings.Contains(string(twice), "name: app") || !strings.Contains(string(twice), "app_listener") {
		t.Error("the app's listener and cluster must stay")
	}
	own := appBootstrap + "dynamic_resources: {cds_config: {path_config_source: {path: /etc/envoy/cds.yaml}}}\n"
	if _, err := MergeADS([]byte(own), ads); err == nil || !strings.Contains(err.Error(), "dynamic_resources") {
		t.Errorf("a bootstrap with its own dynamic_resources must be refused, got %v", err)
	}
}

func TestFragmentsRefuseUnscopableFilters(t *testing.T) {
	// The fast path's listener Lua filter would run on the app's routes.
	if _, err := BuildFragments(build(t, xds.Options{FastPath: true}), nil); err == nil || !strings.Contains(err.Error(), "cannot be scoped") {
		t.Fatalf("want a refusal, got %v", err)
	}
}
