package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	serverv3 "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/keys"
)

// Virtual keys in the module (docs/architecture.md D57): the gateway pushes
// its key table (keys.Snapshot) to the module as a second resource on the
// module's ADS socket, and a management change is answered once the module
// has applied it (so a key blocked or deleted through /key/* is refused by
// the module from the next request on, as by ext_proc).

// moduleKeysSpendEvery is how often at most the key table is pushed to the
// module when only spend moved (the module's x-litellm-key-spend); a change
// of a key, team, user or budget, or a spend crossing a max budget, is
// pushed at once.
const moduleKeysSpendEvery = time.Second

// moduleKeysWait bounds a management route's wait for the module to apply
// its change (a module that does not answer: the route answers anyway).
const moduleKeysWait = 2 * time.Second

// publishModuleKeys pushes the key table to the module now and whenever the
// key cache changes, and makes the management routes wait for the module.
func (g *Gateway) publishModuleKeys() {
	mt := g.moduleTables
	if mt == nil || g.keys == nil || g.ext == nil {
		return
	}
	svc := g.keys
	last := map[string][sha256.Size]byte{} // the parts as last pushed, without their Gen
	svc.PublishView(func(sn *keys.Snapshot) {
		changed := map[string]types.Resource{}
		for i, part := range sn.Split() {
			gen := part.Gen
			part.Gen = 0
			js, err := json.Marshal(part)
			if err != nil {
				g.log.Error("module key table not published; the module serves the last one", "error", err.Error())
				return
			}
			name := contract.ModuleKeysPart(i)
			if sum := sha256.Sum256(js); sum != last[name] {
				last[name] = sum
				// {"gen":N, first: the acknowledgements read it (snapshotGen).
				js = append(fmt.Appendf(nil, `{"gen":%d,`, gen), bytes.TrimPrefix(js, []byte(`{"gen":0,`))...)
				changed[name] = wrapperspb.Bytes(js)
			}
		}
		if len(changed) == 0 {
			mt.keyAcks.unchanged(sn.Gen)
			return
		}
		mt.keyAcks.pushed(sn.Gen)
		if err := mt.cache.UpdateResources(changed, nil); err != nil {
			g.log.Error("module key table not published; the module serves the last one", "error", err.Error())
		}
	}, moduleKeysSpendEvery)
	g.ext.KeysApplied = func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, moduleKeysWait)
		defer cancel()
		if !mt.keyAcks.wait(ctx, svc.ViewGen()) {
			g.log.Warn("the module has not applied a key change yet; it serves the previous key table until it does")
		}
	}
}

// keyAcks follows the module's key-table stream: which table generation
// each response carried, and the newest one the module acknowledged.
type keyAcks struct {
	mu      sync.Mutex
	streams map[int64]bool    // open streams subscribed to the key table
	sent    map[string]uint64 // response version → its table's generation
	applied uint64
	// last is the generation last pushed; same, the newest generation
	// whose table equals it (nothing to push): applied with it.
	last, same uint64
	changed    chan struct{} // closed and replaced at every change
}

// pushed notes a push of generation gen.
func (a *keyAcks) pushed(gen uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.last, a.same = gen, gen
}

// unchanged notes a table of generation gen equal to the last pushed one.
func (a *keyAcks) unchanged(gen uint64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.same = max(a.same, gen)
	if a.applied >= a.last {
		a.applied = max(a.applied, a.same)
		a.notify()
	}
}

func newKeyAcks() *keyAcks {
	return &keyAcks{streams: map[int64]bool{}, sent: map[string]uint64{}, changed: make(chan struct{})}
}

func (a *keyAcks) notify() {
	close(a.changed)
	a.changed = make(chan struct{})
}

func isKeysRequest(r *discoveryv3.DiscoveryRequest) bool {
	return len(r.GetResourceNames()) > 0 && r.GetResourceNames()[0] == contract.ModuleKeysName
}

// callbacks are the ADS server's hooks that feed keyAcks.
func (a *keyAcks) callbacks() serverv3.Callbacks {
	return serverv3.CallbackFuncs{
		StreamRequestFunc: func(id int64, r *discoveryv3.DiscoveryRequest) error {
			if !isKeysRequest(r) {
				return nil
			}
			a.mu.Lock()
			defer a.mu.Unlock()
			a.streams[id] = true
			if r.GetResponseNonce() == "" || r.GetErrorDetail() != nil {
				return nil
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
			return nil
		},
		StreamResponseFunc: func(_ context.Context, id int64, r *discoveryv3.DiscoveryRequest, resp *discoveryv3.DiscoveryResponse) {
			if !isKeysRequest(r) || len(resp.GetResources()) == 0 {
				return
			}
			// The response's parts may come from several pushes: the newest.
			var g uint64
			for _, res := range resp.GetResources() {
				if pg, ok := snapshotGen(res.GetValue()); ok {
					g = max(g, pg)
				}
			}
			a.mu.Lock()
			defer a.mu.Unlock()
			if len(a.sent) < 1024 {
				a.sent[resp.GetVersionInfo()] = g
			}
		},
		StreamClosedFunc: func(id int64, _ *corev3.Node) {
			a.mu.Lock()
			defer a.mu.Unlock()
			if a.streams[id] {
				delete(a.streams, id)
				a.notify()
			}
		},
	}
}

// wait reports once the module applied a table of generation gen or later
// (true), or no module is subscribed or ctx ended (false).
func (a *keyAcks) wait(ctx context.Context, gen uint64) bool {
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

// snapshotGen reads a keys.Snapshot's generation from the start of its
// resource (a google.protobuf.BytesValue whose JSON begins {"gen":N,),
// without decoding the table.
func snapshotGen(bv []byte) (uint64, bool) {
	// field 1, wire type 2, then the length as a varint.
	if len(bv) < 2 || bv[0] != 0x0a {
		return 0, false
	}
	i := 1
	for i < len(bv) && i < 11 && bv[i]&0x80 != 0 {
		i++
	}
	js := bv[min(i+1, len(bv)):]
	const prefix = `{"gen":`
	if len(js) < len(prefix) || string(js[:len(prefix)]) != prefix {
		return 0, false
	}
	j := len(prefix)
	for j < len(js) && j < len(prefix)+20 && js[j] >= '0' && js[j] <= '9' {
		j++
	}
	g, err := strconv.ParseUint(string(js[len(prefix):j]), 10, 64)
	return g, err == nil
}
