package main

/*
#include "dm.h"
*/
import "C"

import (
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/llmgate/llmgate/extproc"
	"github.com/llmgate/llmgate/internal/contract"
)

// Translated deployments' tries in the module (docs/architecture.md D61):
// on a fast try (llmgate.ctx "ep") of a cluster of a deployment the module
// translates (xds.ModuleTranslated: Anthropic), the module's upstream filter
// holds the request until its body is whole, translates it with the attempt
// filter's code (extproc.ModuleTry: body, path, host, provider headers and
// key), and on the way back translates a success — a JSON answer held until
// whole, a stream chunk by chunk — so that the try opens no ext_proc stream.
// An error (4xx/5xx) passes untouched: the attempt filter, which the
// composite starts at the response headers of a fast try, handles it.

// moduleTry is one translated try's state (stream.mt).
type moduleTry struct {
	try  *extproc.ModuleTry
	mode int // extproc.ModuleTry* once the response headers came
	// failed: the stream's error was noted for the outcome (response_streamerr.go)
	failed bool
}

// mtFilters are the request filters of the config in force and of the one
// before it (tries planned under the previous config still find their
// cluster), newest first.
var (
	mtFilters atomic.Pointer[[2]*extproc.ModuleFilter]
	mtMu      sync.Mutex
)

// applyTranslate records a config the module applied (applyUpstream).
func applyTranslate(m *extproc.ModuleFilter) {
	mtMu.Lock()
	defer mtMu.Unlock()
	var next [2]*extproc.ModuleFilter
	next[0] = m
	if prev := mtFilters.Load(); prev != nil {
		next[1] = prev[0]
	}
	mtFilters.Store(&next)
}

// translateRequestHeaders starts a translated try when the cluster is one
// the module translates; the headers wait for the body.
func translateRequestHeaders(s *stream, f C.uintptr_t, cluster string) int {
	fs := mtFilters.Load()
	if fs == nil {
		return reqHeadersContinue
	}
	if cl, ok := getHeader(f, "content-length"); !ok || string(cl) == "0" {
		return reqHeadersContinue // no body to translate
	}
	ctx, ok := getDynamicString(f, contract.ContextMetadataNamespace, "ctx")
	if !ok {
		return reqHeadersContinue
	}
	attempt := 1
	if v, ok := getHeader(f, "x-envoy-attempt-count"); ok {
		if n, err := strconv.Atoi(string(v)); err == nil && n > 0 {
			attempt = n
		}
	} else if n, ok := attrInt(f, attrUpstreamAttempts); ok && n > 0 {
		attempt = int(min(n, 1<<16))
	}
	for _, m := range fs {
		if m == nil || !m.ModuleTranslates(cluster) {
			continue
		}
		t, ok := m.NewModuleTry(cluster, attempt, string(ctx))
		if !ok {
			return reqHeadersContinue
		}
		s.mt = &moduleTry{try: t}
		return reqHeadersStopIteration
	}
	return reqHeadersContinue
}

// translateRequestBody translates the whole request body of a translated try.
func translateRequestBody(s *stream, f C.uintptr_t, eos bool) int {
	if !eos {
		return reqBodyStopAndBuffer
	}
	var small [64]C.dm_buf
	views := small[:]
	n, bufferedIsReceived := bodyChunks(f, views)
	if n > len(views) {
		// A large body comes in many slices: read them all.
		views = make([]C.dm_buf, n)
		if n, bufferedIsReceived = bodyChunks(f, views); n > len(views) {
			s.mt = nil
			return reqBodyContinue
		}
	}
	total := 0
	for _, v := range views[:n] {
		total += int(v.length)
	}
	body := make([]byte, 0, total)
	for _, v := range views[:n] {
		body = append(body, view(v.ptr, v.length)...)
	}
	out, set, remove, reply := s.mt.try.Request(body)
	if reply != nil {
		s.mt = nil
		sendReply(f, reply)
		return reqHeadersStopIteration
	}
	replaceBody(f, bufferedIsReceived, out)
	for _, k := range remove {
		removeHeader(f, k)
	}
	for _, kv := range set {
		setHeader(f, kv[0], kv[1])
	}
	return reqBodyContinue
}

// translateResponseHeaders: a success is translated (a JSON answer held
// until whole), an error passes to the attempt filter.
func translateResponseHeaders(s *stream, f C.uintptr_t, eos bool) int {
	st, _ := getRespHeader(f, ":status")
	code, err := strconv.Atoi(string(st))
	if err != nil {
		s.mt = nil
		return respHeadersContinue
	}
	mode, set, remove := s.mt.try.ResponseHeaders(code, eos)
	s.mt.mode = mode
	switch mode {
	case extproc.ModuleTryJSON:
		return respHeadersStopIteration
	case extproc.ModuleTryStream:
		for _, k := range remove {
			removeRespHeader(f, k)
		}
		for _, kv := range set {
			setRespHeader(f, kv[0], kv[1])
		}
	default:
		s.mt = nil
	}
	return respHeadersContinue
}

// translateResponseBody translates a success's body: a JSON answer once
// whole, a stream chunk by chunk.
func translateResponseBody(s *stream, f C.uintptr_t, eos bool) int {
	mt := s.mt
	switch mt.mode {
	case extproc.ModuleTryJSON:
		if !eos {
			return respBodyStopAndBuffer
		}
		s.mt = nil
		var small [maxRespChunks]C.dm_buf
		views := small[:]
		n, bufferedIsReceived := respBodyChunks(f, true, views)
		if n > len(views) {
			views = make([]C.dm_buf, n)
			if n, bufferedIsReceived = respBodyChunks(f, true, views); n > len(views) {
				return respBodyContinue
			}
		}
		enc, _ := getRespHeader(f, "content-encoding")
		out, set, remove := mt.try.ResponseJSON(joinViews(views[:n]), string(enc))
		replaceRespBody(f, true, bufferedIsReceived, out)
		for _, k := range remove {
			removeRespHeader(f, k)
		}
		for _, kv := range set {
			setRespHeader(f, kv[0], kv[1])
		}
	case extproc.ModuleTryStream:
		var small [maxRespChunks]C.dm_buf
		views := small[:]
		n, _ := respBodyChunks(f, false, views)
		if n > len(views) {
			views = make([]C.dm_buf, n)
			if n, _ = respBodyChunks(f, false, views); n > len(views) {
				return respBodyContinue
			}
		}
		out := mt.try.ResponseChunk(joinViews(views[:n]), eos)
		replaceRespBody(f, false, false, out)
		if !mt.failed {
			if st, class := mt.try.StreamError(); st != 0 {
				// The listener's outcome record reports the try failed
				// (response_streamerr.go). Noted as soon as the error passes:
				// a client may close at the error chunk, before the end of
				// the provider's stream (D71).
				mt.failed = true
				if id, ok := getHeader(f, "x-request-id"); ok {
					noteStreamError(string(id), st, int(class))
				}
			}
		}
		if eos {
			s.mt = nil
		}
	}
	return respBodyContinue
}
