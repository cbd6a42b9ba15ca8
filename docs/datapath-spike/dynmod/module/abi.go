package main

// Minimal hand-written cgo bindings to the dynamic-module ABI of Envoy 1.40.0
// (ABI version string "v0.2.0"). Only the hooks and callbacks this spike uses
// are declared. Pointers that Envoy owns are uintptr_t here (same registers as
// void*), so that no Go pointer ever crosses into Envoy.
//
// The callbacks are resolved at dlopen time against the symbols the Envoy
// binary exports (nm -D envoy | grep envoy_dynamic_module_callback), hence the
// unresolved-symbols flag.

/*
#cgo LDFLAGS: -Wl,--unresolved-symbols=ignore-all
#cgo noescape envoy_dynamic_module_callback_http_get_header
#cgo nocallback envoy_dynamic_module_callback_http_get_header
#cgo noescape envoy_dynamic_module_callback_http_set_header
#cgo nocallback envoy_dynamic_module_callback_http_set_header
#cgo noescape envoy_dynamic_module_callback_http_get_body_chunks
#cgo nocallback envoy_dynamic_module_callback_http_get_body_chunks
#cgo nocallback envoy_dynamic_module_callback_http_get_body_chunks_size
#cgo nocallback envoy_dynamic_module_callback_http_received_buffered_request_body
// send_response runs the local-reply path, which calls back into the module
// (on_http_filter_local_reply, response hooks): no nocallback for it.
#cgo noescape envoy_dynamic_module_callback_http_send_response
#cgo nocallback envoy_dynamic_module_callback_http_clear_route_cache
#cgo noescape envoy_dynamic_module_callback_http_set_dynamic_metadata_struct
#cgo nocallback envoy_dynamic_module_callback_http_set_dynamic_metadata_struct
#cgo noescape envoy_dynamic_module_callback_http_set_dynamic_metadata_string
#cgo nocallback envoy_dynamic_module_callback_http_set_dynamic_metadata_string
#cgo noescape envoy_dynamic_module_callback_http_filter_get_attribute_int
#cgo nocallback envoy_dynamic_module_callback_http_filter_get_attribute_int
#cgo noescape envoy_dynamic_module_callback_http_filter_get_attribute_string
#cgo nocallback envoy_dynamic_module_callback_http_filter_get_attribute_string
#cgo noescape envoy_dynamic_module_callback_http_get_metadata_string
#cgo nocallback envoy_dynamic_module_callback_http_get_metadata_string
#cgo nocallback envoy_dynamic_module_callback_http_filter_scheduler_new
#cgo nocallback envoy_dynamic_module_callback_http_filter_scheduler_commit
#cgo nocallback envoy_dynamic_module_callback_http_filter_scheduler_delete
#cgo noescape envoy_dynamic_module_callback_log
#cgo nocallback envoy_dynamic_module_callback_log

#include "dm.h"

void envoy_dynamic_module_callback_log(int level, dm_buf message);
bool envoy_dynamic_module_callback_http_get_header(uintptr_t f, int header_type, dm_buf key, dm_buf* result, size_t index, size_t* optional_size);
bool envoy_dynamic_module_callback_http_set_header(uintptr_t f, int header_type, dm_buf key, dm_buf value);
size_t envoy_dynamic_module_callback_http_get_body_chunks_size(uintptr_t f, int body_type);
bool envoy_dynamic_module_callback_http_get_body_chunks(uintptr_t f, int body_type, dm_buf* result_vector);
bool envoy_dynamic_module_callback_http_received_buffered_request_body(uintptr_t f);
void envoy_dynamic_module_callback_http_send_response(uintptr_t f, uint32_t status, dm_hdr* headers, size_t n, dm_buf body, dm_buf details);
void envoy_dynamic_module_callback_http_clear_route_cache(uintptr_t f);
// 1.40: not in the 1.38 header; signature read from the 1.40.0 binary (rdi, rsi:rdx, rcx:r8).
void envoy_dynamic_module_callback_http_set_dynamic_metadata_struct(uintptr_t f, dm_buf ns, dm_buf serialized_struct);
void envoy_dynamic_module_callback_http_set_dynamic_metadata_string(uintptr_t f, dm_buf ns, dm_buf key, dm_buf value);
bool envoy_dynamic_module_callback_http_get_metadata_string(uintptr_t f, int source, dm_buf ns, dm_buf key, dm_buf* result);
uintptr_t envoy_dynamic_module_callback_http_filter_scheduler_new(uintptr_t f);
void envoy_dynamic_module_callback_http_filter_scheduler_commit(uintptr_t scheduler, uint64_t event_id);
void envoy_dynamic_module_callback_http_filter_scheduler_delete(uintptr_t scheduler);
void envoy_dynamic_module_callback_http_filter_continue_decoding(uintptr_t f);
bool envoy_dynamic_module_callback_http_filter_get_attribute_int(uintptr_t f, int id, uint64_t* result);
bool envoy_dynamic_module_callback_http_filter_get_attribute_string(uintptr_t f, int id, dm_buf* result);
*/
import "C"

import (
	"unsafe"
)

// Enum values (C enums, in declaration order).
const (
	hdrRequest  = 0 // envoy_dynamic_module_type_http_header_type_RequestHeader
	hdrResponse = 2 // ..._ResponseHeader

	bodyReceivedRequest = 0 // envoy_dynamic_module_type_http_body_type_ReceivedRequestBody
	bodyBufferedRequest = 1 // ..._BufferedRequestBody

	reqHeadersContinue      = 0
	reqHeadersStopIteration = 1
	reqBodyContinue         = 0
	reqBodyStopAndBuffer    = 1
	reqBodyStopNoBuffer     = 3

	mdSourceDynamic = 0 // envoy_dynamic_module_type_metadata_source_Dynamic
	mdSourceCluster = 2

	attrRequestID          = 9  // request.id
	attrResponseCode       = 15 // response.code
	attrUpstreamAttemptCnt = 53 // upstream.request_attempt_count
	attrXdsClusterName     = 57 // xds.cluster_name
	logInfo                = 2
	logWarn                = 3
)

// abiVersion is what envoy_dynamic_module_on_program_init returns; Envoy
// 1.40.0 logs "ABI version v0.2.0 matched" (a mismatch is only a warning).
var abiVersion = C.CString("v0.2.0")

func buf(s string) C.dm_buf {
	return C.dm_buf{ptr: (*C.char)(unsafe.Pointer(unsafe.StringData(s))), length: C.size_t(len(s))}
}

func bufb(b []byte) C.dm_buf {
	return C.dm_buf{ptr: (*C.char)(unsafe.Pointer(unsafe.SliceData(b))), length: C.size_t(len(b))}
}

// view is a Go byte slice over Envoy-owned memory: valid only during the
// current hook, never retained.
func view(b C.dm_buf) []byte {
	if b.ptr == nil || b.length == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(b.ptr)), int(b.length))
}

func envoyLog(level int, msg string) {
	C.envoy_dynamic_module_callback_log(C.int(level), buf(msg))
}

func getHeader(f C.uintptr_t, kind int, key string) ([]byte, bool) {
	var out C.dm_buf
	ok := C.envoy_dynamic_module_callback_http_get_header(f, C.int(kind), buf(key), &out, 0, nil)
	if !bool(ok) {
		return nil, false
	}
	return view(out), true
}

func setHeader(f C.uintptr_t, kind int, key, value string) {
	C.envoy_dynamic_module_callback_http_set_header(f, C.int(kind), buf(key), buf(value))
}

func removeHeader(f C.uintptr_t, kind int, key string) {
	C.envoy_dynamic_module_callback_http_set_header(f, C.int(kind), buf(key), C.dm_buf{})
}

func sendResponse(f C.uintptr_t, status int, contentType, body, details string) {
	h := [1]C.dm_hdr{{
		key_ptr:      (*C.char)(unsafe.Pointer(unsafe.StringData("content-type"))),
		key_length:   12,
		value_ptr:    (*C.char)(unsafe.Pointer(unsafe.StringData(contentType))),
		value_length: C.size_t(len(contentType)),
	}}
	C.envoy_dynamic_module_callback_http_send_response(f, C.uint32_t(status), &h[0], 1, buf(body), buf(details))
}

func clearRouteCache(f C.uintptr_t) { C.envoy_dynamic_module_callback_http_clear_route_cache(f) }

func setMetadataStruct(f C.uintptr_t, ns string, serialized []byte) {
	C.envoy_dynamic_module_callback_http_set_dynamic_metadata_struct(f, buf(ns), bufb(serialized))
}

func setMetadataString(f C.uintptr_t, ns, key, value string) {
	C.envoy_dynamic_module_callback_http_set_dynamic_metadata_string(f, buf(ns), buf(key), buf(value))
}

func getMetadataString(f C.uintptr_t, source int, ns, key string) ([]byte, bool) {
	var out C.dm_buf
	if !bool(C.envoy_dynamic_module_callback_http_get_metadata_string(f, C.int(source), buf(ns), buf(key), &out)) {
		return nil, false
	}
	return view(out), true
}

// schedulerNew must be called on the worker thread (inside a hook); the
// scheduler may then be committed from any thread (a goroutine): Envoy posts
// on_http_filter_scheduled to the filter's worker thread.
func schedulerNew(f C.uintptr_t) C.uintptr_t {
	return C.envoy_dynamic_module_callback_http_filter_scheduler_new(f)
}

func schedulerCommit(s C.uintptr_t, id uint64) {
	C.envoy_dynamic_module_callback_http_filter_scheduler_commit(s, C.uint64_t(id))
}

func schedulerDelete(s C.uintptr_t) { C.envoy_dynamic_module_callback_http_filter_scheduler_delete(s) }

// continueDecoding resumes a stopped request; it runs the rest of the filter
// chain (and may call back into the module).
func continueDecoding(f C.uintptr_t) {
	C.envoy_dynamic_module_callback_http_filter_continue_decoding(f)
}

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
	return view(out), true
}

// requestBody calls fn with the whole request body. The common case (one
// chunk) is a zero-copy view of Envoy's buffer; several chunks are copied
// into scratch.
func requestBody(f C.uintptr_t, scratch []byte, fn func([]byte)) []byte {
	kinds := [2]int{bodyBufferedRequest, bodyReceivedRequest}
	nk := 2
	if bool(C.envoy_dynamic_module_callback_http_received_buffered_request_body(f)) {
		kinds[0], nk = bodyReceivedRequest, 1
	}
	var counts [2]int
	total := 0
	for i, k := range kinds[:nk] {
		counts[i] = int(C.envoy_dynamic_module_callback_http_get_body_chunks_size(f, C.int(k)))
		total += counts[i]
	}
	var stack [32]C.dm_buf
	all := stack[:]
	if total > len(stack) {
		all = make([]C.dm_buf, total)
	}
	all = all[:total]
	n := 0
	for i, k := range kinds[:nk] {
		if counts[i] > 0 {
			C.envoy_dynamic_module_callback_http_get_body_chunks(f, C.int(k), &all[n])
			n += counts[i]
		}
	}
	if len(all) == 1 {
		fn(view(all[0]))
		return scratch
	}
	scratch = scratch[:0]
	for _, c := range all {
		scratch = append(scratch, view(c)...)
	}
	fn(scratch)
	return scratch
}
