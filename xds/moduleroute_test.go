package xds

import (
	"slices"
	"testing"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/proto"

	"github.com/llmgate/llmgate/dynmod/filter"
	"github.com/llmgate/llmgate/internal/contract"
)

// routeAccepts reports whether r's header matchers (the routes here match
// prefix "/" and headers only) accept a request with headers h.
func routeAccepts(r *routev3.Route, h map[string]string) bool {
	for _, m := range r.GetMatch().GetHeaders() {
		v, ok := h[m.GetName()]
		hit := ok
		if sm := m.GetStringMatch(); sm != nil {
			hit = ok && v == sm.GetExact()
		}
		if hit == m.GetInvertMatch() {
			return false
		}
	}
	return r.GetMatch().GetPrefix() == "/"
}

// TestClusterRoute (D75): in module mode the route table starts with the
// cluster route — a request with the module's marker and the cluster header
// goes to the cluster that header names, under the group routes' retry,
// timeout and internal redirect policies; the cluster header without the
// marker (a client's, a handed-on request's) or with another marker value
// falls through to the group routes and the 404 route as before. ext_proc
// mode has no cluster route. It fails before D75: the first route was a
// group route.
func TestClusterRoute(t *testing.T) {
	m := compiled(t, `
model_list:
  - model_name: a
    litellm_params: {model: openai/gpt-4o-mini, api_base: "http://127.0.0.1:9/a/v1", api_key: k1}
  - model_name: b
    litellm_params: {model: anthropic/claude-3-5-sonnet-20241022, api_base: "http://127.0.0.1:9", api_key: k2}
router_settings:
  num_retries: 3
  fallbacks: [{"a": ["b"]}]
`)
	o := Options{ExtProcSocket: "/tmp/x.sock", FastPath: true, RequestModule: &filter.Config{Marker: "secret-marker", TableSocket: "/tmp/t.sock"}}
	rc, err := RouteConfiguration(m, o)
	if err != nil {
		t.Fatal(err)
	}
	routes := rc.GetVirtualHosts()[0].GetRoutes()
	var names []string
	for _, r := range routes {
		names = append(names, r.GetName())
	}
	if len(routes) != 4 || routes[0].GetName() != ClusterRouteName {
		t.Fatalf("routes %v, want the cluster route first, then a, b and the 404 route", names)
	}
	first := func(h map[string]string) string {
		for _, r := range routes {
			if routeAccepts(r, h) {
				return r.GetName()
			}
		}
		return ""
	}
	for _, c := range []struct {
		h    map[string]string
		want string
	}{
		{map[string]string{contract.ModuleHeader: "secret-marker", ClusterHeader: "dep_host_x", contract.GroupHeader: "a"}, ClusterRouteName},
		{map[string]string{contract.ModuleHeader: "secret-marker", contract.GroupHeader: "a"}, "group:a"},
		{map[string]string{ClusterHeader: "llmgate_xds", contract.GroupHeader: "b"}, "group:b"},
		{map[string]string{contract.ModuleHeader: "guess", ClusterHeader: "llmgate_xds"}, "not_found"},
		{map[string]string{ClusterHeader: "llmgate_xds"}, "not_found"},
	} {
		if got := first(c.h); got != c.want {
			t.Errorf("headers %v: route %q, want %q", c.h, got, c.want)
		}
	}
	cr, group := proto.Clone(routes[0]).(*routev3.Route), routes[1]
	if got := cr.GetRoute().GetClusterHeader(); got != ClusterHeader {
		t.Errorf("the cluster route's cluster comes from %q, want the header %s", got, ClusterHeader)
	}
	if rp := cr.GetRoute().GetRetryPolicy(); rp.GetNumRetries().GetValue() != 3 || !rp.GetRefreshClusterOnRetry() {
		t.Errorf("the cluster route's retry policy %v", rp)
	}
	// Everything else is the group route's.
	cr.Name, cr.Match, cr.GetRoute().ClusterSpecifier = group.GetName(), group.GetMatch(), group.GetRoute().GetClusterSpecifier()
	if !proto.Equal(cr, group) {
		t.Errorf("the cluster route differs from the group route beyond its name, match and cluster:\n%v\n%v", cr, group)
	}

	ext, err := RouteConfiguration(m, Options{ExtProcSocket: "/tmp/x.sock", FastPath: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := ext.GetVirtualHosts()[0].GetRoutes()[0].GetName(); n == ClusterRouteName {
		t.Errorf("ext_proc mode has the cluster route")
	}
	// A fast try removes the header before the provider (ModuleUpstreamTry).
	if try := ModuleUpstreamTry(m.Deployments[0]); try == nil || !slices.Contains(try.Remove, ClusterHeader) {
		t.Errorf("a fast try does not remove %s: %v", ClusterHeader, try)
	}
}
