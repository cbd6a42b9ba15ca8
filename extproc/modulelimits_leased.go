package extproc

import "github.com/llmgate/llmgate/internal/contract"

// A try that is not fast, on a deployment the module holds an rpm lease
// for (docs/architecture.md D77; D72's last paragraph): the module's
// upstream filter charges it to the lease and marks it with
// LeasedTryHeader, and the attempt filter then counts nothing for it in the
// store (the lease is in the store's counter already). Before, the attempt
// filter's Begin counted every such try and the deployment's lease sat
// unused until the minute ended. A try the lease cannot pay is counted by
// Begin as before. The module removes the header from every try it does
// not mark (a client's own is never believed), and the attempt filter
// drops it with every other x-llmgate-* header before the provider.

// LeasedTryHeader marks a try the module charged to its deployment's lease.
const LeasedTryHeader = contract.InternalHeaderPrefix + "leased"

// leasedTry reports whether the module charged the try with request
// headers h to a lease (only in module-upstream mode: the module is every
// try's first upstream filter and sets or removes the marker).
func (s *Server) leasedTry(h map[string]string) bool {
	return s.ModuleUpstream && h[LeasedTryHeader] == "1"
}

// ChargeSlowTry charges a try that is not fast of deployment id to its
// lease when the module holds one with allowance left.
func (l *ModuleLimits) ChargeSlowTry(id string) bool {
	if l == nil {
		return false
	}
	w := l.window(id, l.now())
	if w == nil || w.limit == 0 || w.left() < 1 {
		return false
	}
	return l.Charge(id)
}

// Any reports whether the module holds any lease window.
func (l *ModuleLimits) Any() bool { return len(*l.deps.Load()) > 0 }
