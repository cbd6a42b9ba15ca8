package outcome

import "time"

// A grouped sink consumes events one at a time as any sink, and has an end
// hook the bus calls after a group of them: when its queue runs empty, or
// after MaxGroup events, or once MaxGroupWait has passed since the group's
// first event (checked after each event). Its events count as consumed
// (Stats.Delivered, Mark/Reached) only once the end hook has returned, so a
// sink can keep work for the group in memory (the spend sink's write-ahead
// lines, written with one system call per group, docs/architecture.md D80)
// and a source waiting on Reached still knows that work is done.

// MaxGroup is the most events in one group of a grouped sink.
const MaxGroup = 64

// MaxGroupWait bounds how long a group stays open after its first event,
// when the sink is slow and its queue does not run empty.
const MaxGroupWait = 2 * time.Millisecond

// RegisterGrouped adds a sink as Register does, with an end hook called
// after each group of consumed events (on the sink's goroutine).
func (b *Bus) RegisterGrouped(name string, queue int, fn Sink, end func()) {
	b.register(&sink{name: name, fn: fn, end: end, limit: queue})
}

// group counts the events consumed since the last end hook.
type group struct {
	held  uint64
	first time.Time
}

// add counts one consumed event; it reports whether the group is complete.
func (g *group) add() bool {
	if g.held++; g.held == 1 {
		g.first = time.Now()
		return false
	}
	return g.held >= MaxGroup || time.Since(g.first) >= MaxGroupWait
}

// endGroup runs the end hook, then counts the group's events consumed.
func (s *sink) endGroup(g *group) {
	s.end()
	s.done.Add(g.held)
	g.held = 0
	s.waits.wake()
}
