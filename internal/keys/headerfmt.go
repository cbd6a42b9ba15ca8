package keys

import (
	"math"
	"strconv"
	"sync/atomic"
)

// The x-litellm-key-spend and -max-budget values of a keyed request
// (docs/architecture.md D127). A key's spend in the module's table moves
// only when the gateway pushes a new table, and its max budget almost
// never: the same two numbers are formatted for request after request. A
// small direct-mapped cache of formatted numbers, read without a lock,
// gives the strings back without strconv's work or an allocation; a miss
// formats and replaces the slot.

// numCacheSlots is the number of formatted numbers kept (a power of two).
const numCacheSlots = 256

type fmtNum struct {
	bits uint64
	s    string
}

var numCache [numCacheSlots]atomic.Pointer[fmtNum]

// formatNum is strconv.FormatFloat(v, 'f', -1, 64), cached.
func formatNum(v float64) string {
	b := math.Float64bits(v)
	i := (b ^ b>>29 ^ b>>47) * 0x9e3779b97f4a7c15 >> (64 - 8)
	if e := numCache[i].Load(); e != nil && e.bits == b {
		return e.s
	}
	s := strconv.FormatFloat(v, 'f', -1, 64)
	numCache[i].Store(&fmtNum{bits: b, s: s})
	return s
}
