package main

// The spacing of retries (docs/architecture.md D59, D60): part of the
// module's per-try upstream filter (upstream.go). On a request whose plan
// retries a deployment on itself (the request filter wrote the try timeout
// and LiteLLM's waits into llmgate.ctx) it holds a retried try for LiteLLM's
// wait, unless the previous try's response already carried the wait as
// Retry-After; then it runs the try's timeout from the moment the try goes
// out and, when no response headers came in time, answers the router a 408
// with LiteLLM's Timeout error, which the attempt filter marks retriable as
// a provider's 408 (TimeoutErrorRetries). Envoy resets the provider's stream
// and retries; the last try's 408 is the client's answer. Envoy's own per-try timer, which
// starts before the upstream filters, is set longer (the request filter
// adds the longest wait) and stays the backstop. A fast try (never spaced: a
// fast plan does not retry a deployment on itself) reads nothing for it;
// every other try one metadata string.

/*
#include "dm.h"
uintptr_t envoy_dynamic_module_callback_http_filter_scheduler_new(uintptr_t f);
void envoy_dynamic_module_callback_http_filter_scheduler_delete(uintptr_t s);
void envoy_dynamic_module_callback_http_filter_scheduler_commit(uintptr_t s, uint64_t id);
void envoy_dynamic_module_callback_http_filter_continue_decoding(uintptr_t f);
void envoy_dynamic_module_callback_http_send_response_headers(uintptr_t f, dm_hdr* headers, size_t n, bool end_stream);
void envoy_dynamic_module_callback_http_send_response_data(uintptr_t f, dm_buf data, bool end_stream);
bool envoy_dynamic_module_callback_http_get_metadata_string(uintptr_t f, int source, dm_buf ns, dm_buf key, dm_buf* result);
*/
import "C"

import (
	"runtime"
	"strconv"
	"sync"
	"time"
	"unsafe"

	"github.com/llmgate/llmgate/extproc"
	"github.com/llmgate/llmgate/internal/contract"
)

func init() {
	// In the module the request filter knows the spacing filter is there.
	extproc.EnableModuleSpacing()
}

// Events of the spacing filter's scheduler.
const (
	spacingRelease = 1 // the wait is over: let the try go out
	spacingExpired = 2 // the try's timeout passed without response headers
)

// spacingTry is one spaced try's state. Timers run on Go's threads; what
// touches Envoy runs in the scheduled hook on the worker thread.
type spacingTry struct {
	mu      sync.Mutex
	sched   C.uintptr_t // 0 once destroyed
	held    bool
	done    bool // response headers came, the filter answered, or the try ended
	timer   *time.Timer
	timeout time.Duration
	group   string // for LiteLLM's message
}

func metadataString(f C.uintptr_t, ns, key string) (string, bool) {
	var out C.dm_buf
	if !bool(C.envoy_dynamic_module_callback_http_get_metadata_string(f, 0, buf(ns), buf(key), &out)) {
		return "", false
	}
	return string(view(out.ptr, out.length)), true
}

// spacingHold is LiteLLM's wait before try i (0-based) from the request
// filter's list, 0 when the previous try's response carried it already.
func spacingHold(f C.uintptr_t, holds string, i int) time.Duration {
	if i <= 0 {
		return 0
	}
	ms := -1
	for n, start, j := 0, 0, 0; j <= len(holds); j++ {
		if j == len(holds) || holds[j] == ',' {
			if n == i {
				ms, _ = strconv.Atoi(holds[start:j])
				break
			}
			n, start = n+1, j+1
		}
	}
	if ms <= 0 {
		return 0
	}
	if after, ok := metadataString(f, contract.SpacedMetadataNamespace, contract.SpacingAfterKey); ok && after == strconv.Itoa(i-1) {
		return 0 // spaced by the Retry-After the attempt filter added (D3)
	}
	return time.Duration(ms) * time.Millisecond
}

func spacingRequestHeaders(s *stream, f C.uintptr_t) int {
	tms, ok := metadataString(f, contract.ContextMetadataNamespace, contract.SpacingTimeoutKey)
	if !ok {
		return reqHeadersContinue
	}
	timeout, err := strconv.Atoi(tms)
	holds, _ := metadataString(f, contract.ContextMetadataNamespace, contract.SpacingHoldsKey)
	ac, _ := getHeader(f, "x-envoy-attempt-count")
	attempt, err2 := strconv.Atoi(string(ac))
	if err != nil || err2 != nil || timeout <= 0 || attempt < 1 {
		return reqHeadersContinue
	}
	i := attempt - 1
	group, _ := metadataString(f, contract.ContextMetadataNamespace, "group")
	t := &spacingTry{timeout: time.Duration(timeout) * time.Millisecond, group: group,
		sched: C.envoy_dynamic_module_callback_http_filter_scheduler_new(f)}
	s.spacing = t
	t.mu.Lock()
	defer t.mu.Unlock()
	if hold := spacingHold(f, holds, i); hold > 0 {
		t.held = true
		t.timer = time.AfterFunc(hold, func() { t.commit(spacingRelease) })
		return reqHeadersStopIteration
	}
	t.arm()
	return reqHeadersContinue
}

// arm starts the try's timeout; t.mu held.
func (t *spacingTry) arm() {
	t.timer = time.AfterFunc(t.timeout, func() { t.commit(spacingExpired) })
}

// commit hands an event to the worker thread unless the try is over.
func (t *spacingTry) commit(ev uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.done && t.sched != 0 {
		C.envoy_dynamic_module_callback_http_filter_scheduler_commit(t.sched, C.uint64_t(ev))
	}
}

func spacingRequestBody(s *stream) int {
	if t := s.spacing; t != nil {
		t.mu.Lock()
		held := t.held
		t.mu.Unlock()
		if held {
			return reqBodyStopAndBuffer
		}
	}
	return reqBodyContinue
}

func spacingResponseHeaders(s *stream) {
	if t := s.spacing; t != nil {
		t.finish()
	}
}

// finish ends the try's timers.
func (t *spacingTry) finish() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.done = true
	if t.timer != nil {
		t.timer.Stop()
	}
}

func spacingScheduled(s *stream, f C.uintptr_t, ev uint64) {
	t := s.spacing
	t.mu.Lock()
	if t.done {
		t.mu.Unlock()
		return
	}
	switch ev {
	case spacingRelease:
		t.held = false
		t.arm()
		t.mu.Unlock()
		C.envoy_dynamic_module_callback_http_filter_continue_decoding(f)
	case spacingExpired:
		t.done = true
		t.mu.Unlock()
		answerTimeout(f, t)
	default:
		t.mu.Unlock()
	}
}

func spacingDestroy(s *stream) {
	t := s.spacing
	s.spacing = nil
	t.mu.Lock()
	defer t.mu.Unlock()
	t.done = true
	if t.timer != nil {
		t.timer.Stop()
	}
	if t.sched != 0 {
		C.envoy_dynamic_module_callback_http_filter_scheduler_delete(t.sched)
		t.sched = 0
	}
}

// answerTimeout answers the router for a try whose timeout passed: LiteLLM's
// Timeout (408).
func answerTimeout(f C.uintptr_t, t *spacingTry) {
	// The attempt filter, which every error response of a try meets (the
	// fast path's from the response on), decides the retry as for a
	// provider's 408: retry_policy's TimeoutErrorRetries, else num_retries.
	hs := [][2]string{{":status", "408"}, {"content-type", "application/json"}, {contract.SpacingTimeoutHeader, "1"}}
	body := extproc.TimeoutErrorBody(t.group)
	var arr [3]C.dm_hdr
	var pin runtime.Pinner
	defer pin.Unpin()
	for i, kv := range hs {
		pin.Pin(unsafe.StringData(kv[0]))
		pin.Pin(unsafe.StringData(kv[1]))
		arr[i] = C.dm_hdr{key_ptr: (*C.char)(unsafe.Pointer(unsafe.StringData(kv[0]))), key_length: C.size_t(len(kv[0])),
			value_ptr: (*C.char)(unsafe.Pointer(unsafe.StringData(kv[1]))), value_length: C.size_t(len(kv[1]))}
	}
	C.envoy_dynamic_module_callback_http_send_response_headers(f, &arr[0], C.size_t(len(hs)), false)
	C.envoy_dynamic_module_callback_http_send_response_data(f, bufb(body), true)
}
