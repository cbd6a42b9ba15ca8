package main

import (
	"encoding/json"
	"fmt"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

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
	if n := int64(len(sn.Keys)); keysLogged.Swap(n) != n {
		envoyLog(logInfo, fmt.Sprintf("llmgate module: key table applied: %d keys (%d handed on), %d bytes, %s after the gateway built it",
			len(sn.Keys), sn.HandedOn, len(bv.GetValue()), time.Since(time.Unix(0, sn.At)).Round(time.Millisecond)))
	}
	return nil
}

// keysLogged is the key count of the last table logged: a table is logged
// when the count changes (spend-only pushes are not).
var keysLogged atomic.Int64
