package keys

import (
	"fmt"
	"testing"

	"github.com/llmgate/llmgate/internal/keystore"
)

// A request's spend sent again — the module's outcome record after a lost
// acknowledgement, in the same process or after a restart that recovered
// the first copy from the write-ahead file — is added once (D63).
func TestSpendEventSentAgainCountsOnce(t *testing.T) {
	ks := embedded(t)
	wal := t.TempDir()
	first := newService(t, ks, wal)
	key := generate(t, first, `{}`)
	tok := keystore.HashKey(key)
	for i := 0; i < 3; i++ {
		first.Record(SpendEvent{RequestID: fmt.Sprint("r", i), KeyToken: tok, ModelGroup: "m", Cost: 0.25})
	}
	first.Record(SpendEvent{RequestID: "r1", KeyToken: tok, ModelGroup: "m", Cost: 0.25})
	if _, spend, _ := first.Lookup(tok); spend != 0.75 {
		t.Fatalf("spend %v after an event sent twice, want 0.75", spend)
	}
	// first dies without a batch; the copies of r0..r2 come to the next
	// process, with a new request.
	second := newService(t, ks, wal)
	defer second.Close()
	for i := 0; i < 4; i++ {
		second.Record(SpendEvent{RequestID: fmt.Sprint("r", i), KeyToken: tok, ModelGroup: "m", Cost: 0.25})
	}
	if _, spend, _ := second.Lookup(tok); spend != 1 {
		t.Fatalf("spend after restart and copies %v, want 1", spend)
	}
	if n := second.DuplicateSpendEvents(); n != 3 {
		t.Errorf("%d duplicates counted, want 3", n)
	}
}
