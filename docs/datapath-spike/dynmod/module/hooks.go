package main

// The event hooks Envoy calls (exported C symbols). Every HTTP filter hook of
// the ABI is exported; the ones this spike does not use are no-ops.

/*
#include "dm.h"
*/
import "C"

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
)

// Filter configs live in a fixed table; the config's index + 1 is the
// module pointer Envoy hands back, so no Go pointer crosses the boundary.
var (
	configs   [256]atomic.Pointer[config]
	nconfigs  atomic.Int32
	configsMu sync.Mutex
)

func cfgOf(p C.uintptr_t) *config {
	i := int(p) - 1
	if i < 0 || i >= len(configs) {
		return nil
	}
	return configs[i].Load()
}

//export envoy_dynamic_module_on_program_init
func envoy_dynamic_module_on_program_init() *C.char { return abiVersion }

//export envoy_dynamic_module_on_http_filter_config_new
func envoy_dynamic_module_on_http_filter_config_new(envoyCfg C.uintptr_t, name C.dm_buf, cfg C.dm_buf) C.uintptr_t {
	c, err := parseConfig(string(view(name)), string(view(cfg)))
	if err != nil {
		envoyLog(logWarn, "llmgate dynmod: "+err.Error())
		return 0
	}
	configsMu.Lock()
	defer configsMu.Unlock()
	i := int(nconfigs.Load())
	if i >= len(configs) {
		return 0
	}
	configs[i].Store(c)
	nconfigs.Store(int32(i + 1))
	c.start()
	envoyLog(logInfo, "llmgate dynmod: filter config "+c.name+" mode="+c.mode+" parser="+c.parser)
	return C.uintptr_t(i + 1)
}

//export envoy_dynamic_module_on_http_filter_config_destroy
func envoy_dynamic_module_on_http_filter_config_destroy(p C.uintptr_t) {}

//export envoy_dynamic_module_on_http_filter_per_route_config_new
func envoy_dynamic_module_on_http_filter_per_route_config_new(name C.dm_buf, cfg C.dm_buf) C.uintptr_t {
	return 1
}

//export envoy_dynamic_module_on_http_filter_per_route_config_destroy
func envoy_dynamic_module_on_http_filter_per_route_config_destroy(p C.uintptr_t) {}

// The per-request filter object is the config itself: the request filter
// keeps no state between hooks (everything it needs is read back from Envoy).
//
//export envoy_dynamic_module_on_http_filter_new
func envoy_dynamic_module_on_http_filter_new(cfg C.uintptr_t, f C.uintptr_t) C.uintptr_t {
	return cfg
}

//export envoy_dynamic_module_on_http_filter_request_headers
func envoy_dynamic_module_on_http_filter_request_headers(f C.uintptr_t, m C.uintptr_t, eos C.bool) (st C.int) {
	defer barrier(f, &st)
	return C.int(cfgOf(m).onRequestHeaders(f, bool(eos)))
}

//export envoy_dynamic_module_on_http_filter_request_body
func envoy_dynamic_module_on_http_filter_request_body(f C.uintptr_t, m C.uintptr_t, eos C.bool) (st C.int) {
	defer barrier(f, &st)
	return C.int(cfgOf(m).onRequestBody(f, bool(eos)))
}

// barrier keeps a Go panic inside a request hook from taking Envoy down (an
// unrecovered panic aborts the whole process: Envoy's crash handler prints
// the Go frames and exits): the request gets an OpenAI-format 500 instead.
func barrier(f C.uintptr_t, st *C.int) {
	if r := recover(); r != nil {
		envoyLog(logWarn, fmt.Sprintf("llmgate dynmod: panic in request hook: %v", r))
		sendResponse(f, 500, "application/json", internalError, "llmgate_panic")
		*st = reqHeadersStopIteration // == StopIteration for headers and body
	}
}

const internalError = `{"error":{"message":"internal error","type":"internal_server_error","param":null,"code":"500"}}`

//export envoy_dynamic_module_on_http_filter_request_trailers
func envoy_dynamic_module_on_http_filter_request_trailers(f C.uintptr_t, m C.uintptr_t) C.int {
	return 0
}

//export envoy_dynamic_module_on_http_filter_response_headers
func envoy_dynamic_module_on_http_filter_response_headers(f C.uintptr_t, m C.uintptr_t, eos C.bool) C.int {
	return C.int(cfgOf(m).onResponseHeaders(f, bool(eos)))
}

//export envoy_dynamic_module_on_http_filter_response_body
func envoy_dynamic_module_on_http_filter_response_body(f C.uintptr_t, m C.uintptr_t, eos C.bool) C.int {
	return 0
}

//export envoy_dynamic_module_on_http_filter_response_trailers
func envoy_dynamic_module_on_http_filter_response_trailers(f C.uintptr_t, m C.uintptr_t) C.int {
	return 0
}

//export envoy_dynamic_module_on_http_filter_stream_complete
func envoy_dynamic_module_on_http_filter_stream_complete(f C.uintptr_t, m C.uintptr_t) {
	cfgOf(m).onStreamComplete(f)
}

//export envoy_dynamic_module_on_http_filter_destroy
func envoy_dynamic_module_on_http_filter_destroy(m C.uintptr_t) {}

//export envoy_dynamic_module_on_http_filter_http_callout_done
func envoy_dynamic_module_on_http_filter_http_callout_done(f C.uintptr_t, m C.uintptr_t, id C.uint64_t, result C.int, headers *C.dm_hdr, nh C.size_t, chunks *C.dm_buf, nc C.size_t) {
}

//export envoy_dynamic_module_on_http_filter_http_stream_headers
func envoy_dynamic_module_on_http_filter_http_stream_headers(f C.uintptr_t, m C.uintptr_t, id C.uint64_t, headers *C.dm_hdr, nh C.size_t, eos C.bool) {
}

//export envoy_dynamic_module_on_http_filter_http_stream_data
func envoy_dynamic_module_on_http_filter_http_stream_data(f C.uintptr_t, m C.uintptr_t, id C.uint64_t, data *C.dm_buf, n C.size_t, eos C.bool) {
}

//export envoy_dynamic_module_on_http_filter_http_stream_trailers
func envoy_dynamic_module_on_http_filter_http_stream_trailers(f C.uintptr_t, m C.uintptr_t, id C.uint64_t, trailers *C.dm_hdr, n C.size_t) {
}

//export envoy_dynamic_module_on_http_filter_http_stream_complete
func envoy_dynamic_module_on_http_filter_http_stream_complete(f C.uintptr_t, m C.uintptr_t, id C.uint64_t) {
}

//export envoy_dynamic_module_on_http_filter_http_stream_reset
func envoy_dynamic_module_on_http_filter_http_stream_reset(f C.uintptr_t, m C.uintptr_t, id C.uint64_t, reason C.int) {
}

//export envoy_dynamic_module_on_http_filter_scheduled
func envoy_dynamic_module_on_http_filter_scheduled(f C.uintptr_t, m C.uintptr_t, id C.uint64_t) {
	cfgOf(m).onScheduled(f, uint64(id))
}

//export envoy_dynamic_module_on_http_filter_config_scheduled
func envoy_dynamic_module_on_http_filter_config_scheduled(e C.uintptr_t, c C.uintptr_t, id C.uint64_t) {
}

//export envoy_dynamic_module_on_http_filter_downstream_above_write_buffer_high_watermark
func envoy_dynamic_module_on_http_filter_downstream_above_write_buffer_high_watermark(f C.uintptr_t, m C.uintptr_t) {
}

//export envoy_dynamic_module_on_http_filter_downstream_below_write_buffer_low_watermark
func envoy_dynamic_module_on_http_filter_downstream_below_write_buffer_low_watermark(f C.uintptr_t, m C.uintptr_t) {
}

//export envoy_dynamic_module_on_http_filter_local_reply
func envoy_dynamic_module_on_http_filter_local_reply(f C.uintptr_t, m C.uintptr_t, code C.uint32_t, details C.dm_buf, resetImminent C.bool) C.int {
	return 0
}

// parseConfig reads the filter_config string: "key=value;key=value".
func parseConfig(name, s string) (*config, error) {
	c := &config{name: name, masterKey: "Bearer sk-good", mode: "request", parser: "scan", group: "gpt"}
	for _, kv := range strings.Split(s, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			continue
		}
		switch k {
		case "master_key":
			c.masterKey = "Bearer " + v
		case "mode":
			c.mode = v
		case "parser":
			c.parser = v
		case "xds":
			c.xdsAddr = v
		case "report":
			c.reportAddr = v
		case "path":
			c.path = v
		case "prefix":
			c.prefix = v
		case "redis":
			c.redisAddr = v
		case "panic_on":
			c.panicOn = v
		}
	}
	return c, nil
}
