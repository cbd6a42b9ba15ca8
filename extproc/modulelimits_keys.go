package extproc

import (
	"github.com/llmgate/llmgate/internal/keys"
	"github.com/llmgate/llmgate/translator"
)

// The rpm/tpm limits of keys, users, teams, team members and customers in
// the module (docs/architecture.md D83, internal/keys/viewlimits.go): their
// limit counters (`key:<token>`, `user:<id>`, …, the ids the ext_proc
// path's Begin counts on) are windows of the module's ModuleLimits like a
// deployment's, leased by the gateway on demand: a counter the module has
// no window for yet is asked for (wants) and its request handed on.

var _ keys.Leases = (*ModuleLimits)(nil)

// errKeyHandOn is keys.ErrHandOn as routeRequest returns it: the module
// hands the request on (Serve).
var errKeyHandOn = &translator.Error{Status: keys.ErrHandOn.Status, Type: keys.ErrHandOn.Type, Code: keys.ErrHandOn.Code, Message: keys.ErrHandOn.Message}

// ChargeRPM implements keys.Leases.
func (l *ModuleLimits) ChargeRPM(id string, lim int64) (ok, atLimit bool, rpm int64) {
	now := l.now()
	w := l.window(id, now)
	if !l.fresh(now) || w == nil || w.limit != lim {
		l.wantCounter(id)
		return false, false, 0
	}
	if l.Charge(id) {
		return true, false, max(w.rpm.Load()-w.left(), 0)
	}
	if r := w.rpm.Load(); r >= lim {
		return false, true, r
	}
	// Spent with room in the store: a top-up (ext_proc counts meanwhile).
	w.want.Store(true)
	l.signalLow()
	return false, false, 0
}

// RefundRPM implements keys.Leases.
func (l *ModuleLimits) RefundRPM(id string) {
	w := l.window(id, l.now())
	if w == nil {
		return
	}
	for {
		v := w.gu.Load()
		if v&0xffffffff == 0 {
			return
		}
		if w.gu.CompareAndSwap(v, v-1) {
			l.changed.Store(true)
			return
		}
	}
}

// TPM implements keys.Leases.
func (l *ModuleLimits) TPM(id string) (int64, bool) {
	now := l.now()
	w := l.window(id, now)
	if !l.fresh(now) || w == nil {
		l.wantCounter(id)
		return 0, false
	}
	if w.limit == 0 && !w.seen.Swap(true) {
		l.changed.Store(true)
	}
	return max(w.tpm.Load(), w.local.Load()), true
}

// wantCounter asks the gateway for counter id's window (reported with
// the next use: Used).
func (l *ModuleLimits) wantCounter(id string) {
	if _, loaded := l.wants.LoadOrStore(id, struct{}{}); !loaded {
		l.signalLow()
	}
}

// refundKeyLeases gives back what a module view charged for a request the
// module hands on after all (the ext_proc path counts it again).
func (m *ModuleFilter) refundKeyLeases(leased []string) {
	if m.limits == nil {
		return
	}
	for _, id := range leased {
		m.limits.RefundRPM(id)
	}
}
