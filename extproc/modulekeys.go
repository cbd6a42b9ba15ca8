package extproc

import (
	"sync"

	"github.com/llmgate/llmgate/internal/keys"
	"github.com/llmgate/llmgate/internal/outcome"
)

// Virtual keys in the module (docs/architecture.md D57). The gateway pushes
// its key table (keys.Snapshot: the keys whose checks count no shared state,
// with their teams, users, memberships, budgets and spend) to the module over
// the module's ADS socket; the module holds it in a keys.Service view and
// runs the ext_proc filter's own key code on it: authenticate finds the key
// by its sha256 without allocating, routeRequest applies the key's aliases
// and AuthorizeRequest's checks in LiteLLM's order (blocked, expired,
// models, key, per-model, team, user and team-member budgets), and the
// request context carries the key's hash, alias, team and user, so the
// outcome path adds the spend exactly as for ext_proc. What the table does
// not hold hands on: a key not in it (unknown, made after the last push,
// or with rpm/tpm/parallel limits of its own or of its user, team or team
// member), a body whose `user` (a customer) is not in a partial table or
// has a budget with rpm/tpm limits (D73).

// UseKeys gives the module's filter the key table view (shared by every
// config the module applies; the key table is swapped inside it).
func (m *ModuleFilter) UseKeys(v *keys.Service) {
	if v == nil {
		return
	}
	// A refusal is answered here unless an outcome sink besides spend
	// listens (ext_proc then refuses it and publishes the refusal).
	m.keyRefusals = m.s.Outcomes == nil
	if m.s.Outcomes == nil {
		// The context asks for usage on a key's request exactly when the
		// gateway's would: its spend sink listens. (With other sinks the
		// mirror bus already asks for usage on every request.)
		m.s.Outcomes = spendMirror()
	}
	m.st.keys = v
	if m.limits != nil {
		v.UseLeases(m.limits) // keys' rpm/tpm limits (D83)
	}
	// The body's `user` (a customer): its checks run on the table's
	// customers (EndUserServable says which the module can check).
	m.plain["user"] = true
}

// spendMirror is a bus with only a spend sink, shared by every config the
// module applies (one sink goroutine in all).
var spendMirror = sync.OnceValue(func() *outcome.Bus {
	b := outcome.NewBus()
	b.Register(keys.SpendSink, 1, func(outcome.Try) {})
	return b
})
