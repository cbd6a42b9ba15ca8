package xds

import (
	"context"
	"fmt"
	"sync"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
)

type corev3Node = corev3.Node

// callbacks logs NACKs and reports ACKed listener versions (the last type
// Envoy acknowledges in an ADS push).
//
// A NACK makes the snapshot cache answer again at once with the same
// resources (the version Envoy holds still differs from the snapshot's), and
// Envoy rejects them again: a tight loop (the issue counted 91,000 log lines
// in 20 s for a busy port). The second identical rejection on a stream closes
// that stream instead, so Envoy retries on its own backoff with the config it
// last accepted, and each rejection is logged once per stream.
type callbacks struct {
	s *Server

	mu    sync.Mutex
	nacks map[int64]map[string]bool // stream id → type + error already rejected on it
}

func (c *callbacks) OnStreamOpen(context.Context, int64, string) error { return nil }
func (c *callbacks) OnStreamClosed(id int64, _ *corev3.Node) {
	c.mu.Lock()
	delete(c.nacks, id)
	c.mu.Unlock()
}
func (c *callbacks) OnDeltaStreamOpen(context.Context, int64, string) error {
	return nil
}
func (c *callbacks) OnDeltaStreamClosed(id int64, _ *corev3.Node) {
	c.mu.Lock()
	delete(c.nacks, id)
	c.mu.Unlock()
	c.s.deltaClosed(id)
}
func (c *callbacks) OnStreamRequest(id int64, req *discoveryv3.DiscoveryRequest) error {
	if req.ErrorDetail != nil {
		return c.rejected(id, req.TypeUrl, req.VersionInfo, req.ErrorDetail.Message)
	}
	if req.ResponseNonce != "" && req.TypeUrl == "type.googleapis.com/envoy.config.route.v3.RouteConfiguration" {
		c.s.ack(req.VersionInfo)
	}
	return nil
}

// rejected handles a NACK: logged and reported once per stream; the same
// rejection again closes the stream (an error from the callback).
func (c *callbacks) rejected(id int64, typeURL, version, msg string) error {
	key := typeURL + "\x00" + msg
	c.mu.Lock()
	if c.nacks == nil {
		c.nacks = map[int64]map[string]bool{}
	}
	if c.nacks[id] == nil {
		c.nacks[id] = map[string]bool{}
	}
	again := c.nacks[id][key]
	c.nacks[id][key] = true
	c.mu.Unlock()
	if again {
		return fmt.Errorf("envoy rejected the same %s again: %s", typeURL, msg)
	}
	c.s.log.Error("envoy rejected config", "type", typeURL, "version", version, "error", msg)
	select {
	case c.s.rejected <- Rejection{TypeURL: typeURL, Message: msg}:
	default:
	}
	return nil
}
func (c *callbacks) OnStreamResponse(context.Context, int64, *discoveryv3.DiscoveryRequest, *discoveryv3.DiscoveryResponse) {
}

// Delta xDS: an ACK or NACK names the nonce of the response it answers.
func (c *callbacks) OnStreamDeltaRequest(id int64, req *discoveryv3.DeltaDiscoveryRequest) error {
	if req.ErrorDetail != nil {
		c.s.deltaNacked(id, req.ResponseNonce)
		return c.rejected(id, req.TypeUrl, req.ResponseNonce, req.ErrorDetail.Message)
	}
	if req.ResponseNonce != "" {
		c.s.deltaAcked(id, req.ResponseNonce)
	}
	return nil
}
func (c *callbacks) OnStreamDeltaResponse(id int64, _ *discoveryv3.DeltaDiscoveryRequest, resp *discoveryv3.DeltaDiscoveryResponse) {
	c.s.deltaSent(id, resp.Nonce, resp.TypeUrl, resp.SystemVersionInfo)
}
func (c *callbacks) OnFetchRequest(context.Context, *discoveryv3.DiscoveryRequest) error { return nil }
func (c *callbacks) OnFetchResponse(*discoveryv3.DiscoveryRequest, *discoveryv3.DiscoveryResponse) {
}
