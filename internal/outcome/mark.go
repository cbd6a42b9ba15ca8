package outcome

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
