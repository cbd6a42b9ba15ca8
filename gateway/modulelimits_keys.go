package gateway

import (
	"time"

	"github.com/llmgate/llmgate/extproc"
	"github.com/llmgate/llmgate/internal/keys"
)

// Keys', users', teams', team members' and customers' rpm/tpm limits in the
// module (docs/architecture.md D83, internal/keys/viewlimits.go): the
// leaser views and leases their limit counters (`key:<token>`, …: the ids
// the ext_proc path's Begin counts on, in the same store) as it does a
// deployment's, for the counters the module asked for — so an instance
// whose module never sees a key holds nothing of its limit.

// entityIdle is how long a counter the module stopped asking for stays
// viewed (and leased on demand).
const entityIdle = 2 * time.Minute

// maxEntities bounds the counters viewed at once (each is read every
// leaseViewEvery); beyond it the module's requests of further keys are
// handed on (ext_proc counts them).
const maxEntities = 10000

// entWin is a limited entity's counter the module asked for.
type entWin struct {
	last time.Time // last asked for or used
	want bool      // asked for a lease since the last round
}

// useKeyLimits gives the leaser the key cache's limits (after openKeys).
func (g *Gateway) useKeyLimits(svc *keys.Service) {
	v, ok := g.store.(*leaseViewStore)
	if !ok || svc == nil {
		return
	}
	v.lz.entity.Store(&limitSource{svc.CounterLimits})
}

// limitSource gives a limited entity's counter's rpm/tpm limits.
type limitSource struct {
	limits func(id string) (rpm, tpm int64, ok bool)
}

// counterLimits is the rpm/tpm limit of a limited entity's counter id (ok
// false: no keys, or no such entity with a limit).
func (lz *leaser) counterLimits(id string) (rpm, tpm int64, ok bool) {
	p := lz.entity.Load()
	if p == nil {
		return 0, 0, false
	}
	return p.limits(id)
}

// reportEntityLocked takes in the module's use of, or want for, counter id
// when id is a limited entity's (under lz.mu); false: not one.
func (lz *leaser) reportEntityLocked(id string, want bool, now time.Time) bool {
	e := lz.ents[id]
	if e == nil {
		if _, _, ok := lz.counterLimits(id); !ok || len(lz.ents) >= maxEntities {
			return false
		}
		if lz.ents == nil {
			lz.ents = map[string]*entWin{}
		}
		e = &entWin{}
		lz.ents[id] = e
	}
	e.last = now
	e.want = e.want || want
	return true
}

// entitiesLocked adds the entities' counters to the round (under lz.mu):
// their ids to viewIDs, their leases to take to wants; missing: one is
// not in the view of this minute yet (read it now, not 100 ms later).
func (lz *leaser) entitiesLocked(viewIDs []string, wants *[]want, now time.Time, readView bool) (_ []string, missing bool) {
	minute := now.Unix() / 60
	for id, e := range lz.ents {
		rpm, _, ok := lz.counterLimits(id)
		if !ok || now.Sub(e.last) > entityIdle {
			delete(lz.ents, id)
			delete(lz.wins, id)
			continue
		}
		viewIDs = append(viewIDs, id)
		if _, in := lz.view[id]; lz.viewM != minute || !in {
			missing = true
		}
		if rpm == 0 {
			delete(lz.wins, id)
			continue
		}
		if rpm < extproc.LeaseOnDemandRPM {
			// A small limit is not leased: a burst's leases land after its
			// requests went to ext_proc and are lost to every instance
			// (TestTeamMemberLimitSharedRedis served 3 of 4). Begin counts
			// each request; the module refuses once the view is at the
			// limit.
			e.want = false
			if w := lz.wins[id]; w == nil || w.minute != minute || w.limit != rpm {
				lz.wins[id] = &gwLease{minute: minute, limit: rpm, rateAt: now}
			}
			continue
		}
		if e.want {
			e.want = false
			if w := lz.wins[id]; w != nil && w.minute == minute && w.limit == rpm {
				w.demand = true
			} else {
				lz.wins[id] = &gwLease{minute: minute, limit: rpm, rateAt: now, demand: true}
			}
		}
		if x, ok := lz.windowLocked(id, rpm, true, true, now, readView); ok {
			*wants = append(*wants, x)
		}
	}
	return viewIDs, missing
}

// unusedEntityLease is what this instance's module holds unused of a
// limited entity's lease this minute (0 for a deployment: its
// x-ratelimit-remaining-requests counts every unused lease, D67).
func (lz *leaser) unusedEntityLease(id string, now time.Time) int64 {
	lz.mu.Lock()
	defer lz.mu.Unlock()
	w := lz.wins[id]
	if lz.ents[id] == nil || w == nil || w.minute != now.Unix()/60 {
		return 0
	}
	return max(w.granted-w.used, 0)
}
