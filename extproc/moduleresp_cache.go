package extproc

import (
	"encoding/binary"
	"slices"
	"sync"

	"github.com/llmgate/llmgate/internal/keys"
	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
)

// The module's answer plans by plan order (docs/architecture.md D124). A
// fast plan's answer plan (fastEntries, respPlanOfEntries) is the same for
// every request with the same tries in the same order but for the call id,
// the overhead and the start: the typical config's three deployments give
// six orders. The first request of an order builds it; the next ones copy
// its common headers with their own call id and overhead and share its
// entries, which nothing writes (the response side only reads a plan).
// The cache is the config's (State): a reload starts an empty one.

// respPlanCacheMax bounds the orders kept: a config whose plans differ
// request by request (rate-limit headers in the context) stops adding at
// the bound and builds the rest as before.
const respPlanCacheMax = 512

// respPlanKeyMax bounds a key built on the stack; a longer one is not
// cached.
const respPlanKeyMax = 1024

type respPlanCache struct {
	mu sync.RWMutex
	m  map[string]*cachedRespPlan
}

// cachedRespPlan is one order's answer plan: its common headers with the
// call id at callAt and the overhead at overAt, its entries.
type cachedRespPlan struct {
	common         [][2]string
	callAt, overAt int
	entries        []RespEntry
	stream, usage  bool
}

// respPlanCopy is a cached plan's copy for one request, in one allocation
// when its common headers are few.
type respPlanCopy struct {
	plan   RespPlan
	common [8][2]string
}

// key writes what a fast plan's answer plan depends on besides the call
// id, the overhead, the start and the key's headers (respPlanOfEntries'
// extra): ok false when it does not fit.
func respPlanKey(dst []byte, rc *llmgatev1.RequestContext, translated bool) ([]byte, bool) {
	var flags byte
	if rc.Stream {
		flags |= 1
	}
	if rc.IncludeUsage {
		flags |= 2
	}
	if len(rc.FallbackKinds) > 0 {
		flags |= 4
	}
	if translated {
		flags |= 8
	}
	str := func(b []byte, s string) []byte {
		b = binary.AppendUvarint(b, uint64(len(s)))
		return append(b, s...)
	}
	b := append(dst, flags)
	b = str(b, rc.RequestedModel)
	b = binary.AppendUvarint(b, uint64(len(rc.Attempts)))
	for _, a := range rc.Attempts {
		b = str(b, a.DeploymentId)
		b = str(b, a.Model)
		b = str(b, a.ModelGroup)
		b = binary.AppendUvarint(b, uint64(a.Retry))
		b = binary.AppendUvarint(b, uint64(a.FallbackIndex))
	}
	// The context's response headers by name (a map: any order).
	if len(rc.ResponseHeaders) > 8 {
		return nil, false
	}
	var names [8]string
	ns := names[:0]
	for k := range rc.ResponseHeaders {
		ns = append(ns, k)
	}
	slices.Sort(ns)
	b = binary.AppendUvarint(b, uint64(len(ns)))
	for _, k := range ns {
		b = str(b, k)
		b = str(b, rc.ResponseHeaders[k])
	}
	return b, len(b) <= respPlanKeyMax
}

// plan is the request's answer plan from the cache (nil: not cached).
func (c *respPlanCache) plan(rc *llmgatev1.RequestContext, translated bool, extra [][2]string) *RespPlan {
	var kb [respPlanKeyMax + 64]byte
	k, ok := respPlanKey(kb[:0], rc, translated)
	if !ok {
		return nil
	}
	c.mu.RLock()
	e := c.m[string(k)]
	c.mu.RUnlock()
	if e == nil {
		return nil
	}
	cp := new(respPlanCopy)
	p := &cp.plan
	common := cp.common[:0]
	if n := len(e.common) + len(extra); n > len(cp.common) {
		common = make([][2]string, 0, n)
	}
	common = append(append(common, e.common...), extra...)
	common[e.callAt][1] = rc.CallId
	common[e.overAt][1] = overheadHeader(rc)
	p.Common = common[:len(common):len(common)]
	p.Entries = e.entries
	p.StartMs, p.Stream, p.Usage = rc.StartUnixNano/1e6, e.stream, e.usage
	return p
}

// put keeps p, the answer plan respPlanOfEntries built for rc with extra,
// for the next requests of its order: when its common headers hold rc's
// call id and overhead (the context's response headers may name them too:
// then it is not kept).
func (c *respPlanCache) put(rc *llmgatev1.RequestContext, translated bool, extra [][2]string, p *RespPlan) {
	var kb [respPlanKeyMax + 64]byte
	k, ok := respPlanKey(kb[:0], rc, translated)
	if !ok || len(p.Common) < len(extra) {
		return
	}
	c.mu.RLock()
	full := len(c.m) >= respPlanCacheMax
	c.mu.RUnlock()
	if full {
		return
	}
	common := p.Common[:len(p.Common)-len(extra)]
	callAt, overAt := -1, -1
	for i, kv := range common {
		switch {
		case kv[0] == "x-litellm-call-id" && kv[1] == rc.CallId && callAt < 0:
			callAt = i
		case kv[0] == "x-litellm-overhead-duration-ms" && overAt < 0:
			overAt = i
		}
	}
	if callAt < 0 || overAt < 0 || common[overAt][1] != overheadHeader(rc) {
		return
	}
	for _, kv := range common {
		if kv[0] == "x-litellm-call-id" && kv[1] != rc.CallId || kv[0] == "x-litellm-overhead-duration-ms" && kv[1] != common[overAt][1] {
			return
		}
	}
	for _, en := range p.Entries {
		for _, kv := range en.Headers {
			if kv[0] == "x-litellm-call-id" || kv[0] == "x-litellm-overhead-duration-ms" {
				return // (per entry: not the common layout this copies)
			}
		}
	}
	e := &cachedRespPlan{common: slices.Clone(common), callAt: callAt, overAt: overAt, entries: p.Entries, stream: p.Stream, usage: p.Usage}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*cachedRespPlan{}
	}
	if len(c.m) < respPlanCacheMax {
		c.m[string(k)] = e
	}
}

// quietPlan reports whether a module-served request's first-try success is
// read by nobody in the gateway (D124): the config's counts, latencies and
// budgets do not read it (State.successesUnread), no sink of the outcome
// bus listens (callbacks, metrics; the spend sink, which reads only what
// keys.MaySpend names), the request tracks no usage, and no key, team,
// user or customer is charged for it. Its outcome record
// would be joined and reported for nothing: the module leaves it out (a
// failed try, a retried or fallen-back request, any status from 300 up
// still writes one; dynmod/response_outcome.go). A new reader of
// successes must clear successesUnread or this.
func (s *Server) quietPlan(st *State, rc *llmgatev1.RequestContext) bool {
	return st.successesUnread && !rc.TrackUsage && !rc.TrackEnd && !rc.KeyParallel && rc.UserId == "" &&
		!keys.MaySpend(rc.KeyHash, rc.TeamId, rc.EndUser) && !s.Outcomes.ActiveBesides(keys.SpendSink)
}
