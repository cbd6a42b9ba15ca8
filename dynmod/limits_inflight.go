package main

/*
#include "dm.h"
*/
import "C"

import (
	"sync/atomic"

	"github.com/llmgate/llmgate/extproc"
	"github.com/llmgate/llmgate/internal/model"
)

// Tries in flight in the module's upstream filter (docs/architecture.md
// D77, extproc/modulelimits_inflight.go): every try of a deployment with
// max_parallel_requests (or of every deployment under least-busy) is
// counted when it goes out, refused at the limit with the attempt filter's
// 429, and released when Envoy destroys the try's filter.

// inflightFilter is the applied config's filter when it counts tries (nil:
// none counts).
var inflightFilter atomic.Pointer[extproc.ModuleFilter]

// useInFlight records whether the applied filter m counts tries.
func useInFlight(m *extproc.ModuleFilter) {
	if m.CountsAnyTry() {
		inflightFilter.Store(m)
	} else {
		inflightFilter.Store(nil)
	}
}

// countTry counts a try of deployment d; false when it was refused (the
// client has the 429).
func countTry(s *stream, f C.uintptr_t, d *model.Deployment) bool {
	m := inflightFilter.Load()
	if m == nil || !m.CountsTry(d) {
		return true
	}
	var callID string
	if v, ok := getHeader(f, "x-request-id"); ok {
		callID = string(v)
	}
	c, r := leases.Acquire(d, callID)
	if r != nil {
		sendReply(f, r)
		return false
	}
	s.inflight = c
	return true
}

// limitTry counts a fast try of deployment d (in flight, then its rpm
// lease: limits.go); false when it was refused.
func limitTry(s *stream, f C.uintptr_t, d *model.Deployment) bool {
	if !countTry(s, f, d) {
		return false
	}
	if !leaseTry(f, d) {
		releaseTry(s)
		return false
	}
	return true
}

// countSlowTry counts a try that is not fast (the attempt filter serves
// it): in flight, and to its deployment's rpm lease when the module holds
// one with allowance left (marked for the attempt filter, which then counts
// nothing: extproc/modulelimits_leased.go); false when it was refused. Its
// deployment is llmgate.ctx "d" at the try's attempt number, or its
// cluster's own.
func countSlowTry(s *stream, f C.uintptr_t) bool {
	if _, ok := getHeader(f, extproc.LeasedTryHeader); ok {
		removeHeader(f, extproc.LeasedTryHeader) // only the module marks a try
	}
	counting := inflightFilter.Load() != nil
	if !counting && !leases.Any() {
		return true
	}
	t := upTable.Load()
	if t == nil {
		return true
	}
	cl, ok := attrString(f, attrClusterName)
	if !ok {
		return true
	}
	id, ok := tryDeployment(f, cl)
	if !ok {
		return true
	}
	ue := (*t)[string(id)]
	if ue == nil {
		return true
	}
	if counting && !countTry(s, f, ue.d) {
		return false
	}
	if ue.d.Limits.RPM > 0 && leases.ChargeSlowTry(ue.d.ID) {
		setHeader(f, extproc.LeasedTryHeader, "1")
	}
	return true
}

// releaseTry ends the try's count (the filter's destroy hook).
func releaseTry(s *stream) {
	if s.inflight != nil {
		leases.Release(s.inflight)
		s.inflight = nil
	}
}
