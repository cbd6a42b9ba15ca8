package main

// The callbacks of the response side (D54), declared as in abi.go (our own
// typedefs, Envoy-owned pointers as uintptr_t). Header type 2 is
// ResponseHeader; body types 2 and 3 are ReceivedResponseBody and
// BufferedResponseBody; metadata source 0 is the stream's dynamic metadata.

/*
#cgo noescape envoy_dynamic_module_callback_http_get_metadata_string
#cgo nocallback envoy_dynamic_module_callback_http_get_metadata_string
#cgo nocallback envoy_dynamic_module_callback_http_received_buffered_response_body

#include "dm.h"

bool envoy_dynamic_module_callback_http_get_header(uintptr_t f, int header_type, dm_buf key, dm_buf* result, size_t index, size_t* optional_size);
bool envoy_dynamic_module_callback_http_set_header(uintptr_t f, int header_type, dm_buf key, dm_buf value);
size_t envoy_dynamic_module_callback_http_get_body_chunks_size(uintptr_t f, int body_type);
bool envoy_dynamic_module_callback_http_received_buffered_response_body(uintptr_t f);
bool envoy_dynamic_module_callback_http_append_body(uintptr_t f, int body_type, dm_buf data);
bool envoy_dynamic_module_callback_http_drain_body(uintptr_t f, int body_type, size_t number_of_bytes);
void envoy_dynamic_module_callback_http_set_dynamic_metadata_struct(uintptr_t f, dm_buf ns, dm_buf serialized_struct);
bool envoy_dynamic_module_callback_http_get_metadata_string(uintptr_t f, int source, dm_buf ns, dm_buf key, dm_buf* result);
*/
import "C"

const (
	hdrResponse = 2 // envoy_dynamic_module_type_http_header_type_ResponseHeader

	bodyReceivedResponse = 2 // ..._ReceivedResponseBody
	bodyBufferedResponse = 3 // ..._BufferedResponseBody

	respHeadersContinue      = 0
	respHeadersStopIteration = 1
	respBodyContinue         = 0
	respBodyStopAndBuffer    = 1

	mdSourceDynamic = 0 // envoy_dynamic_module_type_metadata_source_Dynamic
)

func getRespHeader(f C.uintptr_t, key string) ([]byte, bool) {
	if countingHooks() {
		callbackCounts.add("response_header_reads", key)
	}
	var out C.dm_buf
	if !bool(C.envoy_dynamic_module_callback_http_get_header(f, hdrResponse, buf(key), &out, 0, nil)) {
		return nil, false
	}
	return view(out.ptr, out.length), true
}

func setRespHeader(f C.uintptr_t, key, value string) {
	C.envoy_dynamic_module_callback_http_set_header(f, hdrResponse, buf(key), buf(value))
}

func removeRespHeader(f C.uintptr_t, key string) {
	C.envoy_dynamic_module_callback_http_set_header(f, hdrResponse, buf(key), C.dm_buf{})
}

// getDynamicString reads a string of the request's dynamic metadata (a
// view, valid during the current hook).
func getDynamicString(f C.uintptr_t, ns, key string) ([]byte, bool) {
	var out C.dm_buf
	if !bool(C.envoy_dynamic_module_callback_http_get_metadata_string(f, mdSourceDynamic, buf(ns), buf(key), &out)) {
		return nil, false
	}
	return view(out.ptr, out.length), true
}

// respBodyChunks fills out with views of the response body: the chunks
// buffered by earlier hooks (when buffered), then the one just received.
// n > len(out): nothing was written.
func respBodyChunks(f C.uintptr_t, buffered bool, out []C.dm_buf) (n int, bufferedIsReceived bool) {
	nb := 0
	if buffered {
		bufferedIsReceived = bool(C.envoy_dynamic_module_callback_http_received_buffered_response_body(f))
		if !bufferedIsReceived {
			nb = int(C.envoy_dynamic_module_callback_http_get_body_chunks_size(f, bodyBufferedResponse))
		}
	}
	nr := int(C.envoy_dynamic_module_callback_http_get_body_chunks_size(f, bodyReceivedResponse))
	n = nb + nr
	if n == 0 || n > len(out) {
		return n, bufferedIsReceived
	}
	if nb > 0 {
		getBodyChunks(f, bodyBufferedResponse, out[:nb])
	}
	if nr > 0 {
		getBodyChunks(f, bodyReceivedResponse, out[nb:n])
	}
	return n, bufferedIsReceived
}

// replaceRespBody drains the response body (the buffered part too when
// buffered) and puts body in its place.
func replaceRespBody(f C.uintptr_t, buffered, bufferedIsReceived bool, body []byte) {
	const all = C.size_t(^uint(0) >> 1)
	if buffered && !bufferedIsReceived {
		C.envoy_dynamic_module_callback_http_drain_body(f, bodyBufferedResponse, all)
	}
	C.envoy_dynamic_module_callback_http_drain_body(f, bodyReceivedResponse, all)
	if len(body) > 0 {
		C.envoy_dynamic_module_callback_http_append_body(f, bodyReceivedResponse, bufb(body))
	}
}

func setDynamicStruct(f C.uintptr_t, ns string, serialized []byte) {
	C.envoy_dynamic_module_callback_http_set_dynamic_metadata_struct(f, buf(ns), bufb(serialized))
}
