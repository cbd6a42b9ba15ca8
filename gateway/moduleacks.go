package gateway

import (
	"context"
	"sync"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
)

// moduleAcks follows one of the module's table streams on the ADS socket
// (the config table's, the key table's): which table generation each
// response carried (read from its parts' first bytes, snapshotGen) and the
// newest one the module acknowledged, so that a change can wait until the
// module applied it (wait).
type moduleAcks struct {
	match func(*discoveryv3.DiscoveryRequest) bool // the stream's requests

	mu      sync.Mutex
	streams map[int64]bool    // open streams subscribed to the table
	sent    map[string]uint64 // response version → its table's generation
	applied uint64
	// last is the generation last pushed; same, the newest generation
	// whose table equals it (nothing to push: unchanged): applied with it.
	last, same uint64
	changed    chan struct{} // closed and replaced at every change
}

func newModuleAcks(match func(*discoveryv3.DiscoveryRequest) bool) *moduleAcks {
	return &moduleAcks{match: match, streams: map[int64]bool{}, sent: map[string]uint64{}, changed: make(chan struct{})}
}

// newKeyAcks follows the key table (modulekeys.go), newTableAcks the config
// table (moduletable.go).
func newKeyAcks() *moduleAcks   { return newModuleAcks(isKeysRequest) }
func newTableAcks() *moduleAcks { return newModuleAcks(isConfigTableRequest) }

func (a *moduleAcks) notify() {
	close(a.changed)
	a.changed = make(chan struct{})
}

// pushed notes a push of generation gen.
func (a *moduleAcks) pushed(gen uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.last, a.same = gen, gen
}

// unchanged notes a table of generation gen equal to the last pushed one.
func (a *moduleAcks) unchanged(gen uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.same = max(a.same, gen)
	if a.applied >= a.last {
		a.applied = max(a.applied, a.same)
		a.notify()
	}
}

// request notes a module's request: a subscription, or the acknowledgement
// of a response.
func (a *moduleAcks) request(id int64, r *discoveryv3.DiscoveryRequest) {
	if !a.match(r) {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.streams[id] {
		a.streams[id] = true
		a.notify()
	}
	if r.GetResponseNonce() == "" || r.GetErrorDetail() != nil {
		return
	}
	if g, ok := a.sent[r.GetVersionInfo()]; ok && g > a.applied {
		a.applied = g
		if g >= a.last {
			a.applied = max(g, a.same)
		}
		for v, sg := range a.sent {
			if sg <= g {
				delete(a.sent, v)
			}
		}
		a.notify()
	}
}

// response notes the generation a response carries (its parts may come
// from several pushes: the newest).
func (a *moduleAcks) response(r *discoveryv3.DiscoveryRequest, resp *discoveryv3.DiscoveryResponse) {
	if !a.match(r) {
		return
	}
	var g uint64
	for _, res := range resp.GetResources() {
		if pg, ok := snapshotGen(res.GetValue()); ok {
			g = max(g, pg)
		}
	}
	if g == 0 {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.sent) < 1024 {
		a.sent[resp.GetVersionInfo()] = g
	}
}

func (a *moduleAcks) closed(id int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.streams[id] {
		delete(a.streams, id)
		a.notify()
	}
}

// callbacks are the ADS server's hooks that feed a.
func (a *moduleAcks) callbacks() serverv3.Callbacks {
	return serverv3.CallbackFuncs{
		StreamRequestFunc: func(id int64, r *discoveryv3.DiscoveryRequest) error {
			a.request(id, r)
			return nil
		},
		StreamResponseFunc: func(_ context.Context, _ int64, r *discoveryv3.DiscoveryRequest, resp *discoveryv3.DiscoveryResponse) {
			a.response(r, resp)
		},
		StreamClosedFunc: func(id int64, _ *corev3.Node) { a.closed(id) },
	}
}

// hasApplied reports whether the module applied a table of generation gen
// or a later one.
func (a *moduleAcks) hasApplied(gen uint64) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.applied >= gen
}

// wait reports once the module applied a table of generation gen or later
// (true), or no module is subscribed or ctx ended (false).
func (a *moduleAcks) wait(ctx context.Context, gen uint64) bool {
	for {
		a.mu.Lock()
		applied, subscribed, ch := a.applied, len(a.streams) > 0, a.changed
		a.mu.Unlock()
		if applied >= gen {
			return true
		}
		if !subscribed {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-ch:
		}
	}
}
