package byo

import (
	"fmt"
	"strings"

	accesslogv3 "github.com/envoyproxy/go-control-plane/envoy/config/accesslog/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	celv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/filters/cel/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	headermutationv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/header_mutation/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/llmgate/llmgate/xds"
)

// RoutePrefix starts the name of every route the fragments add; the scoped
// local replies match it.
const RoutePrefix = "llmgate:"

// InternalDomain is the host of the gateway's internal redirects (D11, D22):
// the fragments add a virtual host for it.
const InternalDomain = "llmgate.internal"

// DefaultPaths are the path prefixes (whole segments) sent to the gateway on
// a shared listener: LiteLLM's OpenAI-compatible API (with and without /v1,
// Azure style), the model lists, health and the key, team, user, customer
// and budget management routes. Everything else stays the app's.
var DefaultPaths = []string{
	"/v1", "/chat", "/completions", "/embeddings", "/openai", "/engines",
	"/models", "/model", "/model_group", "/health", "/key", "/team", "/user",
	"/customer", "/end_user", "/budget",
}

// Fragments are the pieces to merge into a listener the user already runs.
type Fragments struct {
	// HTTPFilters go before the router of the listener's HTTP connection
	// manager, in this order. The ext_proc filters are disabled by default
	// (HttpFilter.disabled) and enabled only on Routes (ExtProcPerRoute).
	HTTPFilters []*hcmv3.HttpFilter
	// Routes go first in the app's virtual host: the model-group routes
	// (matched by the header the request filter sets) and one entry route
	// per path prefix.
	Routes []*routev3.Route
	// InternalVirtualHost is added beside the app's virtual hosts: Envoy
	// replays fallbacks to host llmgate.internal.
	InternalVirtualHost *routev3.VirtualHost
	// LocalReplyMappers go first in the connection manager's
	// local_reply_config: each matches only replies on the gateway's routes
	// (CEL on xds.route_name), so the app's own errors keep their bodies.
	LocalReplyMappers []*hcmv3.ResponseMapper
	// Clusters are added to the bootstrap's clusters.
	Clusters []*clusterv3.Cluster
	// BufferLimitBytes is the listener's per_connection_buffer_limit_bytes
	// the gateway needs (request bodies are buffered; Envoy's default is 1 MiB).
	BufferLimitBytes uint32
}

// fragmentValues are the fragments as the plain values Envoy's YAML loader
// reads (toMap), for the renders that write them into YAML: the fragments
// file, the merge and the Istio / Envoy Gateway patches.
type fragmentValues struct {
	filters, routes   []any
	internal          any
	mappers, clusters []any
}

func (fr *Fragments) values() (*fragmentValues, error) {
	var v fragmentValues
	var err error
	if v.filters, err = toMaps(fr.HTTPFilters); err != nil {
		return nil, err
	}
	if v.routes, err = toMaps(fr.Routes); err != nil {
		return nil, err
	}
	if v.internal, err = toMap(fr.InternalVirtualHost); err != nil {
		return nil, err
	}
	if v.mappers, err = toMaps(fr.LocalReplyMappers); err != nil {
		return nil, err
	}
	if v.clusters, err = toMaps(fr.Clusters); err != nil {
		return nil, err
	}
	return &v, nil
}

// filterName names a gateway filter on a shared listener: unique, so it can
// sit beside the app's own ext_proc, and stable, so routes can refer to it.
func filterName(typeURL string, seen map[string]int) string {
	short := typeURL[strings.LastIndexByte(typeURL, '/')+1:]
	short = strings.TrimPrefix(short, "envoy.extensions.filters.http.")
	short = strings.SplitN(short, ".", 2)[0]
	n := "llmgate." + short
	seen[n]++
	if seen[n] > 1 {
		n = fmt.Sprintf("%s.%d", n, seen[n])
	}
	return n
}

// BuildFragments rearranges the compiled resources for a shared listener.
// paths are the path prefixes that go to the gateway (DefaultPaths when empty).
func BuildFragments(res *xds.Resources, paths []string) (*Fragments, error) {
	if len(paths) == 0 {
		paths = DefaultPaths
	}
	if len(res.Listeners) == 0 {
		return nil, fmt.Errorf("no listener in the compiled resources")
	}
	h, _, err := listenerHCM(res.Listeners[0])
	if err != nil {
		return nil, err
	}
	fr := &Fragments{Clusters: res.Clusters, BufferLimitBytes: res.Listeners[0].GetPerConnectionBufferLimitBytes().GetValue()}
	perRoute := map[string]*anypb.Any{}
	seen := map[string]int{}
	for _, f := range h.GetHttpFilters() {
		tc := f.GetTypedConfig()
		if tc == nil {
			return nil, fmt.Errorf("http filter %s has no typed_config", f.GetName())
		}
		if tc.GetTypeUrl() == "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" {
			break
		}
		f = proto.Clone(f).(*hcmv3.HttpFilter)
		f.Name = filterName(tc.GetTypeUrl(), seen)
		if tc.MessageIs(&extprocv3.ExternalProcessor{}) {
			// Off for the app's routes; the gateway's routes turn it on.
			f.Disabled = true
			on, err := anypb.New(&extprocv3.ExtProcPerRoute{Override: &extprocv3.ExtProcPerRoute_Overrides{Overrides: &extprocv3.ExtProcOverrides{}}})
			if err != nil {
				return nil, err
			}
			perRoute[f.Name] = on
		}
		if !tc.MessageIs(&extprocv3.ExternalProcessor{}) && !tc.MessageIs(&headermutationv3.HeaderMutation{}) {
			// Nothing else may run on the app's routes unscoped (the fast
			// path's Lua filter, for one, is left out of renders).
			return nil, fmt.Errorf("http filter %s (%s) cannot be scoped to llmgate's routes on a shared listener", f.GetName(), tc.GetTypeUrl())
		}
		// The x-llmgate-* response header strip only touches the gateway's
		// own headers and stays on everywhere.
		fr.HTTPFilters = append(fr.HTTPFilters, f)
	}
	rc, err := routeConfig(res)
	if err != nil {
		return nil, err
	}
	if len(rc.GetVirtualHosts()) != 1 {
		return nil, fmt.Errorf("route configuration: want one virtual host, got %d", len(rc.GetVirtualHosts()))
	}
	vh := rc.GetVirtualHosts()[0]
	var groupRoutes, notFound []*routev3.Route
	for _, r := range vh.GetRoutes() {
		r = proto.Clone(r).(*routev3.Route)
		r.Name = RoutePrefix + r.GetName()
		if r.TypedPerFilterConfig == nil {
			r.TypedPerFilterConfig = map[string]*anypb.Any{}
		}
		for k, v := range perRoute {
			r.TypedPerFilterConfig[k] = v
		}
		if r.GetRoute() == nil {
			notFound = append(notFound, r)
			continue
		}
		groupRoutes = append(groupRoutes, r)
	}
	if len(notFound) != 1 || notFound[0].GetDirectResponse() == nil {
		return nil, fmt.Errorf("route configuration: want one catch-all direct response after the group routes")
	}
	var entry []*routev3.Route
	for _, p := range paths {
		if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, " \t?#") {
			return nil, fmt.Errorf("path %q: want an absolute path prefix such as /v1", p)
		}
		r := proto.Clone(notFound[0]).(*routev3.Route)
		r.Name = RoutePrefix + "path" + p
		if p == "/" {
			r.Match = &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}}
		} else {
			r.Match = &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_PathSeparatedPrefix{PathSeparatedPrefix: strings.TrimRight(p, "/")}}
		}
		entry = append(entry, r)
	}
	fr.Routes = append(groupRoutes, entry...)
	internal := proto.Clone(vh).(*routev3.VirtualHost)
	internal.Name = "llmgate_internal"
	internal.Domains = []string{InternalDomain}
	internal.Routes = append(append([]*routev3.Route{}, groupRoutes...), notFound[0])
	fr.InternalVirtualHost = internal
	scope, err := routeScope()
	if err != nil {
		return nil, err
	}
	for _, m := range h.GetLocalReplyConfig().GetMappers() {
		m = proto.Clone(m).(*hcmv3.ResponseMapper)
		m.Filter = &accesslogv3.AccessLogFilter{FilterSpecifier: &accesslogv3.AccessLogFilter_AndFilter{AndFilter: &accesslogv3.AndFilter{
			Filters: []*accesslogv3.AccessLogFilter{scope, m.GetFilter()},
		}}}
		fr.LocalReplyMappers = append(fr.LocalReplyMappers, m)
	}
	return fr, nil
}

// routeScope matches a reply made on one of the gateway's routes.
func routeScope() (*accesslogv3.AccessLogFilter, error) {
	cel, err := anypb.New(&celv3.ExpressionFilter{Expression: "xds.route_name.startsWith('" + RoutePrefix + "')"})
	if err != nil {
		return nil, err
	}
	return &accesslogv3.AccessLogFilter{FilterSpecifier: &accesslogv3.AccessLogFilter_ExtensionFilter{ExtensionFilter: &accesslogv3.ExtensionFilter{
		Name: "envoy.access_loggers.extension_filters.cel", ConfigType: &accesslogv3.ExtensionFilter_TypedConfig{TypedConfig: cel},
	}}}, nil
}
