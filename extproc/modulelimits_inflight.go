package extproc

import (
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/model"
	"github.com/llmgate/llmgate/router"
	"github.com/llmgate/llmgate/translator"
)

// Tries in flight counted by the module (docs/architecture.md D77).
// LiteLLM's max_parallel_requests is a semaphore per deployment in each
// router process, and least-busy orders a group's deployments by the calls
// each has in flight in that process: per instance, not shared. In module
// mode with the module as every try's upstream filter (D55) and the
// gateway's leases (D67), the module counts every try of a counted
// deployment — one with max_parallel_requests, or every deployment under
// least-busy — in its upstream filter, whoever planned the request (the
// module or the ext_proc filter: the try's deployment is llmgate.ctx "d" at
// the try's attempt number), refuses a try at the limit with the attempt
// filter's 429, and releases the count when Envoy destroys the try's filter
// (its every end: answer, reset, timeout, client abort). The module's plans
// read the counts (leaseStore.Read's InFlight: the plan leaves out a
// deployment at its limit, least-busy orders by them); the gateway's gets
// them on the lease stream (LeaseUse.InFlight) and its attempt filter's
// Begin no longer counts max_parallel_requests: one count per try.

// countsTries reports whether the module counts the tries of counted
// deployments: it has the gateway's leases and is every try's upstream
// filter.
func (m *ModuleFilter) countsTries() bool {
	return m.limits != nil && m.s.ModuleUpstream
}

// CountsTry reports whether the module counts the tries of deployment d in
// flight (max_parallel_requests, or least-busy routing).
func (m *ModuleFilter) CountsTry(d *model.Deployment) bool {
	if m == nil || d == nil || !m.countsTries() {
		return false
	}
	return d.Limits.MaxParallel > 0 || m.st.Router.Model().Routing.Strategy == router.LeastBusy
}

// CountsAnyTry reports whether the module counts any deployment's tries.
func (m *ModuleFilter) CountsAnyTry() bool {
	if m == nil || !m.countsTries() {
		return false
	}
	if m.st.Router.Model().Routing.Strategy == router.LeastBusy {
		return true
	}
	for _, d := range m.st.Router.Model().Deployments {
		if d.Limits.MaxParallel > 0 {
			return true
		}
	}
	return false
}

func (l *ModuleLimits) counter(id string) *atomic.Int64 {
	if v, ok := l.par.Load(id); ok {
		return v.(*atomic.Int64)
	}
	v, _ := l.par.LoadOrStore(id, new(atomic.Int64))
	return v.(*atomic.Int64)
}

// InFlight is the module's count of deployment id's tries in flight.
func (l *ModuleLimits) InFlight(id string) int64 {
	if v, ok := l.par.Load(id); ok {
		return max(v.(*atomic.Int64).Load(), 0)
	}
	return 0
}

// inFlightAll is the count of every deployment with tries in flight (one
// left out has none; nil: none).
func (l *ModuleLimits) inFlightAll() map[string]int64 {
	var out map[string]int64
	l.par.Range(func(k, v any) bool {
		if n := v.(*atomic.Int64).Load(); n > 0 {
			if out == nil {
				out = map[string]int64{}
			}
			out[k.(string)] = n
		}
		return true
	})
	return out
}

// Acquire counts a try of deployment d in flight; at d's
// max_parallel_requests it counts nothing and returns the attempt filter's
// refusal (429), with callID as x-litellm-call-id. Every count returned
// needs one Release.
func (l *ModuleLimits) Acquire(d *model.Deployment, callID string) (*atomic.Int64, *ModuleReply) {
	c := l.counter(d.ID)
	mp := int64(d.Limits.MaxParallel)
	for {
		v := c.Load()
		if mp > 0 && v >= mp {
			return nil, limitRefusal(d, "max_parallel_requests", callID)
		}
		if c.CompareAndSwap(v, v+1) {
			l.changed.Store(true)
			return c, nil
		}
	}
}

// Release ends a try Acquire counted.
func (l *ModuleLimits) Release(c *atomic.Int64) {
	if c != nil {
		c.Add(-1)
		l.changed.Store(true)
	}
}

// limitRefusal is the attempt filter's answer to a try its deployment's
// limit refuses (Begin: "… is at its <reason> limit", 429, retry-after 1).
func limitRefusal(d *model.Deployment, reason, callID string) *ModuleReply {
	e := &translator.Error{Status: 429, Type: "throttling_error", Code: "429", RetryAfter: time.Second,
		Message: "litellm.RateLimitError: Deployment " + d.ID + " of model group " + d.Group + " is at its " + reason + " limit"}
	h := map[string]string{"x-litellm-model-id": d.ID, "x-litellm-model-group": d.Group}
	if callID != "" {
		h["x-litellm-call-id"] = callID
	}
	a := replyAnswer(errorReply(e, h))
	return a.Reply
}

// appendPlanDeployments writes llmgate.ctx "d": the plan's deployment ids,
// each ended by a newline — the upstream filter reads a try's deployment
// there (the fast path's since D70; every plan's in module-upstream mode,
// so that the module counts every try).
func (r *routed) appendPlanDeployments(b []byte) []byte {
	n := 0
	for _, a := range r.plan {
		n += len(a.DeploymentId) + 1
	}
	b = appendFieldHead(b, contract.FastDeploymentsKey, sizeNested(3, n))
	b = protowire.AppendTag(b, 3, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(n))
	for _, a := range r.plan {
		b = append(b, a.DeploymentId...)
		b = append(b, '\n')
	}
	return b
}
