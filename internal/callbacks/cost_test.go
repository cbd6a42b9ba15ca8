package callbacks

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/internal/outcome"
)

// The span and trace ids written without allocating (D74) are the ids of
// before: sha256 of the NUL-joined parts, the call id's hex digits.
func TestSpanAndTraceIDsUnchanged(t *testing.T) {
	old := func(parts ...string) []byte {
		h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
		return h[:8]
	}
	for _, id := range []string{"0b9c6a3e-6a55-4b1c-9a0e-000000000001", "chatcmpl-xyz", "", strings.Repeat("z", 400),
		"0B9C6A3E6A554B1C9A0E000000000001", "0b9c6a3e-6a55-4b1c-9a0e-00000000000", "0b9c6a3e-6a55-4b1c-9a0e-0000000000011", "g0000000000000000000000000000000"} {
		if got := spanID(id, "attempt", 12); string(got[:]) != string(old(id, "attempt", "12")) {
			t.Errorf("%q: attempt span id %x", id, got)
		}
		if got := spanID(id, "server", -1); string(got[:]) != string(old(id, "server")) {
			t.Errorf("%q: server span id %x", id, got)
		}
		var want [16]byte
		if b, err := hex.DecodeString(strings.ReplaceAll(id, "-", "")); err == nil && len(b) == 16 {
			copy(want[:], b)
		} else {
			h := sha256.Sum256([]byte(id))
			copy(want[:], h[:16])
		}
		if got, _ := traceIDs(&outcome.Try{CallID: id}); got != want {
			t.Errorf("%q: trace id %x, want %x", id, got, want)
		}
	}
}
