package main

/*
#cgo noescape llmgate_set_answer_ops
#cgo nocallback llmgate_set_answer_ops

#include "hooks.h"
*/
import "C"

import (
	"strconv"
	"time"
	"unsafe"

	"github.com/llmgate/llmgate/extproc"
	"github.com/llmgate/llmgate/internal/contract"
)

// One hold instead of two (docs/architecture.md D144). A fast try already
// holds its success whole (upstream.go, D6); the listener held it again to
// do the answer's work (the plan entry's x-litellm-* headers, the cost, the
// model restamped, the outcome record: response.go). For a served request
// whose answer is JSON, the listener now links its fast tries to its slot
// (a field of llmgate.ctx, read by the try at its request headers), and the
// try that holds a 2xx JSON success does that work at its end on its own
// answer, with the listener's plan: the listener's answer then passes
// without a hold, and none of it enters Go (C applies the header
// operations the try left for it, hooks.c HK_RESP_ANSWERED).
//
// Everything else is the listener's as before: streams, 3xx (an internal
// redirect may follow), an answer C did not hold at the try (an error, too
// long, not JSON), a try without a plan entry, and configs where something
// in Envoy reads llmgate.usage (it is the listener's metadata, not the
// try's). The listener and its tries run on the same Envoy worker thread,
// one hook at a time; the link carries the slot's generation, so a try never
// touches a slot handed to another request.

// tryLink is a try's listener: its slot (index + 1, 0: none), the slot's
// generation, and the try's attempt count (x-envoy-attempt-count, 1-based).
type tryLink struct {
	idx     int32
	gen     uint32
	attempt int
}

// linkKey is the llmgate.ctx field with the listener's slot ("<idx>.<gen>").
const linkKey = "ls"

// linkFieldSize bounds appendLinkField's bytes.
const linkFieldSize = 48

// linkable: the listener's answer may be done at its try.
func linkable(s *stream) bool {
	p := s.resp.plan
	return p != nil && !p.Stream && s.cfg.outcomes != nil && !s.cfg.cfg.UsageMetadata && s.idx > 0
}

// appendLinkField appends llmgate.ctx's link field as one more entry of a
// serialized google.protobuf.Struct (its map field 1: key "ls", Value's
// string_value): Envoy merges it with the Struct's other entries.
func appendLinkField(b []byte, s *stream) []byte {
	var vb [24]byte
	v := strconv.AppendUint(vb[:0], uint64(s.idx), 10)
	v = append(v, '.')
	v = strconv.AppendUint(v, uint64(s.gen), 10)
	value := 2 + len(v)                   // Value{string_value (3)}
	entry := 2 + len(linkKey) + 2 + value // key (1), value (2)
	b = append(b, 0x0a, byte(entry), 0x0a, byte(len(linkKey)))
	b = append(b, linkKey...)
	b = append(b, 0x12, byte(value), 0x1a, byte(len(v)))
	return append(b, v...)
}

// readLink reads a fast try's link at its request headers (before its
// header operations remove x-envoy-attempt-count).
func readLink(s *stream, f C.uintptr_t) {
	v, ok := getDynamicString(f, contract.ContextMetadataNamespace, linkKey)
	if !ok {
		return
	}
	dot := -1
	for i, c := range v {
		if c == '.' {
			dot = i
			break
		}
	}
	if dot < 0 {
		return
	}
	idx, err1 := strconv.ParseUint(string(v[:dot]), 10, 32)
	gen, err2 := strconv.ParseUint(string(v[dot+1:]), 10, 32)
	if err1 != nil || err2 != nil || idx < 1 || idx > maxStreams {
		return
	}
	a, ok := getHeader(f, "x-envoy-attempt-count")
	if !ok {
		return
	}
	n, err := strconv.Atoi(string(a))
	if err != nil || n < 1 || n > 0xffff {
		return
	}
	s.link = tryLink{idx: int32(idx), gen: uint32(gen), attempt: n}
}

// linkedListener is the listener stream of l, nil when its slot holds
// another request now.
func linkedListener(l tryLink) *stream {
	i := int(l.idx) - 1
	if i < 0 || i >= maxStreams || uint32(C.llmgate_stream_gen[i]) != l.gen {
		return nil
	}
	ls := slot(i)
	if ls.gen != l.gen || ls.cfg == nil || ls.cfg.upstream {
		return nil
	}
	return ls
}

// answeringTry: C held try m's 2xx JSON success for its answer's work
// (hooks.c up_hold, HK_RESP_ANSWER_UP).
func answeringTry(m C.uintptr_t) bool {
	i := int(m) - 1
	return i >= 0 && i < maxStreams && C.llmgate_go_hooks[i]&C.HK_RESP_ANSWER_UP != 0
}

// answerAtTry does the listener's answer work on try m's held success, at
// its end, as the listener's deferred path did (response.go): the body
// (model, cost, content-length) and the usage here, the outcome record,
// and the answer's header operations (the plan entry's x-litellm-*
// headers, the cost, the router's attempt count removed) left for the
// listener's C hook. They are not applied to the try's headers: the router
// would then carry a dozen more headers through its own work on them.
func answerAtTry(s *stream, f, m C.uintptr_t) int {
	s.hold = false
	l := s.link
	s.link = tryLink{}
	ls := linkedListener(l)
	if ls == nil || ls.resp.answered || ls.resp.recorded || ls.resp.json || ls.resp.stream != nil {
		return respBodyContinue
	}
	if p := ls.resp.plan; p == nil || p.Stream || p.Entry(l.attempt) == nil {
		return respBodyContinue // (the listener's, as before)
	}
	var views [maxRespChunks]C.dm_buf
	n, bufferedIsReceived := respBodyChunks(f, true, views[:])
	if n == 0 || n > len(views) {
		return respBodyContinue
	}
	status := int(uint32(C.llmgate_held_answer[int(m)-1]) >> 16)
	var opsBuf [hdrOpsSize]byte
	ops := removeOp(opsBuf[:0], "x-envoy-attempt-count")
	_, ops = responseHeaders(ls, f, false, heldAnswer{ok: true, status: status, attempt: l.attempt, atTry: true}, ops)
	if !ls.resp.json {
		return respBodyContinue // (not reached: an entry, not the end)
	}
	ls.resp.json = false
	out, u, cost := extproc.RespondJSON(joinViews(views[:n]), ls.resp.entry)
	recordUsage(f, ls, &u) // (linkable: no llmgate.usage to write)
	if cost != "" {
		ops = setOp(ops, "x-litellm-response-cost", cost)
	}
	if out != nil {
		replaceRespBody(f, true, bufferedIsReceived, out)
		var clBuf [64]byte
		applyOps(f, hdrResponse, setOp(clBuf[:0], "content-length", strconv.Itoa(len(out))))
	}
	if !ls.resp.try.firstByte.IsZero() {
		ls.resp.try.lastByte, ls.resp.try.done = time.Now(), true
	}
	ls.resp.tryAttempt = l.attempt
	onStreamComplete(ls, f)
	ls.resp.recorded, ls.resp.answered = true, true
	C.llmgate_set_answer_ops(C.uintptr_t(l.idx), (*C.char)(unsafe.Pointer(&ops[0])), C.size_t(len(ops)))
	syncHooks(C.uintptr_t(l.idx))
	return respBodyContinue
}
