package keys

import (
	"context"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/keystore"
)

// heldSpendStore holds AddSpend (a spend batch's commit) until released.
type heldSpendStore struct {
	keystore.Store
	entered chan struct{}
	release chan struct{}
}

func (h *heldSpendStore) AddSpend(ctx context.Context, b *keystore.Spend) error {
	h.entered <- struct{}{}
	<-h.release
	return h.Store.AddSpend(ctx, b)
}

// TestManagementDuringBatchKeepsSpend (D92, TestModuleVirtualKeys' flake): a
// management route that reloads a key from the store (/key/block) while a
// spend batch is between its seal and the store's commit kept the stored
// spend (without the batch) plus the pending spend (emptied by the seal):
// the batch's spend was missing from the key's spend until the next cache
// refresh. Now a route's store read and cache install never straddle a
// batch's commit. It failed before: spend 0, want 0.25.
func TestManagementDuringBatchKeepsSpend(t *testing.T) {
	h := &heldSpendStore{Store: embedded(t), entered: make(chan struct{}), release: make(chan struct{})}
	s := newService(t, h, t.TempDir())
	defer func() {
		go func() {
			for range h.entered {
			}
		}()
		close(h.release)
		s.Close()
	}()
	key := generate(t, s, `{}`)
	tok := keystore.HashKey(key)
	s.Record(SpendEvent{RequestID: "r1", KeyToken: tok, ModelGroup: "m", Cost: 0.25})
	flushed := make(chan error, 1)
	go func() { flushed <- s.flush(context.Background()) }()
	<-h.entered // the batch is sealed, its commit held
	blocked := make(chan int, 1)
	go func() {
		st, _ := s.Handle(context.Background(), "POST", "/key/block", []byte(`{"key":"`+key+`"}`), Caller{Admin: true})
		blocked <- st
	}()
	var st int
	select {
	case st = <-blocked: // (before D92: the route ran during the commit)
	case <-time.After(500 * time.Millisecond):
	}
	h.release <- struct{}{}
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	if st == 0 {
		st = <-blocked
	}
	if st != 200 {
		t.Fatalf("/key/block: %d", st)
	}
	if k, spend, _ := s.Lookup(tok); spend != 0.25 || !k.Blocked {
		t.Fatalf("after /key/block during a batch's commit: spend %v (blocked %v), want 0.25", spend, k.Blocked)
	}
}
