package keys

import "strconv"

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
// slots — a tenth of the spend sink's time per answer in a profile.) An id
// in the canonical lower-case form of a UUID (Envoy's x-request-id) is kept
// as its 16 bytes (ucur, uold: maps without pointers, which the collector
// does not scan, and no string kept alive per id: D166); any other id as
// its string. The two forms never meet: a string id is not canonical.
type recentIDs struct {
	cur, old   map[string]struct{}
	ucur, uold map[[16]byte]struct{}
	// dup counts the events dropped as duplicates.
	dup uint64
}

// add remembers id; false when it was remembered already. Called with pmu.
func (r *recentIDs) add(id string) bool {
	if r.cur == nil {
		r.cur, r.old = map[string]struct{}{}, map[string]struct{}{}
		r.ucur, r.uold = make(map[[16]byte]struct{}, 1024), map[[16]byte]struct{}{}
	}
	if len(r.cur)+len(r.ucur) >= recentIDsMax {
		clear(r.old)
		clear(r.uold)
		r.cur, r.old = r.old, r.cur
		r.ucur, r.uold = r.uold, r.ucur
	}
	if u, ok := uuidBytes(id); ok {
		if _, ok := r.uold[u]; ok {
			return false
		}
		n := len(r.ucur)
		r.ucur[u] = struct{}{}
		return len(r.ucur) > n
	}
	if _, ok := r.old[id]; ok {
		return false
	}
	// Looked up and inserted in one map access (D135: three per answer).
	n := len(r.cur)
	r.cur[id] = struct{}{}
	return len(r.cur) > n
}

// uuidBytes is the 16 bytes of id when id is a UUID written as Envoy writes
// x-request-id (8-4-4-4-12 lower-case hex digits): one id, one value, so no
// two ids share a key. false for any other id.
func uuidBytes(id string) (u [16]byte, ok bool) {
	if len(id) != 36 || id[8] != '-' || id[13] != '-' || id[18] != '-' || id[23] != '-' {
		return u, false
	}
	for j, i := range uuidDigits {
		hi, lo := lowerHex(id[i]), lowerHex(id[i+1])
		if hi < 0 || lo < 0 {
			return u, false
		}
		u[j] = byte(hi<<4 | lo)
	}
	return u, true
}

// uuidDigits are where each byte's two digits start in a UUID's text.
var uuidDigits = [16]int{0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34}

// lowerHex is c's value as a lower-case hex digit, -1 otherwise.
func lowerHex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	}
	return -1
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

// rememberTokens adds a try that counts tokens but adds no spend (its cost
// unknown: no price) to the memory of such tries, by its request id and
// attempt (a request's other tries count their own tokens); false (its
// tokens not counted again) when it was there already. A try that spends is
// remembered by remember, before its tokens count. Unlike spend, these are
// not in the write-ahead file: after a restart such a try sent again counts
// its tokens again (a minute's tpm window at most).
func (s *Service) rememberTokens(id string, attempt int) bool {
	s.pmu.Lock()
	fresh := s.tokenTries.add(id + "#" + strconv.Itoa(attempt))
	if !fresh {
		s.tokenTries.dup++
	}
	s.pmu.Unlock()
	return fresh
}

// DuplicateSpendEvents is the number of spend events dropped because their
// request's spend was added already.
func (s *Service) DuplicateSpendEvents() uint64 {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	return s.recent.dup
}
