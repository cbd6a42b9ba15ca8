package main

/*
#include "hooks.h"
*/
import "C"

import (
	"encoding/json"
	"maps"
	"os"
	"sync"
	"time"

	"github.com/llmgate/llmgate/extproc"
)

// What Go needs of a stream's next hooks (docs/architecture.md D81): the C
// hooks (hooks.c) enter Go only for the calls the stream's mask names and
// answer the others as the Go hook would have — continue, or buffer while a
// body is held whole. The mask is derived from the stream's state after
// every Go hook, so the files that change the state (translate.go,
// spacing.go, limits*.go, response*.go) need not know about it.

// syncHooks sets stream m's mask from its state.
func syncHooks(m C.uintptr_t) {
	i := int(m) - 1
	if i < 0 || i >= maxStreams {
		return
	}
	s := streamOf(m)
	if s == nil {
		C.llmgate_go_hooks[i] = C.HK_ALL
		return
	}
	C.llmgate_go_hooks[i] = C.uint16_t(hookMask(s))
}

// hookMask is what Go needs of the stream's next hooks.
func hookMask(s *stream) uint16 {
	var k uint16
	if s.spacing != nil || s.inflight != nil || s.keySlots != nil {
		k |= C.HK_DESTROY // a timer, a scheduler, a count in flight or a key's slots to release
	}
	if s.cfg.upstream {
		// A try (upstream.go): a translated try needs every body call; a
		// spaced try's body waits while it is held; a held success buffers
		// until its end, which continues; anything else passes.
		switch {
		case s.mt != nil:
			k |= C.HK_REQ_BODY | C.HK_RESP_HEADERS | C.HK_RESP_BODY
		case s.spacing != nil:
			k |= C.HK_REQ_BODY | C.HK_RESP_HEADERS
		case s.hold:
			// C holds a success or lets the answer pass (hooks.c up_hold,
			// D114): no Go for the try's answer.
			k |= C.HK_RESP_HOLD_UP | C.HK_RESP_BODY_BUFFER
			if s.link.idx != 0 {
				k |= C.HK_RESP_ANSWER_UP // its answer's work at its end (answer.go, D144)
			}
		}
		return k
	}
	// The listener's filter: every answer's headers (x-envoy-attempt-count
	// removed, a fast answer's headers) and its end (the outcome record).
	// A served fast request's JSON answer is held by C at its headers, whose
	// work Go does at the body's end (hooks.c json_hold, D114).
	if !s.resp.recorded {
		k |= C.HK_COMPLETE // (a JSON answer's record is written at its end, D114)
	}
	switch p := s.resp.plan; {
	case s.resp.answered:
		k |= C.HK_RESP_ANSWERED // its try did the answer's work (answer.go, D144)
	case p != nil && !p.Stream:
		k |= C.HK_RESP_HOLD_JSON
	default:
		k |= C.HK_RESP_HEADERS
	}
	if s.serving != nil {
		// The body is buffered until it is whole, then served.
		k |= C.HK_REQ_BODY_EOS | C.HK_REQ_BODY_BUFFER | C.HK_REQ_TRAILERS
	}
	switch {
	case s.resp.stream != nil, s.resp.usageScan, s.resp.usageStream != nil:
		k |= C.HK_RESP_BODY | C.HK_RESP_TRAILERS // every event (or chunk, D87) is read
	case s.resp.json:
		k |= C.HK_RESP_BODY_EOS | C.HK_RESP_BODY_BUFFER | C.HK_RESP_TRAILERS // held whole, read at its end
	case !s.resp.try.firstByte.IsZero() && !s.resp.try.done:
		k |= C.HK_RESP_BODY_EOS | C.HK_RESP_TRAILERS // its last byte's time
	}
	return k
}

// deferredHeaders reports whether C held stream m's answer at its headers
// and left their work to Go at the body's end (HK_RESP_DEFERRED, D114).
func deferredHeaders(m C.uintptr_t) bool {
	i := int(m) - 1
	if i < 0 || i >= maxStreams {
		return false
	}
	k := C.llmgate_go_hooks[i]
	return k&C.HK_RESP_DEFERRED != 0 && k&C.HK_RESP_HEADERS == 0
}

// heldAnswer is what C read of an answer it held at its headers
// (json_hold, D134): Go's deferred work does not read those headers again.
type heldAnswer struct {
	ok              bool
	status, attempt int
	// atTry: the headers are the try's (answerAtTry, D144), which the
	// router's attempt count is not on yet.
	atTry bool
}

// heldAnswerOf is stream m's held answer; call only when deferredHeaders(m).
func heldAnswerOf(m C.uintptr_t) heldAnswer {
	i := int(m) - 1
	if i < 0 || i >= maxStreams {
		return heldAnswer{}
	}
	v := uint32(C.llmgate_held_answer[i])
	return heldAnswer{ok: true, status: int(v >> 16), attempt: int(v & 0xffff)}
}

// The bounds C holds answers by are Go's (a compile error otherwise).
const (
	_ = uint(C.LLMGATE_MAX_HELD_BODY-maxHeldBody) + uint(maxHeldBody-C.LLMGATE_MAX_HELD_BODY)
	_ = uint(C.LLMGATE_MAX_RESP_BODY-extproc.MaxRespBody) + uint(extproc.MaxRespBody-C.LLMGATE_MAX_RESP_BODY)
)

// hookNames are the counters' hooks, in the order of hooks.h's LLMGATE_H_*.
var hookNames = [C.LLMGATE_NHOOKS]string{"new", "request_headers", "request_body", "request_trailers",
	"response_headers", "response_body", "response_trailers", "stream_complete", "destroy"}

// callbackCounts are some of Go's calls into Envoy, by kind and name, for
// LLMGATE_MODULE_HOOK_COUNTS (D134): the response headers Go reads, its
// header-operation calls on the response.
var callbackCounts = namedCounts{m: map[string]map[string]uint64{}}

// countingHooks: LLMGATE_MODULE_HOOK_COUNTS is set.
func countingHooks() bool { return C.llmgate_count_hooks != 0 }

type namedCounts struct {
	mu sync.Mutex
	m  map[string]map[string]uint64
}

func (c *namedCounts) add(kind, name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m[kind] == nil {
		c.m[kind] = map[string]uint64{}
	}
	c.m[kind][name]++
}

func (c *namedCounts) snapshot() map[string]map[string]uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]map[string]uint64, len(c.m))
	for k, names := range c.m {
		out[k] = maps.Clone(names)
	}
	return out
}

// HookCounts is what LLMGATE_MODULE_HOOK_COUNTS=<file> makes the module
// write to that file every 50 ms: by filter ("listener", "upstream"), the
// calls Envoy made of each hook ("calls") and those that entered Go ("go").
// A diagnostic (and the e2e test of D81); off unless the variable is set.
type HookCounts map[string]map[string]map[string]uint64

func init() {
	path := os.Getenv("LLMGATE_MODULE_HOOK_COUNTS")
	if path == "" {
		return
	}
	C.llmgate_count_hooks = 1
	go func() {
		for range time.Tick(50 * time.Millisecond) {
			hc := HookCounts{}
			for kind, name := range []string{"listener", "upstream"} {
				calls, gone := map[string]uint64{}, map[string]uint64{}
				for h, hn := range hookNames {
					calls[hn] = uint64(C.llmgate_hook_calls[kind][h])
					gone[hn] = uint64(C.llmgate_hook_go[kind][h])
				}
				hc[name] = map[string]map[string]uint64{"calls": calls, "go": gone}
			}
			// The outcome records written and left out (response_outcome.go, D124).
			hc["outcomes"] = map[string]map[string]uint64{"records": {"put": outcomeCounts.put.Load(), "quiet": outcomeCounts.quiet.Load(), "spend": outcomeCounts.spend.Load()}}
			hc["callbacks"] = callbackCounts.snapshot()
			b, _ := json.Marshal(hc)
			tmp := path + ".tmp"
			if os.WriteFile(tmp, b, 0o600) == nil {
				_ = os.Rename(tmp, path)
			}
		}
	}()
}
