package main

import (
	"encoding/json"
	"fmt"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/keys"
)

// applyKeys installs one key table (docs/architecture.md D57): the gateway's
// keys.Snapshot, swapped into the view every applied config shares.
func (c *filterConfig) applyKeys(raw []byte) error {
	var bv wrapperspb.BytesValue
	if err := proto.Unmarshal(raw, &bv); err != nil {
		return err
	}
	var sn keys.Snapshot
	if err := json.Unmarshal(bv.GetValue(), &sn); err != nil {
		return err
	}
	c.keys.ApplySnapshot(&sn)
	if n := int64(c.keys.Len()); keysLogged.Swap(n) != n {
		envoyLog(logInfo, fmt.Sprintf("llmgate module: key table applied: %d keys (part %d: %d keys, %d bytes, %s after the gateway built it)",
			n, sn.Part, len(sn.Keys), len(bv.GetValue()), time.Since(time.Unix(0, sn.At)).Round(time.Millisecond)))
	}
	return nil
}

// keyTableNames are the key table's resources: its common part, every key
// shard's base and every key shard's overlay (D78: parts ViewShards+1…), on
// one stream (a change re-sends the parts it changed).
func keyTableNames() []string {
	names := make([]string, 0, 2*keys.ViewShards+1)
	for p := 0; p <= 2*keys.ViewShards; p++ {
		names = append(names, contract.ModuleKeysPart(p))
	}
	return names
}

// keysLogged is the key count of the last table logged: a table is logged
// when the count changes (spend-only pushes are not).
var keysLogged atomic.Int64
