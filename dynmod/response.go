package main

/*
#include "dm.h"
*/
import "C"

import (
	"bytes"
	"strconv"
	"time"

	"github.com/llmgate/llmgate/extproc"
	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/translator"
	"github.com/llmgate/llmgate/xds"
)

// The response side of the fast path (docs/architecture.md D54): what the
// listener's Lua filter did (xds.FastPathLua) before the module ran in
// Envoy, with extproc's code (moduleresp.go). The Lua filter is not in the
// listener in module mode.

// respState is one request's response-side state.
type respState struct {
	// plan is the fast path's answer plan of a request the module served
	// (nil: read llmgate.fp at the response, for a handed-on request).
	plan  *extproc.RespPlan
	entry *extproc.RespEntry
	// json: a JSON answer is being buffered; stream: an SSE answer passes.
	json   bool
	stream *extproc.RespStream
	// streamDone: the stream's [DONE] passed and its usage was recorded.
	streamDone bool
	// streamErr: the stream's error event (RespStream.Err, D82).
	streamErr *translator.Error
	// For the outcome record (response_outcome.go): the request's start,
	// the answer's usage, the answering try of a fast request.
	begin time.Time
	// ctx: llmgate.ctx "ctx" of a request the module served (as it wrote
	// it; "": read it from Envoy's metadata, D105)
	ctx   string
	usage extproc.RespUsage
	try   outcomeTry
	// lease: the answering deployment, whose tokens count locally (limits.go)
	lease string
	// usageScan: a JSON answer without an answer plan (a try the attempt
	// filter read, not the fast path) whose usage the JSON access log reads:
	// its bytes are copied as they pass, nothing held, and its usage
	// written as llmgate.usage at its end (D87).
	usageScan bool
	scanned   []byte
	// usageStream: the same for a streamed answer (D93): its events are
	// read as they pass, never changed, and its usage chunk's numbers
	// written as llmgate.usage at [DONE] or its end.
	usageStream *extproc.RespStream
	// recorded: the outcome record was written at the JSON answer's end
	// (D114), so stream complete does not enter Go for it.
	recorded bool
	// answered: the answer's work was done at its try's end (answer.go,
	// D144); tryAttempt: that try's attempt count, for the record (the
	// attribute is the listener's).
	answered   bool
	tryAttempt int
}

// onResponseHeaders: x-envoy-attempt-count is removed from every response;
// a fast request's answer below 400 gets its plan entry's headers, and its
// body is held (JSON) or rewritten as it passes (a stream).
func onResponseHeaders(s *stream, f C.uintptr_t, eos bool) int {
	// The header operations in one call (hdrops.go, D87).
	var opsBuf [hdrOpsSize]byte
	st, ops := responseHeaders(s, f, eos, heldAnswer{}, opsBuf[:0])
	applyOps(f, hdrResponse, ops)
	return st
}

// responseHeaders is onResponseHeaders' work; it returns the header
// operations still to apply (they are applied before any header is read
// again). held, when ok, is what C read of an answer it held (json_hold):
// the attempt count and status are not read again, nor are the
// content-type and content-length C checked (D134), and the operations of
// an answer held as JSON are left to its body's end, applied there in one
// call with the body's (onResponseBodyOps).
func responseHeaders(s *stream, f C.uintptr_t, eos bool, held heldAnswer, ops []byte) (int, []byte) {
	n, status := held.attempt, held.status
	if !held.ok {
		v, ok := getRespHeader(f, "x-envoy-attempt-count")
		if !ok {
			return respHeadersContinue, ops
		}
		var err error
		if n, err = strconv.Atoi(string(v)); err != nil {
			return respHeadersContinue, removeOp(ops, "x-envoy-attempt-count")
		}
	}
	if !held.atTry {
		ops = removeOp(ops, "x-envoy-attempt-count")
	}
	if s == nil {
		return respHeadersContinue, ops
	}
	if !held.ok {
		if sv, ok := getRespHeader(f, ":status"); ok {
			status, _ = strconv.Atoi(string(sv))
		}
	}
	if status >= 400 {
		return respHeadersContinue, ops
	}
	p := s.resp.plan
	if p == nil {
		j, ok := getDynamicString(f, contract.FastAnswerMetadataNamespace, extproc.RespPlanKey)
		if !ok {
			applyOps(f, hdrResponse, ops)
			ops = ops[:0]
			if !eos && s.cfg.cfg.UsageMetadata {
				s.resp.usageScan = jsonAnswer(f)
				if !s.resp.usageScan && eventStream(f) {
					s.resp.usageStream = usageOnly.NewRespStream(&extproc.RespEntry{})
				}
			}
			return respHeadersContinue, ops
		}
		var err error
		if p, err = extproc.ParseRespPlan(j); err != nil {
			return respHeadersContinue, ops
		}
		s.resp.plan = p
	}
	e := p.Entry(n)
	if e == nil {
		return respHeadersContinue, ops
	}
	s.resp.lease = leaseDeployment(p, n)
	if s.cfg.outcomes != nil {
		s.resp.try = outcomeTry{status: status, firstByte: time.Now(), done: eos}
		if eos {
			s.resp.try.lastByte = s.resp.try.firstByte
		}
		for _, k := range xds.OutcomeResponseHeaders {
			if held.ok && (p.Quiet || p.SpendOnly) {
				// A held answer is a success, and a quiet plan's record,
				// when one is written at all (an answer cut short), is read
				// by no sink that reads these headers (D124, D134); nor is
				// a spend-only plan's (its compact record carries none, and
				// no sink that reads them listens: D145, D154).
				break
			}
			if v, ok := getRespHeader(f, k); ok {
				s.resp.try.headers = append(s.resp.try.headers, [2]string{k, string(v)})
			}
		}
	}
	for _, kv := range p.Common {
		ops = setOp(ops, kv[0], kv[1])
	}
	for _, kv := range e.Headers {
		ops = setOp(ops, kv[0], kv[1])
	}
	if p.StartMs != 0 {
		ops = setOp(ops, "x-litellm-response-duration-ms", p.DurationHeader(time.Now().UnixMilli()))
	}
	if p.Stream {
		ops = removeOp(ops, "content-length")
		if !eos {
			s.resp.stream = p.NewRespStream(e)
		}
		return respHeadersContinue, ops
	}
	if !held.ok {
		applyOps(f, hdrResponse, ops)
		ops = ops[:0]
		if cl, ok := getRespHeader(f, "content-length"); ok {
			if x, err := strconv.ParseInt(string(cl), 10, 64); err == nil && x > extproc.MaxRespBody {
				return respHeadersContinue, ops
			}
		}
		ct, _ := getRespHeader(f, "content-type")
		if eos || !bytes.Contains(ct, []byte("json")) {
			return respHeadersContinue, ops
		}
	} else if eos {
		return respHeadersContinue, ops
	}
	s.resp.entry, s.resp.json = e, true
	// Held until the body is whole: the cost header depends on it.
	return respHeadersStopIteration, ops
}

const maxRespChunks = 256

// jsonAnswer reports whether the answer is JSON of at most
// extproc.MaxRespBody bytes (as far as its headers say).
func jsonAnswer(f C.uintptr_t) bool {
	if cl, ok := getRespHeader(f, "content-length"); ok {
		if x, err := strconv.ParseInt(string(cl), 10, 64); err == nil && x > extproc.MaxRespBody {
			return false
		}
	}
	ct, _ := getRespHeader(f, "content-type")
	return bytes.Contains(ct, []byte("json"))
}

// eventStream reports whether the answer is an SSE stream.
func eventStream(f C.uintptr_t) bool {
	ct, _ := getRespHeader(f, "content-type")
	return bytes.HasPrefix(bytes.TrimSpace(ct), []byte("text/event-stream"))
}

// usageOnly is the plan of a usageStream's reader: nothing stripped (what
// it writes is never sent; only its Usage is read).
var usageOnly = &extproc.RespPlan{Stream: true, Usage: true}

// readStreamUsage reads a passing chunk of a usageStream answer; at [DONE]
// or its end it writes the answer's usage as llmgate.usage, once.
func readStreamUsage(f C.uintptr_t, s *stream, eos bool) {
	st := s.resp.usageStream
	var views [maxRespChunks]C.dm_buf
	if n, _ := respBodyChunks(f, false, views[:]); n <= len(views) {
		st.Write(joinViews(views[:n])) // (what it writes is not used)
	}
	if eos {
		st.End()
	}
	if st.Done || eos {
		endStreamUsage(f, s)
	}
}

// endStreamUsage writes a usageStream's usage (llmgate.usage).
func endStreamUsage(f C.uintptr_t, s *stream) {
	u := s.resp.usageStream.Usage
	s.resp.usageStream = nil
	if b := u.Struct(); len(b) > 0 {
		setDynamicStruct(f, extproc.UsageNamespace, b)
	}
}

// scanUsage copies a passing chunk of a usageScan answer; at its end it
// writes the answer's usage as llmgate.usage.
func scanUsage(f C.uintptr_t, s *stream, eos bool) {
	var views [maxRespChunks]C.dm_buf
	n, _ := respBodyChunks(f, false, views[:])
	if n > len(views) {
		s.resp.usageScan, s.resp.scanned = false, nil
		return
	}
	for _, v := range views[:n] {
		s.resp.scanned = append(s.resp.scanned, view(v.ptr, v.length)...)
	}
	if len(s.resp.scanned) > extproc.MaxRespBody {
		s.resp.usageScan, s.resp.scanned = false, nil
		return
	}
	if eos {
		endUsageScan(f, s)
	}
}

// endUsageScan writes the scanned answer's usage (llmgate.usage).
func endUsageScan(f C.uintptr_t, s *stream) {
	_, u, _ := extproc.RespondJSON(s.resp.scanned, &extproc.RespEntry{})
	s.resp.usageScan, s.resp.scanned = false, nil
	if b := u.Struct(); len(b) > 0 {
		setDynamicStruct(f, extproc.UsageNamespace, b)
	}
}

func onResponseBody(s *stream, f C.uintptr_t, eos bool) int {
	return onResponseBodyOps(s, f, eos, nil)
}

// onResponseBodyOps is onResponseBody with the answer's header operations
// not yet applied (pending, from responseHeaders): a JSON answer's end
// applies them in one call with its own, anything else first.
func onResponseBodyOps(s *stream, f C.uintptr_t, eos bool, pending []byte) int {
	if s == nil || !s.resp.json || !eos {
		applyOps(f, hdrResponse, pending)
		pending = nil
	}
	if s == nil {
		return respBodyContinue
	}
	if eos && !s.resp.try.firstByte.IsZero() {
		s.resp.try.lastByte, s.resp.try.done = time.Now(), true
	}
	switch {
	case s.resp.usageScan:
		scanUsage(f, s, eos)
		return respBodyContinue
	case s.resp.usageStream != nil:
		readStreamUsage(f, s, eos)
		return respBodyContinue
	case s.resp.stream != nil:
		st := s.resp.stream
		var views [maxRespChunks]C.dm_buf
		n, _ := respBodyChunks(f, false, views[:])
		var out []byte
		changed := false
		if n <= len(views) {
			data := joinViews(views[:n])
			out, changed = st.Write(data)
			if !changed && eos {
				out = append([]byte(nil), data...)
			}
		}
		if st.Err != nil && s.resp.streamErr == nil {
			// The provider's error event passed: the try failed, even when
			// the client closes at it (the SDKs raise and close) before the
			// provider's end of stream (response_streamerr.go, D82).
			s.resp.streamErr = st.Err
		}
		if st.Done && !s.resp.streamDone {
			// [DONE] passed: the answer is whole for the client, which may
			// close before the provider's end of stream reaches Envoy (the
			// official SDKs close at [DONE]; Envoy then resets the request
			// and this hook never sees the end): the answer ends here for
			// its outcome (docs/architecture.md D71).
			s.resp.streamDone = true
			recordUsage(f, s, &st.Usage)
			if !s.resp.try.firstByte.IsZero() {
				s.resp.try.lastByte, s.resp.try.done = time.Now(), true
			}
		}
		if eos {
			if tail := st.End(); tail != nil {
				out, changed = append(out, tail...), true
			}
			s.resp.stream = nil
			if !s.resp.streamDone {
				recordUsage(f, s, &st.Usage)
			}
		}
		if changed {
			replaceRespBody(f, false, false, out)
		}
		return respBodyContinue
	case s.resp.json:
		if !eos {
			return respBodyStopAndBuffer
		}
		s.resp.json = false
		var views [maxRespChunks]C.dm_buf
		n, bufferedIsReceived := respBodyChunks(f, true, views[:])
		if n == 0 || n > len(views) {
			applyOps(f, hdrResponse, pending)
			return respBodyContinue
		}
		body := joinViews(views[:n])
		out, u, cost := extproc.RespondJSON(body, s.resp.entry)
		recordUsage(f, s, &u)
		var opsBuf [128]byte
		ops := opsBuf[:0]
		if pending != nil {
			ops = pending
		}
		if cost != "" {
			ops = setOp(ops, "x-litellm-response-cost", cost)
		}
		if out != nil {
			replaceRespBody(f, true, bufferedIsReceived, out)
			ops = setOp(ops, "content-length", strconv.Itoa(len(out)))
		}
		applyOps(f, hdrResponse, ops)
		// The answer is whole and nothing after it changes its outcome: the
		// record is written here, in this Go call, not in one more at
		// stream complete (D114).
		onStreamComplete(s, f)
		s.resp.recorded = true
	}
	return respBodyContinue
}

// onResponseTrailers: a stream that ends with trailers records its usage
// here (the body hook saw no end).
func onResponseTrailers(s *stream, f C.uintptr_t) int {
	if s == nil {
		return respHeadersContinue
	}
	if !s.resp.try.firstByte.IsZero() {
		s.resp.try.lastByte, s.resp.try.done = time.Now(), true
	}
	if st := s.resp.stream; st != nil {
		s.resp.stream = nil
		if !s.resp.streamDone {
			recordUsage(f, s, &st.Usage)
		}
	}
	if s.resp.usageScan {
		endUsageScan(f, s)
	}
	if s.resp.usageStream != nil {
		s.resp.usageStream.End()
		endStreamUsage(f, s)
	}
	s.resp.json = false
	return respHeadersContinue
}

// joinViews is the bytes of the views: the one view itself (valid during
// the hook only), or a copy of several.
func joinViews(vs []C.dm_buf) []byte {
	if len(vs) == 1 {
		return view(vs[0].ptr, vs[0].length)
	}
	total := 0
	for _, v := range vs {
		total += int(v.length)
	}
	b := make([]byte, 0, total)
	for _, v := range vs {
		b = append(b, view(v.ptr, v.length)...)
	}
	return b
}

// recordUsage keeps the answer's usage for the outcome record and writes
// llmgate.usage when something in Envoy reads it: the outcome log of D44
// (no outcome socket) or the JSON access log. Otherwise Envoy would parse
// a Struct per answer that nothing reads (D87).
func recordUsage(f C.uintptr_t, s *stream, u *extproc.RespUsage) {
	s.resp.usage = *u
	leaseTokens(s.resp.lease, u)
	if s.cfg.outcomes != nil && !s.cfg.cfg.UsageMetadata {
		return
	}
	if b := u.Struct(); len(b) > 0 {
		setDynamicStruct(f, extproc.UsageNamespace, b)
	}
}
