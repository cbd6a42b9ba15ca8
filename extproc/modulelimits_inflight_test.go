package extproc

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/llmgate/llmgate/internal/model"
	"github.com/llmgate/llmgate/internal/store"
)

// TestModuleInFlight (D77): concurrent tries never pass a deployment's
// max_parallel_requests; a refused try counts nothing and gets the attempt
// filter's 429; a released try frees its slot; the module's plans and its
// reports read the counts.
func TestModuleInFlight(t *testing.T) {
	l := NewModuleLimits()
	d := &model.Deployment{ID: "d", Group: "g"}
	d.Limits.MaxParallel = 3
	var held sync.Map
	var ok, refused atomic.Int64
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, r := l.Acquire(d, "call")
			if r != nil {
				refused.Add(1)
				if r.Status != 429 || !strings.Contains(string(r.Body), "is at its max_parallel_requests limit") {
					t.Errorf("refusal %d %s", r.Status, r.Body)
				}
				return
			}
			ok.Add(1)
			held.Store(i, c)
		}()
	}
	wg.Wait()
	if ok.Load() != 3 || refused.Load() != 37 || l.InFlight("d") != 3 {
		t.Fatalf("40 concurrent tries on max_parallel_requests 3: %d went, %d refused, %d in flight", ok.Load(), refused.Load(), l.InFlight("d"))
	}
	ls := &leaseStore{Memory: store.NewMemory(nil)}
	ls.l.Store(l)
	st, err := ls.Read(context.Background(), []string{"d", "e"}, store.ReadOptions{})
	if err != nil || st["d"].InFlight != 3 || st["e"].InFlight != 0 {
		t.Fatalf("the plan's view: %+v %v", st, err)
	}
	if u := l.Used(); u.InFlight["d"] != 3 {
		t.Errorf("the report: %+v", u.InFlight)
	}
	held.Range(func(_, c any) bool {
		l.Release(c.(*atomic.Int64))
		return false // one
	})
	if l.InFlight("d") != 2 {
		t.Fatalf("after one release: %d in flight", l.InFlight("d"))
	}
	if c, r := l.Acquire(d, ""); r != nil || c == nil {
		t.Fatalf("a released slot was not given again")
	}
	// Without a limit (least-busy) every try is counted, none refused.
	free := &model.Deployment{ID: "f"}
	for range 10 {
		if _, r := l.Acquire(free, ""); r != nil {
			t.Fatal("a deployment without max_parallel_requests refused a try")
		}
	}
	if l.InFlight("f") != 10 {
		t.Errorf("least-busy count %d, want 10", l.InFlight("f"))
	}
}
