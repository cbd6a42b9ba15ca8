package keys

// A request's spend is added once. The module's outcome records are sent
// again after a reconnect when their acknowledgement was lost
// (docs/architecture.md D63): the gateway that took the first copy has its
// spend in the write-ahead file, possibly recovered after a restart. The
// spend sink remembers the request ids it added (the last recentIDsMax, and
// those read back from write-ahead files at start) and drops an event whose
// id it has seen.

// recentIDsMax bounds the ids remembered (a ring).
const recentIDsMax = 1 << 16

type recentIDs struct {
	set  map[string]struct{}
	ring []string
	at   int
	// dup counts the events dropped as duplicates.
	dup uint64
}

// add remembers id; false when it was remembered already. Called with pmu.
func (r *recentIDs) add(id string) bool {
	if r.set == nil {
		r.set = make(map[string]struct{}, 1024)
		r.ring = make([]string, 0, 1024)
	}
	if _, ok := r.set[id]; ok {
		return false
	}
	if len(r.ring) < recentIDsMax {
		r.ring = append(r.ring, id)
	} else {
		delete(r.set, r.ring[r.at])
		r.ring[r.at] = id
		r.at = (r.at + 1) % recentIDsMax
	}
	r.set[id] = struct{}{}
	return true
}

// DuplicateSpendEvents is the number of spend events dropped because their
// request's spend was added already.
func (s *Service) DuplicateSpendEvents() uint64 {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	return s.recent.dup
}
