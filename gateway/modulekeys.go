package gateway

import (
	"context"
	"strconv"
	"time"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
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
	if _, shared := sharedRedis(g.store); !shared {
		// Keys' parallel slots counted per instance by the module (D117);
		// with Redis they are counted there by the ext_proc filter.
		svc.SetModuleSlots(true)
	}
	var enc keys.PartsEncoder
	svc.PublishParts(&enc, func(gen uint64, parts [][]byte, changed []bool, err error) {
		if err != nil {
			g.log.Error("module key table not published; the module serves the last one", "error", err.Error())
			return
		}
		// Only the parts whose bytes changed are sent (SotW on a non-full-state
		// type re-sends only changed resources); each carries the table's
		// generation first (the acknowledgements read it: snapshotGen).
		at := time.Now().UnixNano()
		res := map[string]types.Resource{}
		for i, p := range parts {
			if changed[i] {
				res[contract.ModuleKeysPart(i)] = wrapperspb.Bytes(keys.WithGen(p, gen, at))
			}
		}
		if len(res) == 0 {
			mt.keyAcks.unchanged(gen)
			return
		}
		mt.keyAcks.pushed(gen)
		if err := mt.cache.UpdateResources(res, nil); err != nil {
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

func isKeysRequest(r *discoveryv3.DiscoveryRequest) bool {
	return len(r.GetResourceNames()) > 0 && r.GetResourceNames()[0] == contract.ModuleKeysName
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
