package keys

import "github.com/llmgate/llmgate/internal/outcome"

// walHoldMax bounds the write-ahead lines held in memory by a grouped spend
// sink: at this size they are written at once, whatever the group.
const walHoldMax = 64 << 10

// walHoldKeep is the largest hold buffer kept for reuse after a write.
const walHoldKeep = 256 << 10

// GroupedSink returns the spend sink for outcome.Bus.RegisterGrouped (D80):
// fn is OnTry, except that the event's write-ahead line is held in memory;
// end writes the lines held with one write(2). The bus counts the group's
// events consumed (Bus.Reached, which the module's outcome records wait for
// before they are acknowledged, D63) only after end, so an acknowledged
// event's line is in the file as before. After GroupedSink, every event
// recorded by this service is held until end, a seal or Close.
func (s *Service) GroupedSink() (fn outcome.Sink, end func()) {
	if s.wal == nil {
		return s.OnTry, func() {}
	}
	s.wal.mu.Lock()
	s.wal.grouped = true
	s.wal.mu.Unlock()
	return s.OnTry, s.writeHeld
}

// writeHeld writes the write-ahead lines held in memory.
func (s *Service) writeHeld() {
	if err := s.wal.writeHeld(); err != nil {
		s.log.Warn("spend write-ahead file", "error", err.Error())
	}
}

func (w *wal) writeHeld() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writeHeldLocked()
}

// writeHeldLocked writes the held lines with one write(2); w.mu is held.
func (w *wal) writeHeldLocked() error {
	if len(w.held) == 0 {
		return nil
	}
	_, err := w.f.Write(w.held)
	w.writes++
	w.failed = w.failed || err != nil
	if cap(w.held) > walHoldKeep {
		w.held = nil
	} else {
		w.held = w.held[:0]
	}
	return err
}

// SpendNow is the spend sink for tries handed to it directly, not through
// the outcome bus (the module's compact spend records, docs/architecture.md
// D145): OnTry for each, then their write-ahead lines written, so that the
// caller may acknowledge them once SpendNow returns.
func (s *Service) SpendNow(ts []outcome.Try) {
	for i := range ts {
		s.OnTry(ts[i])
	}
	if s.wal != nil {
		s.writeHeld()
	}
}
