package keys

import (
	"strconv"
	"strings"

	"github.com/llmgate/llmgate/internal/keystore"
)

// The rpm/tpm limits of keys, users, teams, team members and customers in
// the module (docs/architecture.md D83). Their counters are the limit
// store's (`rpm:key:<token>:<minute>`, CounterID, and the other entities'
// ids from entities), which the ext_proc path counts in with Begin. The
// gateway's leaser leases rpm allowance on those very counters, on demand,
// as for deployments (D67, D72), and sends the module the counters' view;
// the module's view of the key table (NewView) runs the same checks as the
// gateway's cache with the leases in place of Begin (viewLimits): the same
// refusals (rateError), the same x-litellm-key-remaining-* headers, counts
// that never pass a limit across instances. An entity with
// max_parallel_requests is never in the module's table: a key's parallel
// slots are counted in the limit store across instances (Redis), which a
// count in one instance's module cannot keep; those keys stay on ext_proc.

// Leases is the module's rpm leases and counter view of the limited
// entities (extproc.ModuleLimits implements it).
type Leases interface {
	// ChargeRPM takes one request of counter id's lease under rpm limit
	// lim. ok: taken, rpm is then the view's count with it; atLimit: every
	// instance is at the limit (rpm the store's count): a refusal; neither:
	// the request is handed on (the lease is asked for).
	ChargeRPM(id string, lim int64) (ok, atLimit bool, rpm int64)
	// RefundRPM gives back a request ChargeRPM took (its request was
	// handed on after all).
	RefundRPM(id string)
	// TPM is counter id's tokens this minute in the view; ok false: not in
	// the view yet (the request is handed on, the view asked for).
	TPM(id string) (used int64, ok bool)
}

// ErrHandOn is a module view's answer when it cannot decide a request's
// limits alone: the module hands the request to the ext_proc filter.
var ErrHandOn = &Error{Status: 503, Type: "hand_on", Code: "503", Param: "None", Message: "handed to the ext_proc filter"}

type leasesRef struct{ l Leases }

// UseLeases makes a module view check rpm/tpm limits on l. Without it a
// view hands every limited request on.
func (s *Service) UseLeases(l Leases) {
	if l == nil {
		s.view.leases.Store(nil)
		return
	}
	s.view.leases.Store(&leasesRef{l})
}

// Leased are the counters whose leases a module view charged for the
// grant's request (RefundRPM them when the request is handed on).
func (g *Grant) Leased() []string {
	if g == nil {
		return nil
	}
	return g.leased
}

// viewLimits is limits in a module view: tpm from the view, rpm from the
// leases, in the gateway's order and with its refusals; ErrHandOn when the
// view cannot decide (no leases, a parallel limit, a counter not in the
// view yet, a lease spent while the store has room).
func (s *Service) viewLimits(k *keystore.Key, team *keystore.Team, user *keystore.User, endUser string, eub *keystore.Budget, caller, group, slot string, g *Grant) *Error {
	ents := s.withKeyModel(s.entities(k, team, user, endUser, eub), k, caller, group)
	if len(ents) == 0 {
		return nil
	}
	ents, fullID, fullN := applySlot(ents, slot) // the module's slots (slots.go, D117)
	rated := false
	for _, e := range ents {
		if e.par > 0 {
			return ErrHandOn // a limit the module took no slot of (changed since)
		}
		rated = rated || e.rpm > 0 || e.tpm > 0
	}
	if !rated {
		for _, e := range ents {
			if e.id == fullID {
				return parallelError(e, fullN, e.parFull, s.now())
			}
		}
		return nil
	}
	lr := s.view.leases.Load()
	if lr == nil {
		return ErrHandOn
	}
	l := lr.l
	// Every counter is asked for before deciding, so that one hand-on
	// brings the module every view and lease the request needs.
	handOn := false
	var tpmErr *Error
	for _, e := range ents {
		if e.tpm == 0 {
			continue
		}
		used, ok := l.TPM(e.id)
		switch {
		case !ok:
			handOn = true
		case used >= e.tpm:
			if tpmErr == nil && !handOn {
				tpmErr = rateError(e, "tpm", used, e.tpm, s.now())
			}
		case e.kind == "key":
			g.setHeader("x-litellm-key-remaining-tokens", strconv.FormatInt(e.tpm-used, 10))
		}
	}
	if tpmErr != nil {
		return tpmErr
	}
	var rpmErr *Error
	for _, e := range ents {
		if fullID != "" && e.id == fullID {
			if rpmErr == nil && !handOn {
				rpmErr = parallelError(e, fullN, e.parFull, s.now())
			}
			break
		}
		if e.rpm == 0 {
			continue
		}
		ok, atLimit, rpm := l.ChargeRPM(e.id, e.rpm)
		switch {
		case ok:
			g.leased = append(g.leased, e.id)
			if e.kind == "key" {
				g.setHeader("x-litellm-key-remaining-requests", strconv.FormatInt(max(e.rpm-rpm, 0), 10))
			}
		case atLimit:
			if rpmErr == nil && !handOn {
				rpmErr = rateError(e, "rpm", rpm, e.rpm, s.now())
			}
		default:
			handOn = true
		}
	}
	if handOn || rpmErr != nil {
		for _, id := range g.leased {
			l.RefundRPM(id)
		}
		g.leased = nil
		if rpmErr != nil {
			return rpmErr
		}
		return ErrHandOn
	}
	return nil
}

// CounterLimits are the rpm and tpm limits of the entity whose limit
// counters are id (entities' ids: key:, user:, team:, member:, enduser:),
// as the gateway's cache holds it now; ok false: no such entity with an
// rpm or tpm limit. The gateway's leaser leases by it.
func (s *Service) CounterLimits(id string) (rpm, tpm int64, ok bool) {
	kind, rest, _ := strings.Cut(id, ":")
	switch kind {
	case "key":
		k, t, u := s.cached(rest)
		if k == nil {
			return 0, 0, false
		}
		for _, e := range s.entities(k, t, u, "", nil) {
			if e.kind == "key" {
				rpm, tpm = e.rpm, e.tpm
			}
		}
	case "user":
		if u, _, _ := s.user(rest); u != nil {
			rpm, tpm = val(u.RPMLimit), val(u.TPMLimit)
		}
	case "team":
		if t, _, _ := s.team(rest); t != nil {
			rpm, tpm = val(t.RPMLimit), val(t.TPMLimit)
		}
	case "member":
		rpm, tpm = s.memberLimits(keystore.SplitMemberKey(rest))
	case "keymodel":
		rpm, tpm = s.keyModelLimits(rest)
	case "enduser":
		if _, _, b := s.endUserBudget(rest); b != nil {
			rpm, tpm = val(b.RPMLimit), val(b.TPMLimit)
		}
	}
	return rpm, tpm, rpm > 0 || tpm > 0
}

// endUserBudget is a customer's record, spend and the budget its checks
// and limits read: its own, else the default end-user budget once the
// customer is known (a row or spend).
func (s *Service) endUserBudget(id string) (*keystore.EndUser, float64, *keystore.Budget) {
	s.mu.RLock()
	eu := s.endUsrs[id]
	spend := s.espnd[id]
	var b *keystore.Budget
	if eu != nil && eu.BudgetID != "" {
		b = s.budgets[eu.BudgetID]
	}
	s.mu.RUnlock()
	if b == nil && (eu != nil || spend > 0) {
		b = s.defaultEndUserBudget()
	}
	return eu, spend, b
}
