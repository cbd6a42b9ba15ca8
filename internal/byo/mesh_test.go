package byo

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/llmgate/llmgate/xds"
)

// The tests below apply the generated patches the way Istio and Envoy
// Gateway document them (Istio: proto merge, INSERT_BEFORE the named sub
// filter, HTTP_ROUTE INSERT_FIRST prepends, ADD appends; Envoy Gateway:
// RFC 6902 "add", a whole new resource for path "") to an Envoy config
// shaped as each generates it, then run the real Envoy on the result with
// --mode validate: on Envoy 1.40 and, when installed (make envoy-old), on
// Envoy 1.37 (Envoy Gateway v1.7, Istio 1.29). The appliers are models of
// the documented semantics, not Istio or Envoy Gateway themselves.

// oldEnvoyBinary is `make envoy-old`'s Envoy; "" when missing outside CI.
func oldEnvoyBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("ENVOY_OLD_BIN"); p != "" {
		return p
	}
	if m, _ := filepath.Glob("../../.venv-envoy-*/lib/python*/site-packages/envoy/_bin/envoy"); len(m) > 0 {
		return m[0]
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("the older Envoy is required under CI (make envoy-old, or $ENVOY_OLD_BIN)")
	}
	t.Log("no older Envoy (make envoy-old): validated on Envoy 1.40 only")
	return ""
}

func fragmentsFor(t *testing.T, degraded bool) *Fragments {
	t.Helper()
	fr, err := BuildFragments(build(t, xds.Options{NoPriorityGroup: degraded, ExtProcAddress: "llmgate-extproc.llmgate.svc.cluster.local:50051"}), nil)
	if err != nil {
		t.Fatal(err)
	}
	return fr
}

func parseDoc(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	return doc
}

// deepMerge is proto merge on plain values: objects merge, lists append,
// scalars replace.
func deepMerge(dst map[string]any, src map[string]any) {
	for k, v := range src {
		switch sv := v.(type) {
		case map[string]any:
			if dv, ok := dst[k].(map[string]any); ok {
				deepMerge(dv, sv)
				continue
			}
		case []any:
			if dv, ok := dst[k].([]any); ok {
				dst[k] = append(dv, sv...)
				continue
			}
		}
		dst[k] = v
	}
}

const istioGateway = `
static_resources:
  listeners:
  - name: 0.0.0.0_8080
    address: {socket_address: {address: 0.0.0.0, port_value: 8080}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: outbound_0.0.0.0_8080
          route_config:
            name: http.8080
            virtual_hosts:
            - name: "*:80"
              domains: ["*"]
              routes:
              - name: default
                match: {prefix: /}
                route: {cluster: "outbound|80||app.default.svc.cluster.local"}
          http_filters:
          - name: istio.stats
            typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.buffer.v3.Buffer, max_request_bytes: 1048576}
          - name: envoy.filters.http.router
            typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}
  clusters:
  - name: "outbound|80||app.default.svc.cluster.local"
    connect_timeout: 1s
    load_assignment:
      cluster_name: app
      endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 8081}}}}]}]
`

// applyIstio applies an EnvoyFilter's configPatches to a gateway bootstrap.
func applyIstio(t *testing.T, boot map[string]any, ef map[string]any) {
	t.Helper()
	sr := mapOf(boot["static_resources"])
	hcmsOf := func() []map[string]any {
		var out []map[string]any
		for _, l := range listOf(sr["listeners"]) {
			out = append(out, hcms(mapOf(l))...)
		}
		return out
	}
	for i, p := range listOf(mapOf(ef["spec"])["configPatches"]) {
		pm := mapOf(p)
		patch := mapOf(pm["patch"])
		op, value := patch["operation"], patch["value"]
		match := mapOf(pm["match"])
		if match["context"] != "GATEWAY" {
			t.Fatalf("patch %d: context %v, want GATEWAY", i, match["context"])
		}
		vhostName := str(mapOf(mapOf(match["routeConfiguration"])["vhost"]), "name")
		switch fmt.Sprint(pm["applyTo"], " ", op) {
		case "CLUSTER ADD":
			sr["clusters"] = append(listOf(sr["clusters"]), value)
		case "HTTP_FILTER INSERT_BEFORE":
			sub := str(mapOf(mapOf(mapOf(mapOf(match["listener"])["filterChain"])["filter"])["subFilter"]), "name")
			for _, h := range hcmsOf() {
				fs := listOf(h["http_filters"])
				at := slices.IndexFunc(fs, func(f any) bool { return str(mapOf(f), "name") == sub })
				if at < 0 {
					t.Fatalf("patch %d: no filter %q to insert before", i, sub)
				}
				h["http_filters"] = slices.Insert(fs, at, value)
			}
		case "HTTP_ROUTE INSERT_FIRST", "VIRTUAL_HOST MERGE", "VIRTUAL_HOST ADD":
			for _, h := range hcmsOf() {
				rc := mapOf(h["route_config"])
				if pm["applyTo"] == "VIRTUAL_HOST" && op == "ADD" {
					rc["virtual_hosts"] = append(listOf(rc["virtual_hosts"]), value)
					continue
				}
				for _, vh := range listOf(rc["virtual_hosts"]) {
					vm := mapOf(vh)
					if vhostName != "" && vm["name"] != vhostName {
						continue
					}
					if op == "MERGE" {
						deepMerge(vm, mapOf(value))
					} else {
						vm["routes"] = append([]any{value}, listOf(vm["routes"])...)
					}
				}
			}
		case "NETWORK_FILTER MERGE":
			for _, h := range hcmsOf() {
				tc := mapOf(mapOf(value)["typed_config"])
				if tc["@type"] != hcmType {
					t.Fatalf("patch %d: merge of %v into the connection manager", i, tc["@type"])
				}
				deepMerge(h, tc)
			}
		case "LISTENER MERGE":
			for _, l := range listOf(sr["listeners"]) {
				deepMerge(mapOf(l), mapOf(value))
			}
		default:
			t.Fatalf("patch %d: %v %v is not modelled", i, pm["applyTo"], op)
		}
	}
}

// checkFields fails on a key outside the schema: schema maps a path
// ("spec.configPatches[].match") to its allowed keys, enums maps a path to
// its allowed values. Paths not in schema are free (Envoy config values).
func checkFields(t *testing.T, v any, path string, schema map[string][]string, enums map[string][]string) {
	t.Helper()
	if allowed, ok := enums[path]; ok && !slices.Contains(allowed, fmt.Sprint(v)) {
		t.Errorf("%s: %v is not one of %v", path, v, allowed)
	}
	switch x := v.(type) {
	case map[string]any:
		allowed, ok := schema[path]
		if !ok {
			return
		}
		for k, e := range x {
			if !slices.Contains(allowed, k) {
				t.Errorf("%s: field %q is not in the CRD schema (%v)", path, k, allowed)
			}
			p := k
			if path != "" {
				p = path + "." + k
			}
			checkFields(t, e, p, schema, enums)
		}
	case []any:
		for _, e := range x {
			checkFields(t, e, path+"[]", schema, enums)
		}
	}
}

// Istio's EnvoyFilter (networking.istio.io/v1alpha3, istio/api
// networking/v1alpha3/envoy_filter.proto), the fields the generator uses.
var istioSchema = map[string][]string{
	"":                                    {"apiVersion", "kind", "metadata", "spec"},
	"metadata":                            {"name", "namespace", "labels", "annotations"},
	"spec":                                {"workloadSelector", "configPatches", "priority", "targetRefs"},
	"spec.workloadSelector":               {"labels"},
	"spec.configPatches[]":                {"applyTo", "match", "patch"},
	"spec.configPatches[].match":          {"context", "proxy", "listener", "routeConfiguration", "cluster"},
	"spec.configPatches[].match.listener": {"portNumber", "portName", "filterChain", "listenerFilter", "name"},
	"spec.configPatches[].match.listener.filterChain":                  {"name", "sni", "transportProtocol", "applicationProtocols", "filter", "destinationPort"},
	"spec.configPatches[].match.listener.filterChain.filter":           {"name", "subFilter"},
	"spec.configPatches[].match.listener.filterChain.filter.subFilter": {"name"},
	"spec.configPatches[].match.routeConfiguration":                    {"portNumber", "portName", "gateway", "vhost", "name"},
	"spec.configPatches[].match.routeConfiguration.vhost":              {"name", "route", "domainName"},
	"spec.configPatches[].patch":                                       {"operation", "value", "filterClass"},
}

var istioEnums = map[string][]string{
	"apiVersion":                           {"networking.istio.io/v1alpha3"},
	"kind":                                 {"EnvoyFilter"},
	"spec.configPatches[].applyTo":         {"LISTENER", "FILTER_CHAIN", "NETWORK_FILTER", "HTTP_FILTER", "ROUTE_CONFIGURATION", "VIRTUAL_HOST", "HTTP_ROUTE", "CLUSTER", "EXTENSION_CONFIG", "BOOTSTRAP", "LISTENER_FILTER"},
	"spec.configPatches[].match.context":   {"ANY", "SIDECAR_INBOUND", "SIDECAR_OUTBOUND", "GATEWAY"},
	"spec.configPatches[].patch.operation": {"MERGE", "ADD", "REMOVE", "INSERT_BEFORE", "INSERT_AFTER", "INSERT_FIRST", "REPLACE"},
}

// Envoy Gateway's EnvoyPatchPolicy (gateway.envoyproxy.io/v1alpha1,
// envoyproxy/gateway api/v1alpha1/envoypatchpolicy_types.go).
var egSchema = map[string][]string{
	"":                             {"apiVersion", "kind", "metadata", "spec"},
	"metadata":                     {"name", "namespace", "labels", "annotations"},
	"spec":                         {"type", "jsonPatches", "targetRef", "targetRefs", "priority"},
	"spec.targetRef":               {"group", "kind", "name"},
	"spec.jsonPatches[]":           {"type", "name", "operation"},
	"spec.jsonPatches[].operation": {"op", "path", "from", "value", "jsonPath"},
}

var egEnums = map[string][]string{
	"apiVersion":                      {"gateway.envoyproxy.io/v1alpha1"},
	"kind":                            {"EnvoyPatchPolicy"},
	"spec.type":                       {"JSONPatch"},
	"spec.jsonPatches[].type":         {egListenerType, egRouteType, egClusterType, "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment", "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret"},
	"spec.jsonPatches[].operation.op": {"add", "remove", "replace", "move", "copy", "test"},
}

func TestIstioEnvoyFilterValidatesOnEnvoy(t *testing.T) {
	bins := []string{envoyBinary(t)}
	if old := oldEnvoyBinary(t); old != "" {
		bins = append(bins, old)
	}
	out, err := Istio(fragmentsFor(t, true), IstioOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ef := parseDoc(t, out)
	checkFields(t, ef, "", istioSchema, istioEnums)
	boot := parseDoc(t, []byte(istioGateway))
	applyIstio(t, boot, ef)
	merged, err := yaml.Marshal(boot)
	if err != nil {
		t.Fatal(err)
	}
	for _, bin := range bins {
		validate(t, bin, merged)
	}
	s := string(merged)
	if i, j := strings.Index(s, "name: llmgate:path/v1"), strings.Index(s, "name: default"); i < 0 || j < 0 || i > j {
		t.Error("llmgate's routes must come before the gateway's own")
	}
	if i, j := strings.Index(s, "name: llmgate.ext_proc"), strings.Index(s, "name: envoy.filters.http.router"); i < 0 || i > j {
		t.Error("llmgate's filters must come before the router")
	}
}

// applyEG applies an EnvoyPatchPolicy's JSON patches (op add) to Envoy
// Gateway's resources, keyed by type and name.
func applyEG(t *testing.T, res map[string]map[string]any, epp map[string]any) {
	t.Helper()
	for i, p := range listOf(mapOf(epp["spec"])["jsonPatches"]) {
		pm := mapOf(p)
		op := mapOf(pm["operation"])
		if op["op"] != "add" {
			t.Fatalf("patch %d: op %v is not modelled", i, op["op"])
		}
		typ, name, path := str(pm, "type"), str(pm, "name"), str(op, "path")
		key := typ + " " + name
		if path == "" {
			res[key] = mapOf(op["value"])
			continue
		}
		doc, ok := res[key]
		if !ok {
			t.Fatalf("patch %d: no resource %s", i, key)
		}
		if err := jsonPointerAdd(doc, path, op["value"]); err != nil {
			t.Fatalf("patch %d (%s %s): %v", i, key, path, err)
		}
	}
}

// jsonPointerAdd is RFC 6902 "add" (with Envoy Gateway's
// EnsurePathExistsOnAdd for missing objects).
func jsonPointerAdd(doc map[string]any, path string, value any) error {
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for i := range segs {
		segs[i] = strings.NewReplacer("~1", "/", "~0", "~").Replace(segs[i])
	}
	var cur any = doc
	for i, seg := range segs {
		last := i == len(segs)-1
		switch c := cur.(type) {
		case map[string]any:
			if last {
				c[seg] = value
				return nil
			}
			if _, ok := c[seg]; !ok {
				c[seg] = map[string]any{}
			}
			next := c[seg]
			if l, ok := next.([]any); ok && i+1 < len(segs) && i+1 == len(segs)-1 {
				// The parent of an array insert: write the grown list back.
				n, err := insertAt(l, segs[i+1], value)
				if err != nil {
					return err
				}
				c[seg] = n
				return nil
			}
			cur = next
		case []any:
			n, err := strconv.Atoi(seg)
			if err != nil || n < 0 || n >= len(c) {
				return fmt.Errorf("bad index %q", seg)
			}
			cur = c[n]
		default:
			return fmt.Errorf("cannot descend into %T at %q", cur, seg)
		}
	}
	return nil
}

func insertAt(l []any, seg string, v any) ([]any, error) {
	if seg == "-" {
		return append(l, v), nil
	}
	n, err := strconv.Atoi(seg)
	if err != nil || n < 0 || n > len(l) {
		return nil, fmt.Errorf("bad index %q", seg)
	}
	return slices.Insert(l, n, v), nil
}

const egListener = `
name: default/eg/http
address: {socket_address: {address: 0.0.0.0, port_value: 10080}}
default_filter_chain:
  filters:
  - name: envoy.filters.network.http_connection_manager
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
      stat_prefix: http-10080
      rds: {route_config_name: default/eg/http, config_source: {ads: {}, resource_api_version: V3}}
      http_filters:
      - name: envoy.filters.http.router
        typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}
`

const egRoutes = `
name: default/eg/http
virtual_hosts:
- name: default/eg/http/www_example_com
  domains: ["www.example.com"]
  routes:
  - name: httproute/default/backend/rule/0/match/0/www_example_com
    match: {prefix: /}
    route: {cluster: httproute/default/backend/rule/0}
`

func TestEnvoyGatewayPatchPolicyValidatesOnEnvoy(t *testing.T) {
	bins := []string{envoyBinary(t)}
	if old := oldEnvoyBinary(t); old != "" {
		bins = append(bins, old)
	}
	out, err := EnvoyGateway(fragmentsFor(t, true), EnvoyGatewayOptions{})
	if err != nil {
		t.Fatal(err)
	}
	epp := parseDoc(t, out)
	checkFields(t, epp, "", egSchema, egEnums)
	res := map[string]map[string]any{
		egListenerType + " default/eg/http": parseDoc(t, []byte(egListener)),
		egRouteType + " default/eg/http":    parseDoc(t, []byte(egRoutes)),
		egClusterType + " httproute/default/backend/rule/0": parseDoc(t, []byte(`
name: httproute/default/backend/rule/0
connect_timeout: 1s
load_assignment:
  cluster_name: httproute/default/backend/rule/0
  endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 8081}}}}]}]
`)),
	}
	applyEG(t, res, epp)
	// Static bootstrap for validation: the route configuration inline
	// where Envoy Gateway serves it over RDS.
	l := res[egListenerType+" default/eg/http"]
	hcm := mapOf(mapOf(listOf(mapOf(l["default_filter_chain"])["filters"])[0])["typed_config"])
	delete(hcm, "rds")
	hcm["route_config"] = res[egRouteType+" default/eg/http"]
	var clusters []any
	for k, v := range res {
		if strings.HasPrefix(k, egClusterType+" ") {
			clusters = append(clusters, v)
		}
	}
	merged, err := yaml.Marshal(map[string]any{"static_resources": map[string]any{"listeners": []any{l}, "clusters": clusters}})
	if err != nil {
		t.Fatal(err)
	}
	for _, bin := range bins {
		validate(t, bin, merged)
	}
	routes := listOf(mapOf(listOf(res[egRouteType+" default/eg/http"]["virtual_hosts"])[0])["routes"])
	if first, last := str(mapOf(routes[0]), "name"), str(mapOf(routes[len(routes)-1]), "name"); !strings.HasPrefix(first, RoutePrefix) || strings.HasPrefix(last, RoutePrefix) {
		t.Errorf("llmgate's routes must come first, the app's after: first %q, last %q", first, last)
	}
	fs := listOf(hcm["http_filters"])
	if !strings.HasPrefix(str(mapOf(fs[0]), "name"), "llmgate.") || str(mapOf(fs[len(fs)-1]), "name") != "envoy.filters.http.router" {
		t.Errorf("filters: %v", fs)
	}
}
