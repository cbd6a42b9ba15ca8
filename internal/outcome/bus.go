package outcome

import (
	"sync"
	"sync/atomic"
)

// DefaultQueue is a sink's queue length when Register is given none.
const DefaultQueue = 4096

// Sink consumes events on its own goroutine, one at a time, in publish order.
type Sink func(Try)

// Bus fans events out to registered sinks. The zero value is not usable;
// a nil *Bus accepts Publish and does nothing.
type Bus struct {
	mu     sync.RWMutex
	sinks  []*sink
	closed bool
	wg     sync.WaitGroup
}

type sink struct {
	name    string
	q       chan Try
	fn      Sink
	dropped atomic.Uint64
	done    atomic.Uint64
}

// NewBus returns an empty bus.
func NewBus() *Bus { return &Bus{} }

// Register adds a sink with a queue of queue events (DefaultQueue if
// queue <= 0) and starts its goroutine. Registering on a closed bus does
// nothing.
func (b *Bus) Register(name string, queue int, fn Sink) {
	if queue <= 0 {
		queue = DefaultQueue
	}
	s := &sink{name: name, q: make(chan Try, queue), fn: fn}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.sinks = append(b.sinks, s)
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		for t := range s.q {
			s.fn(t)
			s.done.Add(1)
		}
	}()
}

// Active reports whether any sink listens: a source may skip work (reading
// usage from a response it would otherwise pass through) when none does.
func (b *Bus) Active() bool {
	if b == nil {
		return false
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	return len(b.sinks) > 0 && !b.closed
}

// Publish hands t to every sink without blocking: a sink whose queue is
// full loses the event, counted in its Stats. Publishing on a nil or closed
// bus does nothing.
func (b *Bus) Publish(t Try) {
	if b == nil {
		return
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return
	}
	for _, s := range b.sinks {
		select {
		case s.q <- t:
		default:
			s.dropped.Add(1)
		}
	}
}

// SinkStats are one sink's counts.
type SinkStats struct {
	Name      string
	Delivered uint64 // events the sink finished consuming
	Dropped   uint64 // events lost to a full queue
	Queued    int    // events waiting now
}

// Stats returns each sink's counts, in registration order.
func (b *Bus) Stats() []SinkStats {
	if b == nil {
		return nil
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	out := make([]SinkStats, 0, len(b.sinks))
	for _, s := range b.sinks {
		out = append(out, SinkStats{Name: s.name, Delivered: s.done.Load(), Dropped: s.dropped.Load(), Queued: len(s.q)})
	}
	return out
}

// Close stops accepting events and waits until every sink has consumed
// what was queued. It is safe to call more than once.
func (b *Bus) Close() {
	if b == nil {
		return
	}
	b.mu.Lock()
	if !b.closed {
		b.closed = true
		for _, s := range b.sinks {
			close(s.q)
		}
	}
	b.mu.Unlock()
	b.wg.Wait()
}

// ActiveBesides reports whether a sink other than the one named is
// registered: a sink that only wants some requests' events (spend: those
// with a virtual key) must not make every request pay for usage reading.
func (b *Bus) ActiveBesides(name string) bool {
	if b == nil {
		return false
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		return false
	}
	for _, s := range b.sinks {
		if s.name != name {
			return true
		}
	}
	return false
}
