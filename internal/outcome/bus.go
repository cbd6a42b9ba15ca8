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

// sink is one consumer with its bounded queue. The queue is a slice that
// grows with the backlog and is handed to the sink's goroutine whole, not a
// channel: a buffered channel of 65,536 events holds its whole ring (≈ 30 MB
// of Try values) from the start, and the ring's pages become resident as
// events cycle through it, even when the backlog never exceeds a few events
// (docs/benchmarks.md, the llmgate RSS regression).
type sink struct {
	name  string
	fn    Sink
	end   func() // RegisterGrouped: ends a group of consumed events (grouped.go)
	limit int    // events queued (not yet started) at most
	// keyed: the sink only wants the events of requests with a virtual key
	// (ActiveBesides does not count it). Guarded by the bus's mu.
	keyed bool
	// wants: a keyed sink's test of whether a success of a request of a
	// key and team is anything to it (RegisterKeyed; nil: every one is).
	wants func(keyHash, teamID string) bool

	mu     sync.Mutex
	buf    []Try // queued events, oldest first
	spare  []Try // an empty slice to swap in, so a steady flow allocates nothing
	closed bool
	wake   chan struct{} // capacity 1: "there is work or the bus closed"

	queued   atomic.Int64
	dropped  atomic.Uint64
	done     atomic.Uint64
	accepted atomic.Uint64 // events queued since the start (mark.go)
	waits    waiters       // sources waiting for done to reach a mark (mark.go)
}

// keepCap is the largest queue capacity a drained sink keeps for reuse; a
// burst's larger backlog is given back to the garbage collector.
const keepCap = 256

// offer queues t, or counts it dropped when the queue is full.
func (s *sink) offer(t Try) {
	s.mu.Lock()
	if s.closed || int(s.queued.Load()) >= s.limit {
		s.mu.Unlock()
		if !s.closed {
			s.dropped.Add(1)
		}
		return
	}
	s.buf = append(s.buf, t)
	s.queued.Add(1)
	s.accepted.Add(1)
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// run consumes the queue until the bus closes and the queue is empty. A
// grouped sink's events count as consumed (done, Mark/Reached) only once its
// end hook has run after them (grouped.go).
func (s *sink) run() {
	var g group
	for {
		s.mu.Lock()
		batch := s.buf
		s.buf = s.spare[:0]
		s.spare = nil
		closed := s.closed
		s.mu.Unlock()
		if len(batch) == 0 {
			s.mu.Lock()
			if s.spare == nil {
				s.spare = batch
			}
			s.mu.Unlock()
			if g.held > 0 {
				// The queue ran empty: end the group, then look again.
				s.endGroup(&g)
				continue
			}
			if closed {
				return
			}
			<-s.wake
			continue
		}
		for i := range batch {
			s.queued.Add(-1)
			s.fn(batch[i])
			batch[i] = Try{} // release its strings
			if s.end == nil {
				s.done.Add(1)
				s.waits.wake()
			} else if g.add() {
				s.endGroup(&g)
			}
		}
		if cap(batch) > keepCap {
			batch = nil
		}
		s.mu.Lock()
		s.spare = batch[:0]
		s.mu.Unlock()
	}
}

// close stops accepting events; run returns once the queue is drained.
func (s *sink) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// NewBus returns an empty bus.
func NewBus() *Bus { return &Bus{} }

// Register adds a sink with a queue of at most queue events (DefaultQueue if
// queue <= 0) and starts its goroutine. The queue holds memory only for the
// events waiting in it. Registering on a closed bus does nothing.
func (b *Bus) Register(name string, queue int, fn Sink) {
	b.register(&sink{name: name, fn: fn, limit: queue})
}

// RegisterKeyed adds a sink that only wants the events of requests with a
// virtual key (the logging callbacks of keys' and teams' metadata, D64):
// as the spend sink, it does not make every request pay for usage reading
// (ActiveBesides does not count it) until Unkey. wants, when not nil, tells
// whether it has anything to do with a success of a request of this key
// and team (OnlyFor, D155).
func (b *Bus) RegisterKeyed(name string, queue int, fn Sink, wants func(keyHash, teamID string) bool) {
	b.register(&sink{name: name, fn: fn, limit: queue, keyed: true, wants: wants})
}

// Unkey makes a sink registered with RegisterKeyed count as a sink of every
// request's events.
func (b *Bus) Unkey(name string) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, s := range b.sinks {
		if s.name == name {
			s.keyed = false
		}
	}
}

func (b *Bus) register(s *sink) {
	if s.limit <= 0 {
		s.limit = DefaultQueue
	}
	s.wake = make(chan struct{}, 1)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.sinks = append(b.sinks, s)
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		s.run()
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
		s.offer(t)
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
		out = append(out, SinkStats{Name: s.name, Delivered: s.done.Load(), Dropped: s.dropped.Load(), Queued: int(s.queued.Load())})
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
			s.close()
		}
	}
	b.mu.Unlock()
	b.wg.Wait()
}

// ActiveBesides reports whether a sink other than the one named (and other
// than the keyed ones) is registered: a sink that only wants some requests'
// events (spend: those with a virtual key) must not make every request pay
// for usage reading.
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
		if s.name != name && !s.keyed {
			return true
		}
	}
	return false
}

// OnlyFor reports whether the sink named is the only reader of a success of
// a request of this key and team: every other sink is keyed (until Unkey)
// and its wants says it has nothing to do with it (a key and team whose
// metadata name no logging callback, D155). The module's compact spend
// records are then handed to the spend sink directly.
func (b *Bus) OnlyFor(name, keyHash, teamID string) bool {
	if b == nil {
		return false
	}
	// The tests are called after the bus's lock is let go (they take
	// their own: the key table's).
	var buf [4]func(keyHash, teamID string) bool
	wants := buf[:0]
	b.mu.RLock()
	if b.closed {
		b.mu.RUnlock()
		return false
	}
	for _, s := range b.sinks {
		if s.name == name {
			continue
		}
		if !s.keyed || s.wants == nil {
			b.mu.RUnlock()
			return false
		}
		wants = append(wants, s.wants)
	}
	b.mu.RUnlock()
	for _, w := range wants {
		if w(keyHash, teamID) {
			return false
		}
	}
	return true
}
