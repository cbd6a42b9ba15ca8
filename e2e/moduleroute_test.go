package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/llmgate/llmgate/xds"
)

// routeNames are the route names of the gateway's route configuration, in
// order.
func routeNames(t *testing.T, g *Gateway) []string {
	t.Helper()
	// With ?resource= each config is one dynamic route configuration.
	var rc struct {
		Configs []struct {
			RouteConfig struct {
				VirtualHosts []struct {
					Routes []struct {
						Name string `json:"name"`
					} `json:"routes"`
				} `json:"virtual_hosts"`
			} `json:"route_config"`
		} `json:"configs"`
	}
	if err := json.Unmarshal([]byte(adminGet(t, g, "/config_dump?resource=dynamic_route_configs")), &rc); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range rc.Configs {
		for _, vh := range c.RouteConfig.VirtualHosts {
			for _, r := range vh.Routes {
				names = append(names, r.Name)
			}
		}
	}
	return names
}

// TestModuleClusterRoute (D75): in module mode a fast plan whose tries all
// go to one upstream host's cluster is routed by the cluster route (the
// module names the cluster, Envoy reads no plan): retries onto the other
// deployment of the host, a context-window fallback (an internal redirect
// replayed through the module) and a plan over two hosts (the plan's
// priority groups, as before) all answer as before; the cluster header never
// reaches a provider or a client, and a client's own cluster header routes
// nothing. It fails before D75: no cluster route in the route table.
func TestModuleClusterRoute(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	other := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGatewayArgs(t, fmt.Sprintf(`
model_list:
  - model_name: pair
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/pa/v1, api_key: k-pa}
  - model_name: pair
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/pb/v1, api_key: k-pb}
  - model_name: small
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/small/v1, api_key: k-small}
  - model_name: small
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/small2/v1, api_key: k-small2}
  - model_name: big
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/big/v1, api_key: k-big}
  - model_name: big
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/big2/v1, api_key: k-big2}
  - model_name: split
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/sa/v1, api_key: k-sa}
  - model_name: split
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[2]s/sb/v1, api_key: k-sb}
router_settings:
  num_retries: 1
  allowed_fails: 1000
  context_window_fallbacks: [{"small": ["big"]}]
general_settings:
  master_key: %[3]s
`, fake.URL(), other.URL(), master), moduleArgs)
	waitLog(t, g, "llmgate module: config")
	if names := routeNames(t, g); len(names) == 0 || names[0] != xds.ClusterRouteName {
		t.Fatalf("routes %v: the cluster route is not first", names)
	}
	noClusterHeader := func(name string, srv *fakeprovider.Server, r reply) {
		t.Helper()
		for _, rec := range srv.Requests() {
			if rec.Header.Get(xds.ClusterHeader) != "" {
				t.Errorf("%s: %s reached the provider at %s", name, xds.ClusterHeader, rec.Path)
			}
		}
		for k := range r.hdr {
			if strings.HasPrefix(strings.ToLower(k), "x-llmgate-") {
				t.Errorf("%s: %s reached the client", name, k)
			}
		}
	}

	t.Run("one host: every try on its cluster, a retry onto the other deployment", func(t *testing.T) {
		fake.Reset()
		fake.ClearRules()
		failPath(t, fake, "/pa/", 500, "pa is down")
		for i := 0; i < 6; i++ {
			r := send(g.URL, chatBody("pair", "hi"))
			if r.code != 200 || r.servedBy() != "/pb" {
				t.Fatalf("request %d: %s served by %q", i, r, r.servedBy())
			}
			noClusterHeader("retry", fake, r)
		}
		if fake.Count("/pa/") == 0 {
			t.Errorf("the failing deployment was never tried: %v", fake.Counts())
		}
	})

	t.Run("a context-window fallback replayed through the module", func(t *testing.T) {
		fake.Reset()
		fake.ClearRules()
		for _, p := range []string{"/small/", "/small2/"} {
			failPath(t, fake, p, 400, "This model's maximum context length is 10 tokens. However, your messages resulted in 50 tokens.")
		}
		r := send(g.URL, chatBody("small", "a long prompt"))
		if r.code != 200 || !strings.HasPrefix(r.servedBy(), "/big") {
			t.Fatalf("%s served by %q", r, r.servedBy())
		}
		if got := r.hdr.Get("x-litellm-model-group"); got != "big" {
			t.Errorf("x-litellm-model-group %q, want big", got)
		}
		noClusterHeader("fallback", fake, r)
	})

	t.Run("two hosts: the plan's priority groups", func(t *testing.T) {
		fake.Reset()
		other.Reset()
		fake.ClearRules()
		for i := 0; i < 12; i++ {
			if r := send(g.URL, chatBody("split", "hi")); r.code != 200 {
				t.Fatalf("%s", r)
			}
		}
		if fake.Count("/sa/") == 0 || other.Count("/sb/") == 0 || fake.Count("/sa/")+other.Count("/sb/") != 12 {
			t.Errorf("calls %v and %v, want both hosts, 12 in all", fake.Counts(), other.Counts())
		}
	})

	t.Run("a client's cluster header routes nothing", func(t *testing.T) {
		fake.Reset()
		fake.ClearRules()
		for _, path := range []string{"/v1/chat/completions", "/v1/chat/completions?x=1"} {
			req, _ := http.NewRequest("POST", g.URL+path, strings.NewReader(chatBody("pair", "hi")))
			req.Header.Set("authorization", "Bearer "+master)
			req.Header.Set("content-type", "application/json")
			req.Header.Set(xds.ClusterHeader, "llmgate_xds")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("%s: %d", path, resp.StatusCode)
			}
		}
		if fake.Count("/pa/")+fake.Count("/pb/") != 2 {
			t.Errorf("calls %v", fake.Counts())
		}
		noClusterHeader("client header", fake, reply{})
		code, _, b := do(t, "GET", g.URL+"/nowhere", master, "")
		if code != 404 || !strings.Contains(string(b), "not_found_error") {
			t.Errorf("unknown path: %d %s", code, b)
		}
	})
}
