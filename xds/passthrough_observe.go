package xds

import (
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/contract"
)

// PassThroughObserverName is the listener filter that shows a pass-through
// answer to the gateway (D128): an ext_proc filter in observability mode —
// Envoy sends the request's headers and the answer's headers and body
// chunks and never waits for a reply, so the answer is not held. It is
// disabled by default and turned on by the routes of pass_through_endpoints
// entries with auth: true (the provider routes among them), where the
// gateway records the spend LiteLLM records from the provider's usage and
// releases the request's parallel slots.
const PassThroughObserverName = "llmgate.passthrough_observe"

// passThroughObserved reports whether a config has a pass-through route the
// observer serves.
func passThroughObserved(gs *config.GeneralSettings) bool {
	for i := range gs.PassThroughEndpoints {
		if gs.PassThroughEndpoints[i].Auth {
			return true
		}
	}
	return false
}

// passThroughObserver is the observer filter (disabled unless a route turns
// it on).
func passThroughObserver(o Options) (*hcmv3.HttpFilter, error) {
	gs := extProcGrpcService(o)
	gs.InitialMetadata = []*corev3.HeaderValue{{Key: contract.PhaseMetadataKey, Value: contract.PhaseObserve}}
	f, err := typedFilter(PassThroughObserverName, &extprocv3.ExternalProcessor{
		GrpcService:       gs,
		ObservabilityMode: true,
		// The gateway may still be reading the last chunk when the
		// client's stream ends.
		DeferredCloseTimeout: durationpb.New(10 * time.Second),
		// The gateway unreachable: the answer goes on (it is only observed).
		FailureModeAllow: true,
		ProcessingMode: &extprocv3.ProcessingMode{
			RequestHeaderMode:   extprocv3.ProcessingMode_SEND,
			RequestBodyMode:     extprocv3.ProcessingMode_NONE,
			RequestTrailerMode:  extprocv3.ProcessingMode_SKIP,
			ResponseHeaderMode:  extprocv3.ProcessingMode_SEND,
			ResponseBodyMode:    extprocv3.ProcessingMode_STREAMED,
			ResponseTrailerMode: extprocv3.ProcessingMode_SKIP,
		},
	})
	if err != nil {
		return nil, err
	}
	f.Disabled = true
	return f, nil
}

// passThroughObserverOn is the route's filter config that turns the
// observer on.
func passThroughObserverOn() (*anypb.Any, error) {
	per, err := toAny(&extprocv3.ExtProcPerRoute{Override: &extprocv3.ExtProcPerRoute_Overrides{Overrides: &extprocv3.ExtProcOverrides{}}})
	if err != nil {
		return nil, err
	}
	return toAny(&routev3.FilterConfig{Config: per, IsOptional: true})
}
