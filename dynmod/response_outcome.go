package main

/*
#cgo noescape envoy_dynamic_module_callback_http_filter_get_attribute_int
#cgo nocallback envoy_dynamic_module_callback_http_filter_get_attribute_int
#cgo noescape envoy_dynamic_module_callback_http_filter_get_attribute_string
#cgo nocallback envoy_dynamic_module_callback_http_filter_get_attribute_string

#include "dm.h"
#include "hooks.h"

bool envoy_dynamic_module_callback_http_filter_get_attribute_int(uintptr_t f, int id, uint64_t* result);
bool envoy_dynamic_module_callback_http_filter_get_attribute_string(uintptr_t f, int id, dm_buf* result);
bool envoy_dynamic_module_callback_http_get_header(uintptr_t f, int header_type, dm_buf key, dm_buf* result, size_t index, size_t* optional_size);
*/
import "C"

import (
	"context"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/llmgate/llmgate/extproc"
	"github.com/llmgate/llmgate/internal/contract"
)

// Outcomes from the module (docs/architecture.md D54, D63): when a planned
// request completes, the module appends one record to an in-process outbox
// (a mutex-guarded slice: no goroutine is woken per request); a goroutine
// ships it every 20 ms to the gateway as Envoy's own entries would come
// (extproc.AppendOutcomes) and keeps each record until the gateway
// acknowledges it, so that the listener needs no per-request outcome entry,
// and Envoy logs only the tries that did not succeed.

// Attribute ids of the ABI (envoy_dynamic_module_type_attribute_id).
const (
	attrUpstreamAttempts = 53 // upstream.request_attempt_count
	attrClusterName      = 57 // xds.cluster_name
)

func attrInt(f C.uintptr_t, id int) (uint64, bool) {
	var v C.uint64_t
	ok := C.envoy_dynamic_module_callback_http_filter_get_attribute_int(f, C.int(id), &v)
	return uint64(v), bool(ok)
}

func attrString(f C.uintptr_t, id int) ([]byte, bool) {
	var out C.dm_buf
	if !bool(C.envoy_dynamic_module_callback_http_filter_get_attribute_string(f, C.int(id), &out)) {
		return nil, false
	}
	return view(out.ptr, out.length), true
}

func getReqHeader(f C.uintptr_t, key string) ([]byte, bool) {
	if countingHooks() {
		callbackCounts.add("request_header_reads", key)
	}
	var out C.dm_buf
	if !bool(C.envoy_dynamic_module_callback_http_get_header(f, hdrRequest, buf(key), &out, 0, nil)) {
		return nil, false
	}
	return view(out.ptr, out.length), true
}

// requestID is the request's x-request-id: as the module read it with the
// headers of a request it served (stream.reqID), else read from Envoy (a
// call into Envoy, a header map lookup and a copy at every record: 0.4 %
// of a keyed load's Envoy samples, D154).
func requestID(s *stream, f C.uintptr_t) string {
	if s.reqID != "" {
		return s.reqID
	}
	id, _ := getReqHeader(f, "x-request-id")
	return string(id)
}

// outcomeTry is what the response side saw of a fast request's answering
// try (respState.try).
type outcomeTry struct {
	status              int
	firstByte, lastByte time.Time
	done                bool // the answer passed to its end
	headers             [][2]string
}

// onStreamComplete records a planned request's outcome. f is the
// listener's filter, or the answering try's when the answer's work is done
// at the try's end (answer.go, D144: x-request-id and the cluster are read
// there as well, the attempt count is the try's own).
func onStreamComplete(s *stream, f C.uintptr_t) {
	if s == nil {
		return
	}
	var id string
	var haveID bool
	var streamErr streamErr
	if streamErrs.n.Load() > 0 { // forgotten even when no record is written
		id, haveID = requestID(s, f), true
		streamErr = takeStreamError(unsafe.Slice(unsafe.StringData(id), len(id)))
	}
	if s.cfg.outcomes == nil {
		return
	}
	// The context as the module wrote it when it served the request (D105),
	// else as the ext_proc filter did.
	ctx := s.resp.ctx
	if ctx == "" {
		b, planned := getDynamicString(f, contract.ContextMetadataNamespace, "ctx")
		if !planned || len(b) == 0 {
			return
		}
		ctx = string(b)
	}
	o := extproc.ModuleOutcome{Begin: s.resp.begin, End: time.Now(), Ctx: "-"}
	if s.resp.tryAttempt > 0 {
		o.Attempts = s.resp.tryAttempt // written at the try's end (answer.go, D144)
	} else if n, ok := attrInt(f, attrUpstreamAttempts); ok {
		o.Attempts = int(min(n, 1<<16))
	}
	var cluster []byte
	o.Fast = s.resp.plan != nil
	if !o.Fast {
		_, o.Fast = getDynamicString(f, contract.FastAnswerMetadataNamespace, extproc.RespPlanKey)
	}
	if o.Fast && streamErr.status == 0 {
		streamErr = passThroughStreamError(s)
	}
	if o.Fast {
		o.Ctx = ctx
		o.Usage = s.resp.usage
		t := &s.resp.try
		if !t.done && streamErr.status != 0 && !t.firstByte.IsZero() {
			// The provider's error ended the answer, even when the client
			// closed at the error chunk before the provider's end of stream
			// (the official SDKs do): the try failed (D71).
			t.done, t.lastByte = true, time.Now()
		}
		if t.done {
			if cl, ok := attrString(f, attrClusterName); ok && len(cl) > 0 {
				o.Answered, o.Status = true, t.status
				cluster = cl // (copied once the record is known to be written)
				o.FirstByte, o.LastByte, o.Headers = t.firstByte, t.lastByte, t.headers
				if streamErr.status != 0 {
					// A translated stream that ended in the provider's error
					// (response_streamerr.go): the try failed, of the
					// translator's class.
					o.Status, o.Class = streamErr.status, streamErr.class
				}
			}
		}
	}
	p := s.resp.plan
	firstSuccess := p != nil && o.Answered && o.Attempts == 1 && o.Status >= 200 && o.Status < 300 && streamErr.status == 0
	if firstSuccess && p.Quiet {
		// A first-try success nobody in the gateway reads (D124): no
		// record to join and report.
		if C.llmgate_count_hooks != 0 {
			outcomeCounts.quiet.Add(1)
		}
		return
	}
	// A first-try success only the spend sink reads: a compact spend
	// record, taken without the join (D145).
	o.SpendOnly = firstSuccess && p.SpendOnly
	// A first-try success the gateway's other sinks read: a compact record
	// with its headers, reported as the join would (D177).
	o.Observed = firstSuccess && p.Observed
	// The request id and the cluster are copied only for a record written
	// (a quiet success read neither, D153).
	o.Cluster = string(cluster) // (before another call into Envoy)
	if !haveID {
		id = requestID(s, f)
	}
	o.RequestID = id
	s.cfg.outcomes.Put(o)
	if C.llmgate_count_hooks != 0 {
		outcomeCounts.put.Add(1)
		if o.SpendOnly {
			outcomeCounts.spend.Add(1)
		}
	}
}

// outcomeCounts are the records written (spend: of them compact spend
// records) and left out, for LLMGATE_MODULE_HOOK_COUNTS (hookmask.go).
var outcomeCounts struct{ put, quiet, spend atomic.Uint64 }

// outbox is the module's side of the outcome stream (extproc.Outbox,
// docs/architecture.md D63): records are kept until the gateway
// acknowledges them.
type outbox = extproc.Outbox

func newOutbox(ctx context.Context, socket, spillDir string) *outbox {
	return extproc.NewOutbox(ctx, socket, spillDir, func(msg string) { envoyLog(logWarn, msg) })
}
