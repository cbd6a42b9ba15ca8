package byo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"gopkg.in/yaml.v3"

	"github.com/llmgate/llmgate/xds"
)

// Envoy reads its YAML with the proto3 JSON mapping: every field may be
// spelled snake_case or lowerCamelCase. The merge reads both and writes
// snake_case.

// toMap renders a proto as the plain value Envoy's YAML loader reads.
func toMap(m proto.Message) (any, error) {
	b, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(m)
	if err != nil {
		return nil, err
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	return plainNumbers(v), nil
}

// plainNumbers turns JSON numbers into integers where they are whole, so
// the YAML shows 33554432, not 3.3554432e+07 (which older Envoys refuse).
func plainNumbers(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = plainNumbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = plainNumbers(e)
		}
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		f, _ := x.Float64()
		return f
	}
	return v
}

func toMaps[T proto.Message](ms []T) ([]any, error) {
	out := make([]any, 0, len(ms))
	for _, m := range ms {
		v, err := toMap(m)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// camel is the lowerCamelCase spelling of a snake_case field name.
func camel(s string) string {
	parts := strings.Split(s, "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}

// field reads a field in either spelling.
func field(m map[string]any, name string) (any, bool) {
	if v, ok := m[name]; ok {
		return v, true
	}
	v, ok := m[camel(name)]
	return v, ok
}

// setField writes a field, keeping the spelling the file already uses.
func setField(m map[string]any, name string, v any) {
	if _, ok := m[camel(name)]; ok && camel(name) != name {
		m[camel(name)] = v
		return
	}
	m[name] = v
}

func mapOf(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func listOf(v any) []any {
	l, _ := v.([]any)
	return l
}

func str(m map[string]any, name string) string {
	v, _ := field(m, name)
	s, _ := v.(string)
	return s
}

// typeOf is the @type of a filter's typed_config.
func typeOf(filter map[string]any) string {
	tc, _ := field(filter, "typed_config")
	return str(mapOf(tc), "@type")
}

const (
	hcmType    = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
	routerType = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
)

// MergeOptions say where the fragments go.
type MergeOptions struct {
	// Listener is the name of the listener to extend; empty: the only
	// static listener with an HTTP connection manager.
	Listener string
	// VirtualHosts are the names of the virtual hosts that get the gateway's
	// routes; empty: every virtual host of the listener's inline route
	// configuration.
	VirtualHosts []string
}

// Merge adds the fragments to an Envoy bootstrap (YAML or JSON) and returns
// the result as YAML: the gateway's filters before the router of every HTTP
// connection manager of the listener, its routes first in the chosen virtual
// hosts, the llmgate.internal virtual host, its scoped local-reply mappers
// first, its clusters, and the listener's buffer limit raised to the
// gateway's. The app's own filters, routes and replies are left as they are.
// A bootstrap that already holds the gateway's pieces (a previous merge) has
// them replaced, so a new render after a config change merges cleanly.
func Merge(bootstrap []byte, fr *Fragments, o MergeOptions) ([]byte, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(bootstrap, &doc); err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	if doc == nil {
		return nil, fmt.Errorf("bootstrap is empty")
	}
	srv, _ := field(doc, "static_resources")
	sr := mapOf(srv)
	if sr == nil {
		return nil, fmt.Errorf("bootstrap has no static_resources")
	}
	lv, _ := field(sr, "listeners")
	var target map[string]any
	var candidates []string
	for _, l := range listOf(lv) {
		lm := mapOf(l)
		if len(hcms(lm)) == 0 {
			continue
		}
		candidates = append(candidates, str(lm, "name"))
		if o.Listener == "" || str(lm, "name") == o.Listener {
			if target != nil {
				return nil, fmt.Errorf("bootstrap has several HTTP listeners (%s): name one with --listener", strings.Join(candidates, ", "))
			}
			target = lm
		}
	}
	if target == nil {
		if o.Listener != "" {
			return nil, fmt.Errorf("bootstrap has no HTTP listener named %q (HTTP listeners: %s)", o.Listener, strings.Join(candidates, ", "))
		}
		return nil, fmt.Errorf("bootstrap has no static listener with an HTTP connection manager")
	}
	v, err := fr.values()
	if err != nil {
		return nil, err
	}
	for _, h := range hcms(target) {
		if err := mergeHCM(h, v, o.VirtualHosts); err != nil {
			return nil, fmt.Errorf("listener %s: %w", str(target, "name"), err)
		}
	}
	if v, ok := field(target, "per_connection_buffer_limit_bytes"); !ok || toUint(v) < uint64(fr.BufferLimitBytes) {
		setField(target, "per_connection_buffer_limit_bytes", fr.BufferLimitBytes)
	}
	cv, _ := field(sr, "clusters")
	var kept []any
	names := map[string]bool{}
	for _, c := range v.clusters {
		names[str(mapOf(c), "name")] = true
	}
	for _, c := range listOf(cv) {
		n := str(mapOf(c), "name")
		if names[n] {
			if !isGatewayCluster(n) {
				return nil, fmt.Errorf("bootstrap already has a cluster named %q", n)
			}
			continue // a previous merge's
		}
		kept = append(kept, c)
	}
	setField(sr, "clusters", append(kept, v.clusters...))
	return yaml.Marshal(doc)
}

func isGatewayCluster(name string) bool {
	// (realtime_: the Realtime API's per-host clusters, D159.)
	return strings.HasPrefix(name, "llmgate_") || strings.HasPrefix(name, "dep_") || strings.HasPrefix(name, "realtime_")
}

func toUint(v any) uint64 {
	switch n := v.(type) {
	case int:
		return uint64(max(n, 0))
	case int64:
		return uint64(max(n, 0))
	case float64:
		return uint64(max(n, 0))
	case string:
		var u uint64
		fmt.Sscan(n, &u)
		return u
	}
	return 0
}

// hcms are the HTTP connection managers of a listener's filter chains
// (their typed_config maps, edited in place).
func hcms(listener map[string]any) []map[string]any {
	var out []map[string]any
	fcs, _ := field(listener, "filter_chains")
	for _, fc := range listOf(fcs) {
		fs, _ := field(mapOf(fc), "filters")
		for _, f := range listOf(fs) {
			fm := mapOf(f)
			if typeOf(fm) == hcmType {
				tc, _ := field(fm, "typed_config")
				out = append(out, mapOf(tc))
			}
		}
	}
	return out
}

func isGatewayName(v any) bool {
	return strings.HasPrefix(str(mapOf(v), "name"), "llmgate")
}

func withoutGateway(l []any) []any {
	var out []any
	for _, v := range l {
		if !isGatewayName(v) {
			out = append(out, v)
		}
	}
	return out
}

func mergeHCM(h map[string]any, fv *fragmentValues, vhNames []string) error {
	hv, _ := field(h, "http_filters")
	cur := withoutGateway(listOf(hv))
	at := -1
	for i, f := range cur {
		if typeOf(mapOf(f)) == routerType || str(mapOf(f), "name") == "envoy.filters.http.router" {
			at = i
			break
		}
	}
	if at < 0 {
		return fmt.Errorf("its HTTP connection manager has no router filter")
	}
	nf := append(append(append([]any{}, cur[:at]...), fv.filters...), cur[at:]...)
	setField(h, "http_filters", nf)

	if _, ok := field(h, "rds"); ok {
		return fmt.Errorf("its routes come from RDS: add the routes of `llmgate render --mode fragments` to that route configuration, or use the dynamic way")
	}
	rcv, ok := field(h, "route_config")
	rc := mapOf(rcv)
	if !ok || rc == nil {
		return fmt.Errorf("its HTTP connection manager has no inline route_config")
	}
	vhv, _ := field(rc, "virtual_hosts")
	var vhs []any
	matched := 0
	for _, v := range listOf(vhv) {
		vm := mapOf(v)
		if isGatewayName(vm) {
			continue // a previous merge's llmgate_internal
		}
		if len(vhNames) == 0 || contains(vhNames, str(vm, "name")) {
			matched++
			rv, _ := field(vm, "routes")
			setField(vm, "routes", append(append([]any{}, fv.routes...), withoutGateway(listOf(rv))...))
			// The attempt filter reads x-envoy-attempt-count.
			setField(vm, "include_request_attempt_count", true)
		}
		vhs = append(vhs, vm)
	}
	if matched == 0 {
		return fmt.Errorf("no virtual host to add the routes to (asked for %v)", vhNames)
	}
	setField(rc, "virtual_hosts", append(vhs, fv.internal))

	lrv, _ := field(h, "local_reply_config")
	lr := mapOf(lrv)
	if lr == nil {
		lr = map[string]any{}
		setField(h, "local_reply_config", lr)
	}
	mv, _ := field(lr, "mappers")
	var old []any
	for _, m := range listOf(mv) {
		if !isScoped(m) {
			old = append(old, m)
		}
	}
	setField(lr, "mappers", append(append([]any{}, fv.mappers...), old...))
	return nil
}

// isScoped: a mapper a previous merge added (its filter names the gateway's routes).
func isScoped(m any) bool {
	b, _ := json.Marshal(m)
	return strings.Contains(string(b), "xds.route_name.startsWith('"+RoutePrefix+"')")
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// MergeADS adds the dynamic way to an Envoy bootstrap (YAML or JSON): the
// ADS config source for listeners and clusters and the control plane's
// cluster, from ads (`llmgate bootstrap`'s bootstrap). The app's static
// listeners and clusters stay; llmgate's listener, routes and clusters then
// come from `llmgate controlplane` and follow every config change without a
// restart. A node id is set when the file has none (xDS needs one); a
// bootstrap that already has dynamic_resources is refused (Envoy has one ADS).
func MergeADS(bootstrap []byte, ads proto.Message) ([]byte, error) {
	var doc map[string]any
	if err := yaml.Unmarshal(bootstrap, &doc); err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	if doc == nil {
		return nil, fmt.Errorf("bootstrap is empty")
	}
	av, err := toMap(ads)
	if err != nil {
		return nil, err
	}
	a := mapOf(av)
	if old, ok := field(doc, "dynamic_resources"); ok && !isGatewayADS(old) {
		return nil, fmt.Errorf("bootstrap already has dynamic_resources (Envoy takes one ADS server): merge llmgate statically (render --mode merge) instead")
	}
	setField(doc, "dynamic_resources", a["dynamic_resources"])
	if nv, ok := field(doc, "node"); !ok || str(mapOf(nv), "id") == "" {
		setField(doc, "node", a["node"])
	} else if str(mapOf(nv), "cluster") == "" {
		mapOf(nv)["cluster"] = "llmgate"
	}
	srv, _ := field(doc, "static_resources")
	sr := mapOf(srv)
	if sr == nil {
		sr = map[string]any{}
		setField(doc, "static_resources", sr)
	}
	xdsClusters := listOf(mapOf(a["static_resources"])["clusters"])
	cv, _ := field(sr, "clusters")
	var kept []any
	for _, c := range listOf(cv) {
		if n := str(mapOf(c), "name"); n == xds.XDSCluster {
			continue // a previous merge's
		}
		kept = append(kept, c)
	}
	setField(sr, "clusters", append(kept, xdsClusters...))
	return yaml.Marshal(doc)
}

// isGatewayADS: dynamic_resources a previous MergeADS wrote (its ADS server
// is the llmgate_xds cluster).
func isGatewayADS(v any) bool {
	b, _ := json.Marshal(v)
	return strings.Contains(string(b), `"`+xds.XDSCluster+`"`)
}
