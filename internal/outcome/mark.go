package outcome

import (
	"context"
	"sync"
	"sync/atomic"
)

// A sink consumes its events in the order they were published, so a source
// that must know when its events have been consumed (the module's outcome
// records are acknowledged to the module only once the spend sink has them
// in its write-ahead file, docs/architecture.md D63) takes a mark after
// publishing them and waits until the sink has reached it.

// Mark is the position, in the named sink's queue, of the last event
// published so far (0 when no such sink is registered).
func (b *Bus) Mark(name string) uint64 {
	if s := b.sinkNamed(name); s != nil {
		return s.accepted.Load()
	}
	return 0
}

// Reached reports whether the named sink has consumed every event up to the
// mark (true when no such sink is registered).
func (b *Bus) Reached(name string, mark uint64) bool {
	if s := b.sinkNamed(name); s != nil {
		return s.done.Load() >= mark
	}
	return true
}

func (b *Bus) sinkNamed(name string) *sink {
	if b == nil {
		return nil
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, s := range b.sinks {
		if s.name == name {
			return s
		}
	}
	return nil
}

// Await waits until the named sink has consumed every event up to the mark
// (Reached), or ctx ends; it reports whether the mark was reached. The
// attempt filter holds an answer's last bytes on it until the answer's
// spend is in the write-ahead file (docs/architecture.md D92).
func (b *Bus) Await(ctx context.Context, name string, mark uint64) bool {
	s := b.sinkNamed(name)
	if s == nil {
		return true
	}
	w := &s.waits
	w.n.Add(1)
	defer w.n.Add(-1)
	for {
		w.mu.Lock()
		if s.done.Load() >= mark {
			w.mu.Unlock()
			return true
		}
		if w.ch == nil {
			w.ch = make(chan struct{})
		}
		ch := w.ch
		w.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return s.done.Load() >= mark
		}
	}
}

// waiters wakes the sources waiting in Await when a sink's consumed count
// moves; a sink nobody waits on pays one atomic load per group.
type waiters struct {
	n  atomic.Int32
	mu sync.Mutex
	ch chan struct{} // closed at the next move (nil: nobody waits)
}

// wake is called after done moved. Await counts itself in n before it reads
// done, so a waiter that read the old value is seen here.
func (w *waiters) wake() {
	if w.n.Load() == 0 {
		return
	}
	w.mu.Lock()
	if w.ch != nil {
		close(w.ch)
		w.ch = nil
	}
	w.mu.Unlock()
}
