package xds

import (
	dynmodv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/dynamic_modules/v3"
	dynmodfilterv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/dynamic_modules/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/llmgate/llmgate/dynmod/filter"
)

// withSpacing puts the module's spacing filter first in the router's
// upstream filters of module mode (docs/architecture.md D59,
// dynmod/spacing.go; one filter config: the module keeps at most 1,024): it spaces a retry on the same deployment by
// LiteLLM's wait and runs each try's timeout from the moment the try goes
// out. First, so that a held try reaches no other filter before its wait
// ends, and its 408 goes straight to the router.
func withSpacing(fs []*hcmv3.HttpFilter, o Options) ([]*hcmv3.HttpFilter, error) {
	if o.RequestModule == nil {
		return fs, nil
	}
	// The request filter's config without its table socket: the spacing
	// filter reads only the request's metadata.
	c := filter.Config{Marker: o.RequestModule.Marker}
	cfg, err := toAny(wrapperspb.String(c.Encode()))
	if err != nil {
		return nil, err
	}
	sp, err := typedFilter("llmgate.spacing", &dynmodfilterv3.DynamicModuleFilter{
		DynamicModuleConfig: &dynmodv3.DynamicModuleConfig{Name: filter.ModuleName, DoNotClose: true},
		FilterName:          filter.SpacingFilterName,
		FilterConfig:        cfg,
	})
	if err != nil {
		return nil, err
	}
	return append([]*hcmv3.HttpFilter{sp}, fs...), nil
}
