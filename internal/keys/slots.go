package keys

import (
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llmgate/llmgate/internal/keystore"
)

// The max_parallel_requests of keys, users and teams in the module
// (docs/architecture.md D117). Without a shared limit store (no Redis) the
// gateway lets such keys into the module's table (SetModuleSlots). The
// module takes the request's slots when it reads its headers (TakeSlots, on
// its view), whatever then serves the request, and releases them when Envoy
// destroys the request's filter — every end of a request: answer, error,
// local reply, client reset, timeout. It tells the request's checks what it
// did in SlotHeader: SlotHeld (the slots are the module's: the checks count
// none) or "full <counter id> <in flight>" (an entity is at its limit: the
// checks refuse with its 429 at their turn, after the key's other checks, as
// LiteLLM's limiter runs after auth). The module's checks read it from the
// module's own header map; the ext_proc filter's checks from the request
// the module handed on (believed only with SetModuleSlots). So one count
// per instance holds every request of such a key, whichever filter planned
// it. With Redis the slots are counted in Redis by the ext_proc filter, as
// before (D83's reasons), and such keys stay out of the module's table.

// SlotHeader carries the module's slot decision to the request's checks.
const SlotHeader = "x-llmgate-key-slot"

// SlotHeld is SlotHeader's value when the module holds the request's slots.
const SlotHeld = "held"

// Slots are the slots one request holds in a module view (Release them once).
type Slots struct {
	held [3]*atomic.Int64
	n    int
}

// Release gives the slots back.
func (h *Slots) Release() {
	if h == nil {
		return
	}
	for i := 0; i < h.n; i++ {
		h.held[i].Add(-1)
		h.held[i] = nil
	}
	h.n = 0
}

// slotCounts are a view's in-flight counts by counter id (never removed:
// one per key, user or team with max_parallel_requests).
type slotCounts struct{ m sync.Map }

func (c *slotCounts) of(id string) *atomic.Int64 {
	if v, ok := c.m.Load(id); ok {
		return v.(*atomic.Int64)
	}
	v, _ := c.m.LoadOrStore(id, new(atomic.Int64))
	return v.(*atomic.Int64)
}

// SetModuleSlots says that the module counts the parallel slots of the keys
// in its table (the gateway has no shared limit store): keys with
// max_parallel_requests of their own, their budget's, user's or team's are
// then in the table, and the checks believe SlotHeader.
func (s *Service) SetModuleSlots(on bool) {
	s.mu.Lock()
	s.moduleSlots = on
	s.mu.Unlock()
	s.viewChanged(true)
}

// moduleSlotsOn reads SetModuleSlots.
func (s *Service) moduleSlotsOn() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.moduleSlots
}

// slotsBelieved: the checks read SlotHeader (a module's view, or a gateway
// whose module counts the slots).
func (s *Service) slotsBelieved() bool {
	return s.view.module || s.moduleSlotsOn()
}

// TakeSlots takes one slot of every max_parallel_requests of a key in a
// module view (its own or its budget's, its user's, its team's), in
// LiteLLM's order. hdr is SlotHeader's value ("" when the key has no such
// limit or is not in the view); the slots are nil unless hdr is SlotHeld.
// At a limit nothing is held and hdr names the entity and its count.
func (s *Service) TakeSlots(token string) (held *Slots, hdr string) {
	k := s.lookupKey(token)
	if k == nil || k.MaxParallelRequests == nil && k.BudgetID == "" && k.TeamID == "" && k.UserID == "" {
		return nil, "" // most keys: one lookup, nothing built
	}
	var t *keystore.Team
	var u *keystore.User
	if k.TeamID != "" {
		t, _, _ = s.team(k.TeamID)
	}
	if k.UserID != "" {
		u, _, _ = s.user(k.UserID)
	}
	if k.MaxParallelRequests == nil && k.BudgetID == "" && (t == nil || t.MaxParallelRequests == nil) && (u == nil || u.MaxParallelRequests == nil) {
		return nil, ""
	}
	for _, e := range s.entities(k, t, u, "", nil) {
		if e.par <= 0 {
			continue
		}
		if held == nil {
			held = &Slots{}
		}
		c := s.slots.of(e.id)
		if n := c.Add(1); n > e.par {
			c.Add(-1)
			held.Release()
			return nil, "full " + e.id + " " + strconv.FormatInt(n-1, 10)
		}
		if held.n < len(held.held) {
			held.held[held.n] = c
			held.n++
		}
	}
	if held == nil {
		return nil, ""
	}
	return held, SlotHeld
}

// slotFull reads a SlotHeader value of an entity at its limit: its
// counter id and in-flight count.
func slotFull(hdr string) (id string, inFlight int64, ok bool) {
	rest, ok := strings.CutPrefix(hdr, "full ")
	if !ok {
		return "", 0, false
	}
	id, n, ok := strings.Cut(rest, " ")
	if !ok {
		return "", 0, false
	}
	v, err := strconv.ParseInt(n, 10, 64)
	return id, v, err == nil
}

// applySlot applies the module's slot decision hdr to the entities: held,
// their parallel limits are not counted again (par 0); an entity at its
// limit is marked for refusal (full). believed false: hdr is ignored.
func applySlot(ents []limited, hdr string) (out []limited, fullID string, fullN int64) {
	if hdr == "" {
		return ents, "", 0
	}
	id, n, isFull := slotFull(hdr)
	if hdr != SlotHeld && !isFull {
		return ents, "", 0
	}
	for i := range ents {
		ents[i].par, ents[i].parFull = 0, ents[i].par
	}
	if isFull {
		return ents, id, n
	}
	return ents, "", 0
}

// parallelError is the refusal of an entity at its max_parallel_requests:
// for a key LiteLLM's v3 limiter's (descriptor api_key, the key's hash;
// retry-after its 60 s window; its rate_limit_type and reset_at headers),
// for a user or team the v1 limiter's (the v3 limiter has none for them).
func parallelError(e limited, inFlight, lim int64, now time.Time) *Error {
	if e.kind != "key" {
		return rateError(e, "max_parallel_requests", inFlight, lim, time.Time{})
	}
	reset := now.UTC().Add(time.Minute).Format("2006-01-02 15:04:05 UTC")
	return &Error{Status: 429, Type: "rate_limit_error", Code: "429", Param: "None", RetryAfter: time.Minute,
		Message: "Rate limit exceeded for api_key: " + strings.TrimPrefix(e.id, "key:") + ". Limit type: max_parallel_requests. Current limit: " +
			strconv.FormatInt(lim, 10) + ", Remaining: 0. Limit resets at: " + reset}
}

// NewKeyWaits reports whether a /key/generate answer (out) must wait for the
// module to apply the new key before it answers: with SetModuleSlots, a new
// key with a parallel limit; its requests would otherwise be counted by the
// ext_proc filter until the push, beside the module's count once it has the
// key (WaitsForModule's other creations need no wait).
func (s *Service) NewKeyWaits(out []byte) bool {
	if !s.moduleSlotsOn() {
		return false
	}
	var a struct {
		Token string `json:"token_id"`
	}
	if json.Unmarshal(out, &a) != nil || a.Token == "" {
		return false
	}
	k, t, u := s.cached(a.Token)
	if k == nil {
		return false
	}
	for _, e := range s.entities(k, t, u, "", nil) {
		if e.par > 0 {
			return true
		}
	}
	return false
}
