package bench

import (
	"fmt"
	"path/filepath"

	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	dynmodv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/dynamic_modules/v3"
	dynmodfilterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/dynamic_modules/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	upstreamcodecv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/upstream_codec/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/llmgate/llmgate/dynmod/filter"
	"github.com/llmgate/llmgate/gateway"
)

// PlainModuleBootstrap is PlainEnvoyBootstrap with llmgate's module loaded
// where module mode puts it — the listener's first filter and the router's
// upstream filter, before upstream_codec — but with no table: the module
// hands every request on (it reads only the marker header) and every try
// passes untouched. It is the floor of the module's design
// (docs/architecture.md D81): what the two filters' hooks cost Envoy with
// (almost) no work inside them, against plain Envoy in the same runs.
func PlainModuleBootstrap(listenPort int, upstreamHost string, upstreamPort int) ([]byte, error) {
	b, err := PlainEnvoyBootstrap(listenPort, upstreamHost, upstreamPort)
	if err != nil {
		return nil, err
	}
	modFilter := func(name, filterName string) (*hcmv3.HttpFilter, error) {
		cfg, err := anypb.New(wrapperspb.String(filter.Config{Marker: "plain-module-floor"}.Encode()))
		if err != nil {
			return nil, err
		}
		a, err := anypb.New(&dynmodfilterv3.DynamicModuleFilter{
			DynamicModuleConfig: &dynmodv3.DynamicModuleConfig{Name: filter.ModuleName, DoNotClose: true},
			FilterName:          filterName,
			FilterConfig:        cfg,
		})
		if err != nil {
			return nil, err
		}
		return &hcmv3.HttpFilter{Name: name, ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: a}}, nil
	}
	req, err := modFilter("llmgate.request_module", filter.FilterName)
	if err != nil {
		return nil, err
	}
	up, err := modFilter("llmgate.upstream", filter.UpstreamFilterName)
	if err != nil {
		return nil, err
	}
	codec, err := anypb.New(&upstreamcodecv3.UpstreamCodec{})
	if err != nil {
		return nil, err
	}
	router, err := anypb.New(&routerv3.Router{UpstreamHttpFilters: []*hcmv3.HttpFilter{up,
		{Name: "envoy.filters.http.upstream_codec", ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: codec}}}})
	if err != nil {
		return nil, err
	}
	l := b.GetStaticResources().GetListeners()[0]
	nf := l.GetFilterChains()[0].GetFilters()[0]
	var hcm hcmv3.HttpConnectionManager
	if err := nf.GetTypedConfig().UnmarshalTo(&hcm); err != nil {
		return nil, err
	}
	hcm.HttpFilters = []*hcmv3.HttpFilter{req, {Name: "envoy.filters.http.router", ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: router}}}
	a, err := anypb.New(proto.Message(&hcm))
	if err != nil {
		return nil, err
	}
	nf.ConfigType = &listenerv3.Filter_TypedConfig{TypedConfig: a}
	if err := b.ValidateAll(); err != nil {
		return nil, fmt.Errorf("plain module bootstrap: %w", err)
	}
	return protojson.MarshalOptions{Indent: "  "}.Marshal(b)
}

// StartPlainModuleEnvoy runs Envoy with PlainModuleBootstrap in front of the
// fake, loading the libllmgate.so beside o.LLMGateBin.
func StartPlainModuleEnvoy(o *Options, fake *Target) (*Target, error) {
	env, err := gateway.LinkModule(filepath.Join(filepath.Dir(o.LLMGateBin), filter.LibraryFile), o.WorkDir)
	if err != nil {
		return nil, err
	}
	return startStaticEnvoy(o, fake, "plain-module-envoy", PlainModuleBootstrap, env)
}
