package main

// The event hooks Envoy calls (exported C symbols). Every HTTP filter hook of
// the ABI is exported; the ones the request filter does not use do nothing.
// The per-request ones are C functions (hooks.c) that enter the Go hooks
// here only when the stream needs Go for that call (D81).
// Each hook has a recover barrier: an unrecovered Go panic would abort the
// whole Envoy process (docs/datapath-spike/dynmod/FINDINGS.md §2).

/*
// Frame pointers in the module's C (hooks.c): a profile of Envoy then sees
// which hook an Envoy callback ran under (D87).
#cgo CFLAGS: -fno-omit-frame-pointer
#include "dm.h"
#include "hooks.h"
*/
import "C"

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Filter configs live in a fixed table; the index + 1 is the pointer Envoy
// hands back, so no Go pointer crosses into Envoy. Envoy destroys a config
// once no filter of it is left (its listener replaced or removed): its
// goroutines stop and its slot is used again.
var (
	configs     [C.LLMGATE_MAX_CONFIGS]atomic.Pointer[filterConfig]
	nconfigs    int
	freeConfigs []int
	configsMu   sync.Mutex
)

func configOf(p C.uintptr_t) *filterConfig {
	i := int(p) - 1
	if i < 0 || i >= len(configs) {
		return nil
	}
	return configs[i].Load()
}

// Per-request state lives in a slab of slots; the slot index + 1 is the
// filter pointer Envoy hands to the request's hooks. The slots are handed
// out and taken back in C (hooks.c, D81): a slot's generation tells Go that
// it holds another stream than the one Go last saw there, and the first
// hook that enters Go for the new stream resets its state. A request that
// finds no free slot gets 0 and is handed to the ext_proc filter.
//
// The Go side of the slots is allocated a chunk at a time, on a chunk's first
// use (C hands out the lowest slots first and reuses freed ones, so a busy
// worker touches a few chunks). A fixed array of all of them was 25.7 MB of
// global variables holding pointers, which every GC cycle of the module's
// runtime scanned whole: a mark phase of 4–5 ms on Envoy's CPU
// (docs/architecture.md D115).
const (
	maxStreams  = C.LLMGATE_MAX_STREAMS
	streamChunk = 256
)

var streams [maxStreams / streamChunk]atomic.Pointer[[streamChunk]stream]

// slot is slot i's state, its chunk allocated if it was not yet.
func slot(i int) *stream {
	c := streams[i/streamChunk].Load()
	if c == nil {
		c = new([streamChunk]stream)
		if !streams[i/streamChunk].CompareAndSwap(nil, c) {
			c = streams[i/streamChunk].Load()
		}
	}
	return &c[i%streamChunk]
}

func streamOf(p C.uintptr_t) *stream {
	i := int(p) - 1
	if i < 0 || i >= maxStreams {
		return nil
	}
	s := slot(i)
	if g := uint32(C.llmgate_stream_gen[i]); s.gen != g {
		c := configOf(C.uintptr_t(C.llmgate_stream_cfg[i]))
		*s = stream{cfg: c, gen: g, idx: int32(i + 1)}
		if c != nil && c.outcomes != nil {
			s.resp.begin = time.Now() // the outcome record's start (D54)
		}
	}
	if s.cfg == nil {
		return nil
	}
	return s
}

//export envoy_dynamic_module_on_program_init
func envoy_dynamic_module_on_program_init() *C.char { return abiVersion }

//export envoy_dynamic_module_on_http_filter_config_new
func envoy_dynamic_module_on_http_filter_config_new(envoyCfg C.uintptr_t, name C.dm_buf, cfg C.dm_buf) (out C.uintptr_t) {
	defer func() {
		if r := recover(); r != nil {
			envoyLog(logError, fmt.Sprintf("llmgate module: panic in filter config: %v", r))
			out = 0
		}
	}()
	c, err := parseFilterConfig(string(view(name.ptr, name.length)), string(view(cfg.ptr, cfg.length)))
	if err != nil {
		envoyLog(logError, "llmgate module: "+err.Error())
		return 0
	}
	configsMu.Lock()
	defer configsMu.Unlock()
	var i int
	switch {
	case len(freeConfigs) > 0:
		i = freeConfigs[len(freeConfigs)-1]
		freeConfigs = freeConfigs[:len(freeConfigs)-1]
	case nconfigs < len(configs):
		i = nconfigs
		nconfigs++
	default:
		c.stop()
		envoyLog(logError, "llmgate module: too many filter configs")
		return 0
	}
	configs[i].Store(c)
	if c.upstream {
		C.llmgate_config_upstream[i] = 1
	} else {
		C.llmgate_config_upstream[i] = 0
	}
	C.llmgate_config_live[i] = 1
	c.start()
	envoyLog(logInfo, "llmgate module: request filter config "+c.name+" loaded")
	return C.uintptr_t(i + 1)
}

//export envoy_dynamic_module_on_http_filter_config_destroy
func envoy_dynamic_module_on_http_filter_config_destroy(p C.uintptr_t) {
	defer quiet("filter_config_destroy")
	i := int(p) - 1
	if i < 0 || i >= len(configs) {
		return
	}
	configsMu.Lock()
	defer configsMu.Unlock()
	C.llmgate_config_live[i] = 0
	if c := configs[i].Swap(nil); c != nil {
		c.stop()
		freeConfigs = append(freeConfigs, i)
		envoyLog(logInfo, "llmgate module: filter config "+c.name+" released")
	}
}

//export envoy_dynamic_module_on_http_filter_per_route_config_new
func envoy_dynamic_module_on_http_filter_per_route_config_new(name C.dm_buf, cfg C.dm_buf) C.uintptr_t {
	return 0
}

//export envoy_dynamic_module_on_http_filter_per_route_config_destroy
func envoy_dynamic_module_on_http_filter_per_route_config_destroy(p C.uintptr_t) {}

// The per-request hooks below are entered from the C hooks of hooks.c, and
// only when the stream's mask asks for them (hookmask.go); each sets the
// mask again from the stream's state when it returns.

//export llmgate_go_request_headers
func llmgate_go_request_headers(f C.uintptr_t, m C.uintptr_t, eos C.bool) (st C.int) {
	defer requestBarrier(f, &st)
	s := streamOf(m)
	if s != nil && s.cfg.upstream {
		st = C.int(onUpstreamRequestHeaders(s, f)) // a try (upstream.go)
	} else {
		st = C.int(onRequestHeaders(s, f, bool(eos)))
	}
	syncHooks(m)
	return st
}

//export llmgate_go_request_body
func llmgate_go_request_body(f C.uintptr_t, m C.uintptr_t, eos C.bool) (st C.int) {
	defer requestBarrier(f, &st)
	switch s := streamOf(m); {
	case s != nil && s.mt != nil:
		st = C.int(translateRequestBody(s, f, bool(eos))) // translate.go
	case s != nil && s.cfg.upstream:
		st = C.int(spacingRequestBody(s)) // a try (spacing.go)
	default:
		st = C.int(onRequestBody(s, f, bool(eos)))
	}
	syncHooks(m)
	return st
}

// requestBarrier keeps a Go panic in a request hook from taking Envoy down:
// the request gets an OpenAI-format 500 instead.
func requestBarrier(f C.uintptr_t, st *C.int) {
	if r := recover(); r != nil {
		envoyLog(logError, fmt.Sprintf("llmgate module: panic in a request hook: %v", r))
		sendResponse(f, 500, internalError, "llmgate_module_panic")
		*st = reqHeadersStopIteration // == StopIteration for headers and body
	}
}

// quiet is the barrier of the hooks that do nothing: a panic is logged.
func quiet(hook string) {
	if r := recover(); r != nil {
		envoyLog(logError, fmt.Sprintf("llmgate module: panic in %s: %v", hook, r))
	}
}

const internalError = `{"error":{"message":"The gateway could not process the request (internal error in its request filter); try again","type":"internal_server_error","param":null,"code":"500"}}`

//export llmgate_go_request_trailers
func llmgate_go_request_trailers(f C.uintptr_t, m C.uintptr_t) (st C.int) {
	defer requestBarrier(f, &st)
	st = C.int(onRequestTrailers(streamOf(m), f))
	syncHooks(m)
	return st
}

//export llmgate_go_response_headers
func llmgate_go_response_headers(f C.uintptr_t, m C.uintptr_t, eos C.bool) (st C.int) {
	defer quiet("response_headers")
	if s := streamOf(m); s != nil && s.cfg.upstream {
		spacingResponseHeaders(s)
		st = C.int(onUpstreamResponseHeaders(s, f, bool(eos)))
	} else {
		st = C.int(onResponseHeaders(s, f, bool(eos)))
	}
	syncHooks(m)
	return st
}

//export llmgate_go_response_body
func llmgate_go_response_body(f C.uintptr_t, m C.uintptr_t, eos C.bool) (st C.int) {
	defer quiet("response_body")
	if s := streamOf(m); s != nil && s.cfg.upstream {
		if bool(eos) && s.link.idx != 0 && answeringTry(m) {
			st = C.int(answerAtTry(s, f, m)) // (answer.go, D144)
		} else {
			st = C.int(onUpstreamResponseBody(s, f, bool(eos)))
		}
	} else {
		if s != nil && deferredHeaders(m) {
			// Held by C at the headers (D114): their work here, with what
			// C read of them, and their operations applied with the
			// body's (D134).
			var opsBuf [hdrOpsSize]byte
			_, ops := responseHeaders(s, f, false, heldAnswerOf(m), opsBuf[:0])
			st = C.int(onResponseBodyOps(s, f, bool(eos), ops))
		} else {
			st = C.int(onResponseBody(s, f, bool(eos)))
		}
	}
	syncHooks(m)
	return st
}

//export llmgate_go_response_trailers
func llmgate_go_response_trailers(f C.uintptr_t, m C.uintptr_t) (st C.int) {
	defer quiet("response_trailers")
	s := streamOf(m)
	if s != nil && !s.cfg.upstream && deferredHeaders(m) {
		onResponseHeaders(s, f, false) // held by C at the headers (D114)
	}
	st = C.int(onResponseTrailers(s, f))
	syncHooks(m)
	return st
}

//export llmgate_go_stream_complete
func llmgate_go_stream_complete(f C.uintptr_t, m C.uintptr_t) {
	defer quiet("stream_complete")
	onStreamComplete(streamOf(m), f)
}

// llmgate_go_destroy releases what the stream holds outside its slot (the
// slot itself is taken back in C, which calls this only when the mask asks).
//
//export llmgate_go_destroy
func llmgate_go_destroy(m C.uintptr_t) {
	defer quiet("filter_destroy")
	if s := streamOf(m); s != nil && s.spacing != nil {
		spacingDestroy(s)
	}
	if s := streamOf(m); s != nil && s.inflight != nil {
		releaseTry(s) // (limits_inflight.go, D77)
	}
	if s := streamOf(m); s != nil && s.keySlots != nil {
		s.keySlots.Release() // a key's parallel slots (D117)
		s.keySlots = nil
	}
}

//export envoy_dynamic_module_on_http_filter_http_callout_done
func envoy_dynamic_module_on_http_filter_http_callout_done(f C.uintptr_t, m C.uintptr_t, id C.uint64_t, result C.int, headers *C.dm_hdr, nh C.size_t, chunks *C.dm_buf, nc C.size_t) {
	defer quiet("http_callout_done")
}

//export envoy_dynamic_module_on_http_filter_http_stream_headers
func envoy_dynamic_module_on_http_filter_http_stream_headers(f C.uintptr_t, m C.uintptr_t, id C.uint64_t, headers *C.dm_hdr, nh C.size_t, eos C.bool) {
	defer quiet("http_stream_headers")
}

//export envoy_dynamic_module_on_http_filter_http_stream_data
func envoy_dynamic_module_on_http_filter_http_stream_data(f C.uintptr_t, m C.uintptr_t, id C.uint64_t, data *C.dm_buf, n C.size_t, eos C.bool) {
	defer quiet("http_stream_data")
}

//export envoy_dynamic_module_on_http_filter_http_stream_trailers
func envoy_dynamic_module_on_http_filter_http_stream_trailers(f C.uintptr_t, m C.uintptr_t, id C.uint64_t, trailers *C.dm_hdr, n C.size_t) {
	defer quiet("http_stream_trailers")
}

//export envoy_dynamic_module_on_http_filter_http_stream_complete
func envoy_dynamic_module_on_http_filter_http_stream_complete(f C.uintptr_t, m C.uintptr_t, id C.uint64_t) {
	defer quiet("http_stream_complete")
}

//export envoy_dynamic_module_on_http_filter_http_stream_reset
func envoy_dynamic_module_on_http_filter_http_stream_reset(f C.uintptr_t, m C.uintptr_t, id C.uint64_t, reason C.int) {
	defer quiet("http_stream_reset")
}

//export envoy_dynamic_module_on_http_filter_scheduled
func envoy_dynamic_module_on_http_filter_scheduled(f C.uintptr_t, m C.uintptr_t, id C.uint64_t) {
	defer quiet("scheduled")
	if s := streamOf(m); s != nil && s.spacing != nil {
		spacingScheduled(s, f, uint64(id))
	}
}

//export envoy_dynamic_module_on_http_filter_config_scheduled
func envoy_dynamic_module_on_http_filter_config_scheduled(e C.uintptr_t, c C.uintptr_t, id C.uint64_t) {
	defer quiet("config_scheduled")
}

//export envoy_dynamic_module_on_http_filter_downstream_above_write_buffer_high_watermark
func envoy_dynamic_module_on_http_filter_downstream_above_write_buffer_high_watermark(f C.uintptr_t, m C.uintptr_t) {
	defer quiet("above_write_buffer_high_watermark")
}

//export envoy_dynamic_module_on_http_filter_downstream_below_write_buffer_low_watermark
func envoy_dynamic_module_on_http_filter_downstream_below_write_buffer_low_watermark(f C.uintptr_t, m C.uintptr_t) {
	defer quiet("below_write_buffer_low_watermark")
}

//export envoy_dynamic_module_on_http_filter_local_reply
func envoy_dynamic_module_on_http_filter_local_reply(f C.uintptr_t, m C.uintptr_t, code C.uint32_t, details C.dm_buf, resetImminent C.bool) C.int {
	defer quiet("local_reply")
	return 0
}
