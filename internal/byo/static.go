package byo

import (
	"fmt"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/llmgate/llmgate/xds"
)

// hcmName is the network filter every gateway listener carries.
const hcmName = "envoy.filters.network.http_connection_manager"

// listenerHCM returns the listener's HTTP connection manager (decoded) and
// the filter that carries it.
func listenerHCM(l *listenerv3.Listener) (*hcmv3.HttpConnectionManager, *listenerv3.Filter, error) {
	for _, fc := range l.GetFilterChains() {
		for _, f := range fc.GetFilters() {
			if f.GetName() != hcmName {
				continue
			}
			h := &hcmv3.HttpConnectionManager{}
			if err := f.GetTypedConfig().UnmarshalTo(h); err != nil {
				return nil, nil, fmt.Errorf("listener %s: %w", l.GetName(), err)
			}
			return h, f, nil
		}
	}
	return nil, nil, fmt.Errorf("listener %s has no HTTP connection manager", l.GetName())
}

func setHCM(f *listenerv3.Filter, h *hcmv3.HttpConnectionManager) error {
	a := &anypb.Any{}
	if err := anypb.MarshalFrom(a, h, proto.MarshalOptions{Deterministic: true}); err != nil {
		return err
	}
	f.ConfigType = &listenerv3.Filter_TypedConfig{TypedConfig: a}
	return nil
}

// routeConfig is the one route configuration the control plane serves.
func routeConfig(res *xds.Resources) (*routev3.RouteConfiguration, error) {
	for _, rc := range res.Routes {
		if rc.GetName() == xds.RouteConfigName {
			return rc, nil
		}
	}
	return nil, fmt.Errorf("no route configuration %s in the compiled resources", xds.RouteConfigName)
}

// Static is a complete Envoy bootstrap with every resource inline (no xDS):
// the gateway's listener with its route configuration inline, the
// deployment clusters and the ext_proc cluster (`llmgate extproc` at
// o.ExtProcAddress). A config change needs a new render and a restart of
// Envoy (or a hot restart); the dynamic way (`llmgate controlplane`) does not.
// adminPort 0 leaves the admin interface out.
func Static(res *xds.Resources, adminPort uint32) (*bootstrapv3.Bootstrap, error) {
	rc, err := routeConfig(res)
	if err != nil {
		return nil, err
	}
	sr := &bootstrapv3.Bootstrap_StaticResources{Clusters: res.Clusters}
	for _, l := range res.Listeners {
		l = proto.Clone(l).(*listenerv3.Listener)
		h, f, err := listenerHCM(l)
		if err != nil {
			return nil, err
		}
		if h.GetRds() != nil {
			h.RouteSpecifier = &hcmv3.HttpConnectionManager_RouteConfig{RouteConfig: rc}
		}
		if err := setHCM(f, h); err != nil {
			return nil, err
		}
		sr.Listeners = append(sr.Listeners, l)
	}
	b := &bootstrapv3.Bootstrap{
		Node:            &corev3.Node{Id: "llmgate", Cluster: "llmgate"},
		StaticResources: sr,
	}
	if adminPort != 0 {
		b.Admin = &bootstrapv3.Admin{Address: &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{
			Address: "127.0.0.1", PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: adminPort},
		}}}}
	}
	if err := b.ValidateAll(); err != nil {
		return nil, err
	}
	return b, nil
}
