package byo

import (
	"bytes"
	"fmt"
	"slices"

	"gopkg.in/yaml.v3"
)

// IstioOptions place the EnvoyFilter on an Istio gateway.
type IstioOptions struct {
	// Namespace of the EnvoyFilter (the gateway's; istio-system by default).
	Namespace string
	// Selector are the workloadSelector labels of the gateway pods
	// (istio=ingressgateway by default).
	Selector map[string]string
	// Port restricts the listener and route patches to one gateway port
	// (0: every port).
	Port uint32
	// VirtualHost restricts the routes to one virtual host ("host:port" as
	// Istio names them; empty: every virtual host).
	VirtualHost string
}

const hcmFilterName = "envoy.filters.network.http_connection_manager"

// Istio renders the fragments as one networking.istio.io/v1alpha3
// EnvoyFilter for a gateway (context GATEWAY): the clusters (ADD), the HTTP
// filters before the router (INSERT_BEFORE), llmgate's routes first in the
// virtual hosts (HTTP_ROUTE INSERT_FIRST, emitted last-first since each goes
// to the top), the llmgate.internal virtual host (ADD),
// include_request_attempt_count on the virtual hosts, the scoped local-reply
// mappers on the HTTP connection manager and the listener's buffer limit
// (MERGE; proto merge appends the mappers to any the gateway has).
func Istio(fr *Fragments, o IstioOptions) ([]byte, error) {
	if o.Namespace == "" {
		o.Namespace = "istio-system"
	}
	if len(o.Selector) == 0 {
		o.Selector = map[string]string{"istio": "ingressgateway"}
	}
	v, err := fr.values()
	if err != nil {
		return nil, err
	}
	listener := func(sub string) map[string]any {
		fm := map[string]any{"name": hcmFilterName}
		if sub != "" {
			fm["subFilter"] = map[string]any{"name": sub}
		}
		l := map[string]any{"filterChain": map[string]any{"filter": fm}}
		if o.Port != 0 {
			l["portNumber"] = o.Port
		}
		return map[string]any{"context": "GATEWAY", "listener": l}
	}
	routeCfg := func(withVhost bool) map[string]any {
		rc := map[string]any{}
		if o.Port != 0 {
			rc["portNumber"] = o.Port
		}
		if withVhost && o.VirtualHost != "" {
			rc["vhost"] = map[string]any{"name": o.VirtualHost}
		}
		return map[string]any{"context": "GATEWAY", "routeConfiguration": rc}
	}
	patch := func(applyTo string, match map[string]any, op string, value any) map[string]any {
		return map[string]any{"applyTo": applyTo, "match": match, "patch": map[string]any{"operation": op, "value": value}}
	}
	var ps []any
	for _, c := range v.clusters {
		ps = append(ps, patch("CLUSTER", map[string]any{"context": "GATEWAY"}, "ADD", c))
	}
	for _, f := range v.filters {
		ps = append(ps, patch("HTTP_FILTER", listener("envoy.filters.http.router"), "INSERT_BEFORE", f))
	}
	for _, r := range slices.Backward(v.routes) {
		ps = append(ps, patch("HTTP_ROUTE", routeCfg(true), "INSERT_FIRST", r))
	}
	ps = append(ps,
		patch("VIRTUAL_HOST", routeCfg(true), "MERGE", map[string]any{"include_request_attempt_count": true}),
		patch("VIRTUAL_HOST", routeCfg(false), "ADD", v.internal),
		patch("NETWORK_FILTER", listener(""), "MERGE", map[string]any{"name": hcmFilterName, "typed_config": map[string]any{
			"@type": hcmType, "local_reply_config": map[string]any{"mappers": v.mappers},
		}}),
	)
	lm := map[string]any{"context": "GATEWAY"}
	if o.Port != 0 {
		lm["listener"] = map[string]any{"portNumber": o.Port}
	}
	ps = append(ps, patch("LISTENER", lm, "MERGE", map[string]any{"per_connection_buffer_limit_bytes": fr.BufferLimitBytes}))
	doc := map[string]any{
		"apiVersion": "networking.istio.io/v1alpha3",
		"kind":       "EnvoyFilter",
		"metadata":   map[string]any{"name": "llmgate", "namespace": o.Namespace},
		"spec": map[string]any{
			"workloadSelector": map[string]any{"labels": o.Selector},
			"configPatches":    ps,
		},
	}
	return header("llmgate render --target istio: one EnvoyFilter for an Istio gateway (`kubectl apply -f`).\n"+
		"# llmgate extproc runs as a Service; --extproc-address names it. See README, \"Istio and Envoy Gateway\".", doc)
}

// EnvoyGatewayOptions place the EnvoyPatchPolicy on an Envoy Gateway Gateway.
type EnvoyGatewayOptions struct {
	// Namespace and Gateway name the Gateway (default/eg by default);
	// Listener is its HTTP listener's name (section name, "http" by default).
	Namespace, Gateway, Listener string
}

// Envoy Gateway's xDS resource types (EnvoyPatchPolicy's EnvoyResourceType).
const (
	egListenerType = "type.googleapis.com/envoy.config.listener.v3.Listener"
	egRouteType    = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
	egClusterType  = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
)

// EnvoyGateway renders the fragments as one gateway.envoyproxy.io/v1alpha1
// EnvoyPatchPolicy (JSONPatch) on a Gateway's plain-HTTP listener: each
// cluster added whole (op add, path ""), the HTTP filters inserted at the
// front of the connection manager's filters (last-first, so they keep their
// order), the listener's buffer limit, local_reply_config set to llmgate's
// scoped mappers (it replaces the listener's own: Envoy Gateway's
// responseOverride on that listener would be dropped), llmgate's routes at
// the front of the first virtual host, include_request_attempt_count, and
// the llmgate.internal virtual host. Envoy Gateway names a listener and its
// route configuration <namespace>/<gateway>/<listener>.
func EnvoyGateway(fr *Fragments, o EnvoyGatewayOptions) ([]byte, error) {
	if o.Namespace == "" {
		o.Namespace = "default"
	}
	if o.Gateway == "" {
		o.Gateway = "eg"
	}
	if o.Listener == "" {
		o.Listener = "http"
	}
	v, err := fr.values()
	if err != nil {
		return nil, err
	}
	name := o.Namespace + "/" + o.Gateway + "/" + o.Listener
	p := func(typ, name, path string, v any) map[string]any {
		return map[string]any{"type": typ, "name": name, "operation": map[string]any{"op": "add", "path": path, "value": v}}
	}
	var ps []any
	for _, c := range v.clusters {
		ps = append(ps, p(egClusterType, str(mapOf(c), "name"), "", c))
	}
	const hcmPath = "/default_filter_chain/filters/0/typed_config"
	for _, f := range slices.Backward(v.filters) {
		ps = append(ps, p(egListenerType, name, hcmPath+"/http_filters/0", f))
	}
	ps = append(ps,
		p(egListenerType, name, hcmPath+"/local_reply_config", map[string]any{"mappers": v.mappers}),
		p(egListenerType, name, "/per_connection_buffer_limit_bytes", fr.BufferLimitBytes),
	)
	for _, r := range slices.Backward(v.routes) {
		ps = append(ps, p(egRouteType, name, "/virtual_hosts/0/routes/0", r))
	}
	ps = append(ps,
		p(egRouteType, name, "/virtual_hosts/0/include_request_attempt_count", true),
		p(egRouteType, name, "/virtual_hosts/-", v.internal),
	)
	doc := map[string]any{
		"apiVersion": "gateway.envoyproxy.io/v1alpha1",
		"kind":       "EnvoyPatchPolicy",
		"metadata":   map[string]any{"name": "llmgate", "namespace": o.Namespace},
		"spec": map[string]any{
			"targetRef":   map[string]any{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": o.Gateway},
			"type":        "JSONPatch",
			"jsonPatches": ps,
		},
	}
	return header("llmgate render --target envoy-gateway: one EnvoyPatchPolicy for an Envoy Gateway Gateway (`kubectl apply -f`).\n"+
		"# EnvoyPatchPolicy must be enabled (EnvoyGateway extensionApis.enableEnvoyPatchPolicy: true).\n"+
		"# llmgate extproc runs as a Service; --extproc-address names it. See README, \"Istio and Envoy Gateway\".", doc)
}

func header(comment string, doc any) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s\n", comment)
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
