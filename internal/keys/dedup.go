package keys

// A request's spend is added once. The module's outcome records are sent
// again after a reconnect when their acknowledgement was lost
// (docs/architecture.md D63): the gateway that took the first copy has its
// spend in the write-ahead file, possibly recovered after a restart. The
// spend sink remembers the request ids it added (at least the last
// recentIDsMax, and those read back from write-ahead files at start) and drops an event whose
// id it has seen.

// recentIDsMax is the size of one generation of remembered ids: the last
// recentIDsMax ids at least, twice that at most, are remembered.
const recentIDsMax = 1 << 16

// recentIDs are two generations of ids: cur takes new ids; when it is
// full, old is emptied and the two swap. (D108: a ring whose oldest id was
// deleted per insert left the map's probe sequences long with deleted
// slots — a tenth of the spend sink's time per answer in a profile.)
type recentIDs struct {
	cur, old map[string]struct{}
	// dup counts the events dropped as duplicates.
	dup uint64
}

// add remembers id; false when it was remembered already. Called with pmu.
func (r *recentIDs) add(id string) bool {
	if r.cur == nil {
		r.cur, r.old = make(map[string]struct{}, 1024), map[string]struct{}{}
	}
	if len(r.cur) >= recentIDsMax {
		clear(r.old)
		r.cur, r.old = r.old, r.cur
	}
	if _, ok := r.old[id]; ok {
		return false
	}
	// Looked up and inserted in one map access (D135: three per answer).
	n := len(r.cur)
	r.cur[id] = struct{}{}
	return len(r.cur) > n
}

// remember adds a request id to the memory; false (the event dropped,
// counted as a duplicate) when it was there already.
func (s *Service) remember(id string) bool {
	s.pmu.Lock()
	fresh := s.recent.add(id)
	if !fresh {
		s.recent.dup++
	}
	s.pmu.Unlock()
	if !fresh {
		s.log.Debug("spend of a request added already (an outcome sent again)", "request_id", id)
	}
	return fresh
}

// DuplicateSpendEvents is the number of spend events dropped because their
// request's spend was added already.
func (s *Service) DuplicateSpendEvents() uint64 {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	return s.recent.dup
}
