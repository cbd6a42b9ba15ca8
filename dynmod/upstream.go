package main

/*
#include "dm.h"
*/
import "C"

import (
	"bytes"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/llmgate/llmgate/extproc"
	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/model"
	"github.com/llmgate/llmgate/xds"
)

// The module as every try's upstream filter (module mode,
// docs/architecture.md D55): the router's one upstream filter chain runs it
// before the attempt filter's composite, for every cluster. On a fast try
// (the request filter wrote llmgate.ctx "ep", D70) of a fast-path deployment's
// cluster it does what the cluster's own Lua, header_mutation and
// credential_injector did: the try's :path (by endpoint) and :authority,
// the internal and other providers' key headers removed, content-type and
// the provider key set — the key from the config the module holds, so it
// never appears in Envoy's config. On the way back it holds a success until
// its body is whole, so that a connection that drops mid-body is a reset
// the router retries (D6). Any other try passes untouched (the attempt
// filter does its work) but for the spacing of a retry on the same
// deployment (spacing.go, D59; one filter since D60).

// upTable is the deployments of the config in force: deployment id → what
// a fast try of it gets, computed on its first fast try (D62: not for
// every deployment on every table). Built from the request filter's table
// (table.go); a reload keeps the previous config's clusters for the tries
// planned under it.
var (
	upTable atomic.Pointer[map[string]*upEntry]
	upMu    sync.Mutex
	upOwn   map[string]*upEntry // the config in force's own clusters (under upMu)
)

// notLoadedBody answers a fast try the module cannot serve yet.
const notLoadedBody = `{"error":{"message":"llmgate: the gateway is starting (its data plane has not loaded the config yet); try again","type":"service_unavailable","param":null,"code":"503"}}`

type upEntry struct {
	d    *model.Deployment
	once sync.Once
	try  *xds.UpstreamTry // nil: not a fast-path deployment
}

func (e *upEntry) get() *xds.UpstreamTry {
	if e == nil {
		return nil
	}
	e.once.Do(func() { e.try = xds.ModuleUpstreamTry(e.d) })
	return e.try
}

// applyUpstream builds the upstream table of a config the module applied.
func applyUpstream(m *extproc.ModuleFilter) {
	ds := m.Model().Deployments
	next := make(map[string]*upEntry, len(ds))
	for _, d := range ds {
		if !d.AnyProvider {
			next[d.ID] = &upEntry{d: d}
		}
	}
	upMu.Lock()
	defer upMu.Unlock()
	all := make(map[string]*upEntry, len(next)+len(upOwn))
	for k, v := range upOwn {
		all[k] = v // the previous config's, for tries planned under it
	}
	for k, v := range next {
		all[k] = v
	}
	upOwn = next
	upTable.Store(&all)
	noteManyHosts(ds) // (hostcluster.go, D86)
	applyTranslate(m) // translated deployments' clusters (translate.go)
}

// maxHeldBody is the largest success (by content-length) held whole.
const maxHeldBody = 4 << 20

func onUpstreamRequestHeaders(s *stream, f C.uintptr_t) int {
	s.hold = false
	fast := false
	defer func() {
		if !fast {
			// The listener's marker never reaches a provider: a fast try
			// removes it with its other headers (xds.ModuleUpstreamTry),
			// any other try here (D105; before, a header-mutation filter
			// built for every request removed it before the router).
			removeHeader(f, contract.ModuleHeader)
		}
	}()
	if !manyHostsTry(f) {
		return reqHeadersStopIteration // not its deployment's host (hostcluster.go, D86)
	}
	ep, ok := getDynamicString(f, contract.ContextMetadataNamespace, contract.FastEndpointKey)
	if !ok {
		// Not fast: the attempt filter does the try's work; a plan that
		// retries a deployment on itself (never a fast one) is spaced.
		if !countSlowTry(s, f) {
			return reqHeadersStopIteration // at max_parallel_requests (limits_inflight.go, D77)
		}
		return spacingRequestHeaders(s, f)
	}
	t := upTable.Load()
	if t == nil {
		// A fast try before the module applied any config: nobody would set
		// its path, host and key, or remove the client's and the internal
		// headers. Refused, never sent as it is (readiness says "starting"
		// until the config is applied).
		sendResponse(f, 503, notLoadedBody, "llmgate_module_not_loaded")
		return reqHeadersStopIteration
	}
	cl, ok := attrString(f, attrClusterName)
	if !ok {
		return reqHeadersContinue
	}
	id, ok := tryDeployment(f, cl) // (hostcluster.go, D62)
	if !ok {
		return reqHeadersContinue
	}
	ue := (*t)[string(id)]
	if ue != nil && !limitTry(s, f, ue.d) {
		return reqHeadersStopIteration // at a limit (limits.go, D67; limits_inflight.go, D77)
	}
	e := ue.get()
	if e == nil {
		return translateRequestHeaders(s, f, string(cl)) // translate.go
	}
	p := e.Paths[string(ep)]
	if p == "" {
		p = e.Paths["chat"]
	}
	// The header operations in one call (hdrops.go, D87).
	var opsBuf [hdrOpsSize]byte
	ops := setOp(opsBuf[:0], ":path", p)
	ops = setOp(ops, ":authority", e.Authority)
	for _, h := range e.Remove {
		ops = removeOp(ops, h)
	}
	for _, kv := range e.Set {
		ops = setOp(ops, kv[0], kv[1])
	}
	readLink(s, f) // (answer.go, D144; before the attempt count is removed)
	applyOps(f, hdrRequest, ops)
	fast = true // (e.Remove has the marker)
	s.hold = true
	return reqHeadersContinue
}

// onUpstreamResponseHeaders holds a fast try's success (2xx/3xx, not a
// stream, at most maxHeldBody) until its body is whole.
func onUpstreamResponseHeaders(s *stream, f C.uintptr_t, eos bool) int {
	if s.mt != nil {
		return translateResponseHeaders(s, f, eos)
	}
	if !s.hold || eos {
		s.hold = false
		return respHeadersContinue
	}
	s.hold = false
	st, _ := getRespHeader(f, ":status")
	code, err := strconv.Atoi(string(st))
	if err != nil || code < 200 || code >= 400 {
		return respHeadersContinue
	}
	if ct, ok := getRespHeader(f, "content-type"); ok && bytes.HasPrefix(bytes.TrimSpace(ct), []byte("text/event-stream")) {
		return respHeadersContinue // a stream passes as it comes
	}
	if cl, ok := getRespHeader(f, "content-length"); ok {
		if n, err := strconv.ParseInt(string(cl), 10, 64); err == nil && n > maxHeldBody {
			return respHeadersContinue
		}
	}
	s.hold = true
	return respHeadersStopIteration
}

func onUpstreamResponseBody(s *stream, f C.uintptr_t, eos bool) int {
	if s.mt != nil {
		return translateResponseBody(s, f, eos)
	}
	if !s.hold || eos {
		s.hold = false
		return respBodyContinue
	}
	return respBodyStopAndBuffer
}
