#pragma once
// The module's per-request hooks are C functions (hooks.c) that enter Go
// only when the request's state needs it (docs/architecture.md D81). What
// Go wants of a stream is a mask of the HK_* bits in llmgate_go_hooks,
// written by Go at the end of each hook it ran (hookmask.go); a new stream
// starts with every bit set, so that nothing is skipped until Go has seen
// the stream.
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dm.h"

#define LLMGATE_MAX_STREAMS 65536
#define LLMGATE_MAX_CONFIGS 1024

// The largest success a try holds whole (upstream.go maxHeldBody) and the
// largest JSON answer the listener holds (extproc.MaxRespBody); hookmask.go
// checks both against Go's.
#define LLMGATE_MAX_HELD_BODY (4 << 20)
#define LLMGATE_MAX_RESP_BODY (4 << 20)

// Bits of llmgate_go_hooks.
#define HK_REQ_BODY 0x0001         // every request body call enters Go
#define HK_REQ_BODY_EOS 0x0002     // the end of the request body enters Go
#define HK_REQ_BODY_BUFFER 0x0004  // a request body call not entering Go buffers (else continues)
#define HK_REQ_TRAILERS 0x0008
#define HK_RESP_HEADERS 0x0010
#define HK_RESP_BODY 0x0020        // every response body call enters Go
#define HK_RESP_BODY_EOS 0x0040    // the end of the response body enters Go
#define HK_RESP_BODY_BUFFER 0x0080 // a response body call not entering Go before the end buffers
#define HK_RESP_TRAILERS 0x0100
#define HK_COMPLETE 0x0200
#define HK_DESTROY 0x0400
// A fast try's success is held in C (D114): at its response headers C reads
// the status, content-type and content-length and holds a success as Go's
// onUpstreamResponseHeaders would (HK_RESP_BODY_BUFFER until its end), or
// lets the answer pass and clears both bits.
#define HK_RESP_HOLD_UP 0x0800
// A served fast request's JSON answer is held in C (D114): at the answer's
// headers C holds a JSON success of at most LLMGATE_MAX_RESP_BODY bytes and
// sets HK_RESP_DEFERRED; Go does the headers' work with the body's at its
// end. Any other answer's headers enter Go as with HK_RESP_HEADERS.
#define HK_RESP_HOLD_JSON 0x1000
#define HK_RESP_DEFERRED 0x2000
// A fast try linked to its listener's slot (D144): when up_hold holds a 2xx
// JSON success it also asks for the body's end in Go (HK_RESP_BODY_EOS),
// where the answer's work is done on the try's answer (upstream.go
// answerAtTry); anything else clears the bit and the listener does it.
#define HK_RESP_ANSWER_UP 0x4000
// A listener whose answer its try did (D144): C applies the header
// operations the try left for it (llmgate_set_answer_ops: the router's
// x-envoy-attempt-count removed, the plan's x-litellm-* headers, the cost)
// and lets the answer pass; nothing of it is held or enters Go.
#define HK_RESP_ANSWERED 0x8000
#define HK_ALL 0xffff

// Hook numbers of the counters (llmgate_hook_calls, llmgate_hook_go).
enum {
  LLMGATE_H_NEW,
  LLMGATE_H_REQUEST_HEADERS,
  LLMGATE_H_REQUEST_BODY,
  LLMGATE_H_REQUEST_TRAILERS,
  LLMGATE_H_RESPONSE_HEADERS,
  LLMGATE_H_RESPONSE_BODY,
  LLMGATE_H_RESPONSE_TRAILERS,
  LLMGATE_H_STREAM_COMPLETE,
  LLMGATE_H_DESTROY,
  LLMGATE_NHOOKS
};

extern uint16_t llmgate_go_hooks[LLMGATE_MAX_STREAMS];
// What json_hold read of a held answer's headers, for Go's deferred work
// (D134): the status << 16 | the router's attempt count. Valid while the
// stream's mask has HK_RESP_DEFERRED (deferredHeaders). For a try, up_hold's
// status << 16 when it set HK_RESP_BODY_EOS for HK_RESP_ANSWER_UP (D144).
extern uint32_t llmgate_held_answer[LLMGATE_MAX_STREAMS];
// The slot's generation (bumped when it is handed out) and filter config.
extern uint32_t llmgate_stream_gen[LLMGATE_MAX_STREAMS];
extern uint16_t llmgate_stream_cfg[LLMGATE_MAX_STREAMS];
// Per filter config (index = Envoy's config pointer - 1): alive, and the
// per-try filter (1) or the listener's (0).
extern uint8_t llmgate_config_live[LLMGATE_MAX_CONFIGS];
extern uint8_t llmgate_config_upstream[LLMGATE_MAX_CONFIGS];

// Hook counters (LLMGATE_MODULE_HOOK_COUNTS, hookmask.go): every call Envoy
// made, and the calls that entered Go, by filter (0 listener, 1 per try).
extern int llmgate_count_hooks;
extern uint64_t llmgate_hook_calls[2][LLMGATE_NHOOKS];
extern uint64_t llmgate_hook_go[2][LLMGATE_NHOOKS];

void llmgate_free_slot(uintptr_t m);

// llmgate_header_ops applies a batch of header operations (hdrops.go) in one
// call from Go: per operation the key's length and the value's length (4
// bytes each, little endian; a value length of 0xffffffff removes the
// header), then the key and the value.
void llmgate_header_ops(uintptr_t f, int header_type, const char* ops, size_t n);

// llmgate_set_answer_ops keeps a copy of the header operations (as
// llmgate_header_ops') that listener stream m's response headers hook
// applies when its mask has HK_RESP_ANSWERED (D144).
void llmgate_set_answer_ops(uintptr_t m, const char* ops, size_t n);

// llmgate_request_body_views fills out_vec (dm_buf views, as char*: see
// abi.go's llmgate_get_body_chunks) with views of the request body's chunks
// (the buffered ones, then the one just received, unless Envoy hands the
// buffer itself as the received body: *buffered_is_received) in one call
// from Go instead of up to five (D93). It returns the number of
// chunks; more than cap: nothing was written.
size_t llmgate_request_body_views(uintptr_t f, char* out_vec, size_t cap, bool* buffered_is_received);

// llmgate_request_answer applies a served request's changes in one call
// from Go (D93): the header operations (as llmgate_header_ops), the
// metadata Structs (mds: per Struct the namespace's length and the
// Struct's, 4 bytes each, little endian, then both), the body replaced
// (when replace_body; buffered_is_received as llmgate_request_body_views
// said), the route cache cleared.
void llmgate_request_answer(uintptr_t f, const char* ops, size_t nops, const char* mds, size_t nmds, bool replace_body,
                            bool buffered_is_received, const char* body, size_t body_len);
