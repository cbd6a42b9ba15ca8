package keys

import (
	"context"
	"fmt"
	"testing"

	"github.com/llmgate/llmgate/internal/keystore"
)

// A batch's spend-log slice, once the store has the batch, is emptied and
// taken by a later batch (D108): the two batches' slices alternate instead
// of a fresh slice per batch; every log still reaches the store.
func TestSpendLogSliceReused(t *testing.T) {
	ks := embedded(t)
	s := newService(t, ks, t.TempDir())
	defer s.Close()
	tok := keystore.HashKey(generate(t, s, `{}`))
	ctx := context.Background()
	n := 0
	batch := func() []keystore.SpendLog {
		for range 100 {
			s.Record(SpendEvent{RequestID: fmt.Sprint("r", n), KeyToken: tok, ModelGroup: "m", Cost: 0.01})
			n++
		}
		s.pmu.Lock()
		l := s.pending.Logs
		s.pmu.Unlock()
		if err := s.flush(ctx); err != nil {
			t.Fatal(err)
		}
		return l
	}
	first := batch()
	second := batch()
	third := batch()
	if &first[:1][0] != &third[:1][0] {
		t.Fatal("the third batch has a fresh spend-log slice, want the first batch's reused")
	}
	if &second[:1][0] == &third[:1][0] {
		t.Fatal("the third batch shares the second's slice")
	}
	logs, err := ks.SpendLogsWhere(ctx, keystore.SpendLogFilter{Token: tok, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, l := range logs {
		seen[l.RequestID] = true
	}
	if len(seen) != 300 {
		t.Fatalf("%d distinct spend logs in the store, want 300", len(seen))
	}
}
