package xds

import (
	"testing"

	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"

	"github.com/llmgate/llmgate/config"
)

// The listener walk the xds tests share: build, validate, and read the
// gateway listener's HTTP connection manager and its router.

// parseTest parses a config with no environment.
func parseTest(t *testing.T, yaml string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), "test.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// buildHCM builds cfg with o, validates the resources, and returns them
// with the listener's HCM and its router's config.
func buildHCM(t *testing.T, cfg *config.Config, o Options) (*Resources, *hcmv3.HttpConnectionManager, *routerv3.Router) {
	t.Helper()
	res, err := Build(cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Validate(); err != nil {
		t.Fatal(err)
	}
	hcm := listenerHCM(t, res.Listeners[0])
	return res, hcm, hcmRouter(t, hcm)
}

// listenerHCM is the HCM of the listener's first filter chain.
func listenerHCM(t *testing.T, l *listenerv3.Listener) *hcmv3.HttpConnectionManager {
	t.Helper()
	var hcm hcmv3.HttpConnectionManager
	if err := l.GetFilterChains()[0].GetFilters()[0].GetTypedConfig().UnmarshalTo(&hcm); err != nil {
		t.Fatal(err)
	}
	return &hcm
}

// hcmRouter is the router filter's config (empty without one).
func hcmRouter(t *testing.T, hcm *hcmv3.HttpConnectionManager) *routerv3.Router {
	t.Helper()
	var rt routerv3.Router
	for _, f := range hcm.GetHttpFilters() {
		if f.GetName() == "envoy.filters.http.router" {
			if err := f.GetTypedConfig().UnmarshalTo(&rt); err != nil {
				t.Fatal(err)
			}
		}
	}
	return &rt
}

// httpFilterNames are the HCM's HTTP filters by name, in order.
func httpFilterNames(hcm *hcmv3.HttpConnectionManager) []string {
	var out []string
	for _, f := range hcm.GetHttpFilters() {
		out = append(out, f.GetName())
	}
	return out
}
