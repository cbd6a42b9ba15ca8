package xds

import (
	"context"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
)

type corev3Node = corev3.Node

// callbacks logs NACKs and reports ACKed listener versions (the last type
// Envoy acknowledges in an ADS push).
type callbacks struct{ s *Server }

func (c *callbacks) OnStreamOpen(context.Context, int64, string) error { return nil }
func (c *callbacks) OnStreamClosed(int64, *corev3.Node)                {}
func (c *callbacks) OnDeltaStreamOpen(context.Context, int64, string) error {
	return nil
}
func (c *callbacks) OnDeltaStreamClosed(int64, *corev3.Node) {}
func (c *callbacks) OnStreamRequest(_ int64, req *discoveryv3.DiscoveryRequest) error {
	if req.ErrorDetail != nil {
		c.s.log.Error("envoy rejected config", "type", req.TypeUrl, "version", req.VersionInfo, "error", req.ErrorDetail.Message)
		return nil
	}
	if req.ResponseNonce != "" && req.TypeUrl == "type.googleapis.com/envoy.config.route.v3.RouteConfiguration" {
		select {
		case c.s.acked <- req.VersionInfo:
		default:
		}
	}
	return nil
}
func (c *callbacks) OnStreamResponse(context.Context, int64, *discoveryv3.DiscoveryRequest, *discoveryv3.DiscoveryResponse) {
}
func (c *callbacks) OnStreamDeltaRequest(int64, *discoveryv3.DeltaDiscoveryRequest) error {
	return nil
}
func (c *callbacks) OnStreamDeltaResponse(int64, *discoveryv3.DeltaDiscoveryRequest, *discoveryv3.DeltaDiscoveryResponse) {
}
func (c *callbacks) OnFetchRequest(context.Context, *discoveryv3.DiscoveryRequest) error { return nil }
func (c *callbacks) OnFetchResponse(*discoveryv3.DiscoveryRequest, *discoveryv3.DiscoveryResponse) {
}
