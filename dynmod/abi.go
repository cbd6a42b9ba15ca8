package main

// Hand-written cgo bindings to the dynamic-module ABI of Envoy 1.40.0 (ABI
// version "v0.2.0"). Only the callbacks the module uses are declared, in our
// own typedefs (dm.h). Pointers Envoy owns are uintptr_t here (the same
// registers as void*), so no Go pointer is ever kept by Envoy. The callbacks
// resolve at dlopen time against the symbols the Envoy binary exports
// (`nm -D envoy | grep envoy_dynamic_module_callback`), hence the
// unresolved-symbols flag. A signature that is wrong is not caught by the
// loader: `make test` loads the module into the real Envoy and runs a request
// through every hook path (e2e TestRequestModule*).
//
// noescape/nocallback only where no hook can re-enter the module:
// send_response runs the local-reply path, which calls the module's
// local_reply and response hooks, and continue_decoding runs the rest of the
// filter chain.

/*
#cgo LDFLAGS: -Wl,--unresolved-symbols=ignore-all
#cgo noescape envoy_dynamic_module_callback_http_get_header
#cgo nocallback envoy_dynamic_module_callback_http_get_header
#cgo nocallback envoy_dynamic_module_callback_http_get_headers_size
#cgo noescape envoy_dynamic_module_callback_http_set_header
#cgo nocallback envoy_dynamic_module_callback_http_set_header
#cgo noescape llmgate_get_headers
#cgo nocallback llmgate_get_headers
#cgo noescape llmgate_get_body_chunks
#cgo nocallback llmgate_get_body_chunks
#cgo nocallback envoy_dynamic_module_callback_http_get_body_chunks_size
#cgo nocallback envoy_dynamic_module_callback_http_received_buffered_request_body
#cgo noescape envoy_dynamic_module_callback_http_append_body
#cgo nocallback envoy_dynamic_module_callback_http_append_body
#cgo nocallback envoy_dynamic_module_callback_http_drain_body
#cgo noescape envoy_dynamic_module_callback_http_send_response
#cgo nocallback envoy_dynamic_module_callback_http_clear_route_cache
#cgo noescape envoy_dynamic_module_callback_http_set_dynamic_metadata_struct
#cgo nocallback envoy_dynamic_module_callback_http_set_dynamic_metadata_struct
#cgo noescape envoy_dynamic_module_callback_log
#cgo nocallback envoy_dynamic_module_callback_log

#include "dm.h"

void envoy_dynamic_module_callback_log(int level, dm_buf message);
bool envoy_dynamic_module_callback_http_get_header(uintptr_t f, int header_type, dm_buf key, dm_buf* result, size_t index, size_t* optional_size);
size_t envoy_dynamic_module_callback_http_get_headers_size(uintptr_t f, int header_type);
bool envoy_dynamic_module_callback_http_get_headers(uintptr_t f, int header_type, dm_hdr* result_headers);
bool envoy_dynamic_module_callback_http_set_header(uintptr_t f, int header_type, dm_buf key, dm_buf value);
size_t envoy_dynamic_module_callback_http_get_body_chunks_size(uintptr_t f, int body_type);
bool envoy_dynamic_module_callback_http_get_body_chunks(uintptr_t f, int body_type, dm_buf* result_vector);
bool envoy_dynamic_module_callback_http_received_buffered_request_body(uintptr_t f);
bool envoy_dynamic_module_callback_http_append_body(uintptr_t f, int body_type, dm_buf data);
bool envoy_dynamic_module_callback_http_drain_body(uintptr_t f, int body_type, size_t number_of_bytes);
void envoy_dynamic_module_callback_http_send_response(uintptr_t f, uint32_t status, dm_hdr* headers, size_t n, dm_buf body, dm_buf details);
void envoy_dynamic_module_callback_http_clear_route_cache(uintptr_t f);
// 1.40: signature read from the binary (rdi, rsi:rdx, rcx:r8); see docs/datapath-spike/dynmod/FINDINGS.md.
void envoy_dynamic_module_callback_http_set_dynamic_metadata_struct(uintptr_t f, dm_buf ns, dm_buf serialized_struct);

// The vectors Envoy fills, passed as char*: a dm_hdr* or dm_buf* argument
// makes cgo check the whole Go array behind it, element by element, for Go
// pointers (cgocheck=1, the default) — 27,000 instructions per call for
// the response's 256 views, ≈ 9 % of the typical request's in Envoy (D165).
// Envoy only writes its own pointers there.
static inline bool llmgate_get_headers(uintptr_t f, int header_type, char* out) {
  return envoy_dynamic_module_callback_http_get_headers(f, header_type, (dm_hdr*)out);
}
static inline bool llmgate_get_body_chunks(uintptr_t f, int body_type, char* out) {
  return envoy_dynamic_module_callback_http_get_body_chunks(f, body_type, (dm_buf*)out);
}
*/
import "C"

import (
	"runtime"
	"unsafe"

	"github.com/llmgate/llmgate/extproc"
)

// Enum values of the ABI (C enums, in declaration order).
const (
	hdrRequest = 0 // envoy_dynamic_module_type_http_header_type_RequestHeader

	bodyReceivedRequest = 0 // envoy_dynamic_module_type_http_body_type_ReceivedRequestBody
	bodyBufferedRequest = 1 // ..._BufferedRequestBody

	reqHeadersContinue      = 0
	reqHeadersStopIteration = 1
	reqBodyContinue         = 0
	reqBodyStopAndBuffer    = 1

	logInfo  = 2
	logWarn  = 3
	logError = 4
)

// abiVersionString is the ABI version the bindings are written for; what
// envoy_dynamic_module_on_program_init returns. Envoy 1.40.0 logs "Dynamic
// module ABI version v0.2.0 matched." (a mismatch is only a warning, so
// llmgate checks the log: gateway/module.go). A variable so that
// the e2e test can build a module that claims another version (-ldflags -X).
var abiVersionString = "v0.2.0"

var abiVersion = C.CString(abiVersionString)

func buf(s string) C.dm_buf {
	return C.dm_buf{ptr: (*C.char)(unsafe.Pointer(unsafe.StringData(s))), length: C.size_t(len(s))}
}

func bufb(b []byte) C.dm_buf {
	return C.dm_buf{ptr: (*C.char)(unsafe.Pointer(unsafe.SliceData(b))), length: C.size_t(len(b))}
}

// view is a Go byte slice over Envoy-owned memory: valid only during the
// current hook, never retained.
func view(p *C.char, n C.size_t) []byte {
	if p == nil || n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n))
}

func envoyLog(level int, msg string) {
	C.envoy_dynamic_module_callback_log(C.int(level), buf(msg))
}

func getHeader(f C.uintptr_t, key string) ([]byte, bool) {
	var out C.dm_buf
	if !bool(C.envoy_dynamic_module_callback_http_get_header(f, hdrRequest, buf(key), &out, 0, nil)) {
		return nil, false
	}
	return view(out.ptr, out.length), true
}

// headerCount is the number of request header values (a repeated header
// counts once per value).
func headerCount(f C.uintptr_t) int {
	return int(C.envoy_dynamic_module_callback_http_get_headers_size(f, hdrRequest))
}

// headers fills out with views of every request header, n of them (the
// headerCount the caller read: one callback fewer, D93); it returns how
// many it wrote (0 when out is too small).
func headers(f C.uintptr_t, n int, out []C.dm_hdr) int {
	if n == 0 || n > len(out) {
		return 0
	}
	if !bool(C.llmgate_get_headers(f, hdrRequest, (*C.char)(unsafe.Pointer(&out[0])))) {
		return 0
	}
	return n
}

func setHeader(f C.uintptr_t, key, value string) {
	C.envoy_dynamic_module_callback_http_set_header(f, hdrRequest, buf(key), buf(value))
}

func setHeaderBytes(f C.uintptr_t, key string, value []byte) {
	C.envoy_dynamic_module_callback_http_set_header(f, hdrRequest, buf(key), bufb(value))
}

// removeHeader removes every value of a request header (set_header with a
// null value).
func removeHeader(f C.uintptr_t, key string) {
	C.envoy_dynamic_module_callback_http_set_header(f, hdrRequest, buf(key), C.dm_buf{})
}

func removeHeaderBytes(f C.uintptr_t, key []byte) {
	C.envoy_dynamic_module_callback_http_set_header(f, hdrRequest, bufb(key), C.dm_buf{})
}

// sendResponse answers the client from the module (a local reply).
func sendResponse(f C.uintptr_t, status int, body, details string) {
	sendReply(f, &extproc.ModuleReply{Status: status, Headers: [][2]string{{"content-type", "application/json"}}, Body: []byte(body), Details: details})
}

// sendReply answers the client from the module (a local reply).
func sendReply(f C.uintptr_t, r *extproc.ModuleReply) {
	var hs [16]C.dm_hdr
	// The array holds pointers to Go strings: pinned for the call (cgo's rule).
	var pin runtime.Pinner
	defer pin.Unpin()
	n := 0
	for _, kv := range r.Headers {
		if kv[0] == "" || kv[1] == "" {
			continue
		}
		pin.Pin(unsafe.StringData(kv[0]))
		pin.Pin(unsafe.StringData(kv[1]))
		if n == len(hs) {
			break
		}
		hs[n] = C.dm_hdr{
			key_ptr: (*C.char)(unsafe.Pointer(unsafe.StringData(kv[0]))), key_length: C.size_t(len(kv[0])),
			value_ptr: (*C.char)(unsafe.Pointer(unsafe.StringData(kv[1]))), value_length: C.size_t(len(kv[1])),
		}
		n++
	}
	var hp *C.dm_hdr
	if n > 0 {
		hp = &hs[0]
	}
	C.envoy_dynamic_module_callback_http_send_response(f, C.uint32_t(r.Status), hp, C.size_t(n), bufb(r.Body), buf(r.Details))
}

func clearRouteCache(f C.uintptr_t) { C.envoy_dynamic_module_callback_http_clear_route_cache(f) }

// setMetadataStruct merges a serialized google.protobuf.Struct into the
// request's dynamic metadata namespace ns.
func setMetadataStruct(f C.uintptr_t, ns string, serialized []byte) {
	C.envoy_dynamic_module_callback_http_set_dynamic_metadata_struct(f, buf(ns), bufb(serialized))
}

// bodyChunks fills out with views of the request body's chunks: those
// buffered by earlier hooks, then the one just received (unless Envoy hands
// the buffer itself as the received body). n is the number of chunks; when it
// is more than len(out), nothing was written.
func bodyChunks(f C.uintptr_t, out []C.dm_buf) (n int, bufferedIsReceived bool) {
	bufferedIsReceived = bool(C.envoy_dynamic_module_callback_http_received_buffered_request_body(f))
	nb := 0
	if !bufferedIsReceived {
		nb = int(C.envoy_dynamic_module_callback_http_get_body_chunks_size(f, bodyBufferedRequest))
	}
	nr := int(C.envoy_dynamic_module_callback_http_get_body_chunks_size(f, bodyReceivedRequest))
	n = nb + nr
	if n == 0 || n > len(out) {
		return n, bufferedIsReceived
	}
	if nb > 0 {
		getBodyChunks(f, bodyBufferedRequest, out[:nb])
	}
	if nr > 0 {
		getBodyChunks(f, bodyReceivedRequest, out[nb:n])
	}
	return n, bufferedIsReceived
}

// getBodyChunks fills out, which has the right length, with views of the
// chunks of one body type (request or response).
func getBodyChunks(f C.uintptr_t, bodyType C.int, out []C.dm_buf) {
	C.llmgate_get_body_chunks(f, bodyType, (*C.char)(unsafe.Pointer(&out[0])))
}

// replaceBody drains the whole request body (buffered and received) and
// puts body in its place.
func replaceBody(f C.uintptr_t, bufferedIsReceived bool, body []byte) {
	const all = C.size_t(^uint(0) >> 1)
	if !bufferedIsReceived {
		C.envoy_dynamic_module_callback_http_drain_body(f, bodyBufferedRequest, all)
	}
	C.envoy_dynamic_module_callback_http_drain_body(f, bodyReceivedRequest, all)
	C.envoy_dynamic_module_callback_http_append_body(f, bodyReceivedRequest, bufb(body))
}
