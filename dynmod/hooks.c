// The per-request hooks Envoy calls (the dynamic-module ABI's exported
// symbols), in C: each enters Go (the llmgate_go_* exports of hooks.go) only
// when the stream's mask says Go needs that call, and answers the rest here
// — a call into Go costs Envoy's worker a cgo transition whether the hook
// does anything or not (docs/architecture.md D81). The slots of the
// per-request state are handed out here too, so that creating and
// destroying a filter enters Go only when Go holds something to release.

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "_cgo_export.h"
#include "dm.h"
#include "hooks.h"

uint16_t llmgate_go_hooks[LLMGATE_MAX_STREAMS];
uint32_t llmgate_held_answer[LLMGATE_MAX_STREAMS];
uint32_t llmgate_stream_gen[LLMGATE_MAX_STREAMS];
uint16_t llmgate_stream_cfg[LLMGATE_MAX_STREAMS];
// The answer's header operations its try worked out (answer.go, D144),
// applied by the listener's response headers hook (HK_RESP_ANSWERED).
static char* answer_ops[LLMGATE_MAX_STREAMS];
static uint32_t answer_ops_len[LLMGATE_MAX_STREAMS];
uint8_t llmgate_config_live[LLMGATE_MAX_CONFIGS];
uint8_t llmgate_config_upstream[LLMGATE_MAX_CONFIGS];
int llmgate_count_hooks;
uint64_t llmgate_hook_calls[2][LLMGATE_NHOOKS];
uint64_t llmgate_hook_go[2][LLMGATE_NHOOKS];

static pthread_mutex_t slots_mu = PTHREAD_MUTEX_INITIALIZER;
static uint32_t free_slots[LLMGATE_MAX_STREAMS];
static uint32_t nfree;
static uint32_t next_slot;

static inline int kind_of_cfg(uintptr_t cfg) {
  return (cfg >= 1 && cfg <= LLMGATE_MAX_CONFIGS) ? llmgate_config_upstream[cfg - 1] : 0;
}

static inline int kind_of(uintptr_t m) {
  return (m >= 1 && m <= LLMGATE_MAX_STREAMS) ? kind_of_cfg(llmgate_stream_cfg[m - 1]) : 0;
}

static inline void count(int kind, int hook, bool go) {
  if (__builtin_expect(llmgate_count_hooks, 0)) {
    __atomic_fetch_add(&llmgate_hook_calls[kind][hook], 1, __ATOMIC_RELAXED);
    if (go) {
      __atomic_fetch_add(&llmgate_hook_go[kind][hook], 1, __ATOMIC_RELAXED);
    }
  }
}

// mask is what Go wants of stream m; a stream without a slot (0) enters Go
// for everything, as before the slots were handed out here.
static inline uint16_t mask(uintptr_t m) {
  return (m >= 1 && m <= LLMGATE_MAX_STREAMS) ? llmgate_go_hooks[m - 1] : HK_ALL;
}

uintptr_t envoy_dynamic_module_on_http_filter_new(uintptr_t cfg, uintptr_t f) {
  (void)f;
  count(kind_of_cfg(cfg), LLMGATE_H_NEW, false);
  if (cfg < 1 || cfg > LLMGATE_MAX_CONFIGS || !__atomic_load_n(&llmgate_config_live[cfg - 1], __ATOMIC_ACQUIRE)) {
    return 0;
  }
  uint32_t i;
  pthread_mutex_lock(&slots_mu);
  if (nfree > 0) {
    i = free_slots[--nfree];
  } else if (next_slot < LLMGATE_MAX_STREAMS) {
    i = next_slot++;
  } else {
    pthread_mutex_unlock(&slots_mu);
    return 0; // no slot: the request is handed to the ext_proc filter
  }
  pthread_mutex_unlock(&slots_mu);
  llmgate_stream_gen[i]++;
  llmgate_stream_cfg[i] = (uint16_t)cfg;
  llmgate_go_hooks[i] = HK_ALL;
  return (uintptr_t)i + 1;
}

void llmgate_free_slot(uintptr_t m) {
  if (m < 1 || m > LLMGATE_MAX_STREAMS) {
    return;
  }
  llmgate_go_hooks[m - 1] = HK_ALL;
  free(answer_ops[m - 1]); // (an answer whose headers never came)
  answer_ops[m - 1] = NULL;
  // A freed slot is no longer its request's: a try's link to it
  // (answer.go, D144; an internal redirect keeps llmgate.ctx) finds
  // another generation.
  llmgate_stream_gen[m - 1]++;
  pthread_mutex_lock(&slots_mu);
  free_slots[nfree++] = (uint32_t)(m - 1);
  pthread_mutex_unlock(&slots_mu);
}

void envoy_dynamic_module_on_http_filter_destroy(uintptr_t m) {
  if (m == 0) {
    return;
  }
  bool go = mask(m) & HK_DESTROY;
  count(kind_of(m), LLMGATE_H_DESTROY, go);
  if (go) {
    llmgate_go_destroy(m);
  }
  llmgate_free_slot(m);
}

int envoy_dynamic_module_on_http_filter_request_headers(uintptr_t f, uintptr_t m, bool eos) {
  count(kind_of(m), LLMGATE_H_REQUEST_HEADERS, true);
  return llmgate_go_request_headers(f, m, eos);
}

int envoy_dynamic_module_on_http_filter_request_body(uintptr_t f, uintptr_t m, bool eos) {
  uint16_t k = mask(m);
  bool go = (k & HK_REQ_BODY) || (eos && (k & HK_REQ_BODY_EOS));
  count(kind_of(m), LLMGATE_H_REQUEST_BODY, go);
  if (go) {
    return llmgate_go_request_body(f, m, eos);
  }
  return (!eos && (k & HK_REQ_BODY_BUFFER)) ? 1 /* StopIterationAndBuffer */ : 0 /* Continue */;
}

int envoy_dynamic_module_on_http_filter_request_trailers(uintptr_t f, uintptr_t m) {
  bool go = mask(m) & HK_REQ_TRAILERS;
  count(kind_of(m), LLMGATE_H_REQUEST_TRAILERS, go);
  return go ? llmgate_go_request_trailers(f, m) : 0;
}

bool envoy_dynamic_module_callback_http_get_header(uintptr_t f, int header_type, dm_buf key, dm_buf* result, size_t index,
                                                   size_t* optional_size);

bool envoy_dynamic_module_callback_http_set_header(uintptr_t f, int header_type, dm_buf key, dm_buf value);

// The ABI's response header type.
#define HDR_RESPONSE 2

static bool resp_header(uintptr_t f, const char* key, size_t klen, dm_buf* out) {
  dm_buf k = {key, klen};
  out->ptr = NULL;
  out->length = 0;
  return envoy_dynamic_module_callback_http_get_header(f, HDR_RESPONSE, k, out, 0, NULL);
}

#define RESP_HEADER(f, lit, out) resp_header((f), (lit), sizeof(lit) - 1, (out))

// dec is the value of a non-empty run of decimal digits of at most 18 (-1:
// anything else, as strconv's error).
static int64_t dec(dm_buf b) {
  if (b.length == 0 || b.length > 18) {
    return -1;
  }
  int64_t n = 0;
  for (size_t i = 0; i < b.length; i++) {
    if (b.ptr[i] < '0' || b.ptr[i] > '9') {
      return -1;
    }
    n = n * 10 + (b.ptr[i] - '0');
  }
  return n;
}

static bool contains(dm_buf b, const char* s, size_t n) {
  for (size_t i = 0; i + n <= b.length; i++) {
    if (memcmp(b.ptr + i, s, n) == 0) {
      return true;
    }
  }
  return false;
}

// too_long: the content-length says more than max (an unreadable one does
// not, as in Go: strconv's error holds).
static bool too_long(uintptr_t f, int64_t max) {
  dm_buf cl;
  if (!RESP_HEADER(f, "content-length", &cl)) {
    return false;
  }
  if (cl.length > 18) {
    for (size_t i = 0; i < cl.length; i++) {
      if (cl.ptr[i] < '0' || cl.ptr[i] > '9') {
        return false;
      }
    }
    return true; // (Go: a value past int64 is an error, held; Envoy refuses one first)
  }
  return dec(cl) > max;
}

// up_hold is Go's onUpstreamResponseHeaders for a fast try (HK_RESP_HOLD_UP,
// D114): a success (2xx/3xx) that is not an event stream and whose
// content-length is at most LLMGATE_MAX_HELD_BODY is held until its body is
// whole (its body calls buffer, its end continues: HK_RESP_BODY_BUFFER);
// anything else passes, and nothing more of the try enters Go or buffers.
static int up_hold(uintptr_t f, uintptr_t m, bool eos) {
  if (!eos) {
    dm_buf st, ct = {NULL, 0};
    int64_t code = RESP_HEADER(f, ":status", &st) ? dec(st) : -1;
    if (code >= 200 && code < 400) {
      bool stream = false;
      if (RESP_HEADER(f, "content-type", &ct)) {
        size_t i = 0;
        while (i < ct.length && (ct.ptr[i] == ' ' || (ct.ptr[i] >= '\t' && ct.ptr[i] <= '\r'))) {
          i++;
        }
        stream = ct.length - i >= 17 && memcmp(ct.ptr + i, "text/event-stream", 17) == 0;
      }
      if (!stream && !too_long(f, LLMGATE_MAX_HELD_BODY)) {
        uint16_t* k = &llmgate_go_hooks[m - 1];
        if (*k & HK_RESP_ANSWER_UP) {
          // A linked try (D144): a 2xx JSON success's answer is done at
          // its end, in Go; anything else is the listener's, as before.
          if (code < 300 && ct.length > 0 && contains(ct, "json", 4)) {
            llmgate_held_answer[m - 1] = (uint32_t)code << 16;
            *k |= HK_RESP_BODY_EOS;
          } else {
            *k &= (uint16_t)~HK_RESP_ANSWER_UP;
          }
        }
        return 1; // StopIteration
      }
    }
  }
  llmgate_go_hooks[m - 1] &= (uint16_t)~(HK_RESP_HOLD_UP | HK_RESP_BODY_BUFFER | HK_RESP_ANSWER_UP);
  return 0;
}

// json_hold is the common case of Go's onResponseHeaders for a served fast
// request's JSON answer (HK_RESP_HOLD_JSON, D114): a success with the
// router's attempt count, JSON of at most LLMGATE_MAX_RESP_BODY bytes, is
// held here and its headers' work deferred to the body's end, where Go does
// both in one call. -1: anything else, for Go's response headers hook.
static int json_hold(uintptr_t f, uintptr_t m, bool eos) {
  if (eos) {
    return -1;
  }
  dm_buf v;
  int64_t attempt = RESP_HEADER(f, "x-envoy-attempt-count", &v) ? dec(v) : -1;
  if (attempt < 0 || attempt > 0xffff) {
    return -1;
  }
  int64_t code = RESP_HEADER(f, ":status", &v) ? dec(v) : -1;
  if (code < 200 || code >= 400 || !RESP_HEADER(f, "content-type", &v) || !contains(v, "json", 4) ||
      too_long(f, LLMGATE_MAX_RESP_BODY)) {
    return -1;
  }
  // What was read here, for Go at the body's end (llmgate_held_answer).
  llmgate_held_answer[m - 1] = (uint32_t)code << 16 | (uint32_t)attempt;
  uint16_t* k = &llmgate_go_hooks[m - 1];
  *k = (uint16_t)((*k & ~HK_RESP_HOLD_JSON) | HK_RESP_DEFERRED | HK_RESP_BODY_EOS | HK_RESP_BODY_BUFFER |
                  HK_RESP_TRAILERS);
  return 1; // StopIteration
}

int envoy_dynamic_module_on_http_filter_response_headers(uintptr_t f, uintptr_t m, bool eos) {
  uint16_t k = mask(m);
  if (!(k & HK_RESP_HEADERS)) {
    if (k & HK_RESP_ANSWERED) {
      // Answered at its try (D144): the header operations it worked out
      // (the router's attempt count removed, the plan's headers, the
      // cost) are applied here, and the answer passes.
      count(kind_of(m), LLMGATE_H_RESPONSE_HEADERS, false);
      char* ops = answer_ops[m - 1];
      if (ops != NULL) {
        answer_ops[m - 1] = NULL;
        llmgate_header_ops(f, HDR_RESPONSE, ops, answer_ops_len[m - 1]);
        free(ops);
      }
      return 0;
    }
    if (k & HK_RESP_HOLD_UP) {
      count(kind_of(m), LLMGATE_H_RESPONSE_HEADERS, false);
      return up_hold(f, m, eos);
    }
    if (k & HK_RESP_HOLD_JSON) {
      int r = json_hold(f, m, eos);
      count(kind_of(m), LLMGATE_H_RESPONSE_HEADERS, r < 0);
      return r >= 0 ? r : llmgate_go_response_headers(f, m, eos);
    }
  }
  bool go = k & HK_RESP_HEADERS;
  count(kind_of(m), LLMGATE_H_RESPONSE_HEADERS, go);
  return go ? llmgate_go_response_headers(f, m, eos) : 0;
}

int envoy_dynamic_module_on_http_filter_response_body(uintptr_t f, uintptr_t m, bool eos) {
  uint16_t k = mask(m);
  bool go = (k & HK_RESP_BODY) || (eos && (k & HK_RESP_BODY_EOS));
  count(kind_of(m), LLMGATE_H_RESPONSE_BODY, go);
  if (go) {
    return llmgate_go_response_body(f, m, eos);
  }
  return (!eos && (k & HK_RESP_BODY_BUFFER)) ? 1 /* StopIterationAndBuffer */ : 0 /* Continue */;
}

int envoy_dynamic_module_on_http_filter_response_trailers(uintptr_t f, uintptr_t m) {
  bool go = mask(m) & HK_RESP_TRAILERS;
  count(kind_of(m), LLMGATE_H_RESPONSE_TRAILERS, go);
  return go ? llmgate_go_response_trailers(f, m) : 0;
}

void envoy_dynamic_module_on_http_filter_stream_complete(uintptr_t f, uintptr_t m) {
  bool go = mask(m) & HK_COMPLETE;
  count(kind_of(m), LLMGATE_H_STREAM_COMPLETE, go);
  if (go) {
    llmgate_go_stream_complete(f, m);
  }
}


static inline uint32_t le32(const char* p) {
  const unsigned char* u = (const unsigned char*)p;
  return (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 | (uint32_t)u[3] << 24;
}

void llmgate_set_answer_ops(uintptr_t m, const char* ops, size_t n) {
  if (m < 1 || m > LLMGATE_MAX_STREAMS || n > UINT32_MAX) {
    return;
  }
  char* c = malloc(n > 0 ? n : 1);
  if (c == NULL) {
    return;
  }
  memcpy(c, ops, n);
  free(answer_ops[m - 1]);
  answer_ops[m - 1] = c;
  answer_ops_len[m - 1] = (uint32_t)n;
}

bool envoy_dynamic_module_callback_http_add_header(uintptr_t f, int header_type, dm_buf key, dm_buf value);
size_t envoy_dynamic_module_callback_http_get_headers_size(uintptr_t f, int header_type);
bool envoy_dynamic_module_callback_http_get_headers(uintptr_t f, int header_type, dm_hdr* result_headers);

// Bounds of the presence check (D174): the headers read, the operations
// decided; past either, every operation is a set_header as before.
#define LLMGATE_OPS_HEADERS 64
#define LLMGATE_OPS_MAX 48

// What llmgate_header_ops does with one operation.
enum { OP_SET, OP_ADD, OP_SKIP };

// fold is c in lower case (ASCII).
static inline char fold(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c; }

// key_eq compares two keys of n bytes, case-insensitively (Envoy keeps
// keys in lower case and lower-cases those it is given).
static inline bool key_eq(const char* a, const char* b, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (fold(a[i]) != fold(b[i])) {
      return false;
    }
  }
  return true;
}

// llmgate_header_ops applies the operations (hooks.h). Envoy's set_header
// is a removal and an add (≈ 1,200 instructions, a removal as much whether
// the header is there or not: D174), so the headers are read once (one
// get_headers) and every operation decided before the first is made: a
// removal of a header that is not there is left out, a set of a header
// that is not there is an add_header (no removal). An operation on a key
// an earlier one of the batch touched reads what that one left; keys are
// compared as Envoy does, case-insensitively. A map of more than
// LLMGATE_OPS_HEADERS headers or more than LLMGATE_OPS_MAX operations:
// set_header for each, as before.
void llmgate_header_ops(uintptr_t f, int header_type, const char* ops, size_t n) {
  dm_hdr hs[LLMGATE_OPS_HEADERS];
  uint8_t how[LLMGATE_OPS_MAX];
  size_t at[LLMGATE_OPS_MAX]; // each decided operation's offset in ops
  size_t nops = 0;
  size_t nh = envoy_dynamic_module_callback_http_get_headers_size(f, header_type);
  bool decide = nh <= LLMGATE_OPS_HEADERS && (nh == 0 || envoy_dynamic_module_callback_http_get_headers(f, header_type, hs));
  // The key lengths (mod 64) of the headers and of the batch's operations
  // so far: most keys are told apart by their length alone.
  uint64_t hlen = 0, olen = 0;
  for (size_t h = 0; decide && h < nh; h++) {
    hlen |= (uint64_t)1 << (hs[h].key_length & 63);
  }
  size_t i = 0;
  while (decide && i + 8 <= n) {
    if (nops == LLMGATE_OPS_MAX) {
      decide = false;
      break;
    }
    uint32_t kl = le32(ops + i), vl = le32(ops + i + 4);
    size_t k = i + 8;
    if (kl > n - k || (vl != 0xffffffffu && vl > n - k - kl)) {
      break; // (the apply loop stops here too)
    }
    const char* key = ops + k;
    bool rm = vl == 0xffffffffu;
    uint64_t bit = (uint64_t)1 << (kl & 63);
    uint8_t d = OP_SET;
    if (vl != 0) {
      int here = -1; // what the batch's last earlier operation on the key left
      for (size_t j = 0; (olen & bit) && j < nops; j++) {
        if (le32(ops + at[j]) == kl && key_eq(ops + at[j] + 8, key, kl)) {
          uint32_t jvl = le32(ops + at[j] + 4);
          here = jvl != 0xffffffffu && jvl != 0; // (an empty value removes)
        }
      }
      if (here < 0) {
        here = 0;
        for (size_t h = 0; (hlen & bit) && h < nh; h++) {
          if (hs[h].key_length == kl && key_eq(hs[h].key_ptr, key, kl)) {
            here = 1;
            break;
          }
        }
      }
      if (!here) {
        d = rm ? OP_SKIP : OP_ADD;
      }
    }
    olen |= bit;
    how[nops] = d;
    at[nops++] = i;
    i = k + kl + (rm ? 0 : vl);
  }
  if (!decide) {
    nops = 0;
  }
  // Applied: no view of a header is read from here on (an operation may
  // free what it points to).
  i = 0;
  for (size_t o = 0; i + 8 <= n; o++) {
    uint32_t kl = le32(ops + i), vl = le32(ops + i + 4);
    i += 8;
    if (kl > n - i) {
      return;
    }
    dm_buf key = {ops + i, kl};
    i += kl;
    dm_buf value = {NULL, 0}; // a null value removes the header
    if (vl != 0xffffffffu) {
      if (vl > n - i) {
        return;
      }
      value.ptr = ops + i;
      value.length = vl;
      i += vl;
    }
    uint8_t d = o < nops ? how[o] : OP_SET;
    if (d == OP_ADD) {
      envoy_dynamic_module_callback_http_add_header(f, header_type, key, value);
    } else if (d == OP_SET) {
      envoy_dynamic_module_callback_http_set_header(f, header_type, key, value);
    }
  }
}

size_t envoy_dynamic_module_callback_http_get_body_chunks_size(uintptr_t f, int body_type);
bool envoy_dynamic_module_callback_http_get_body_chunks(uintptr_t f, int body_type, dm_buf* result_vector);
bool envoy_dynamic_module_callback_http_received_buffered_request_body(uintptr_t f);
bool envoy_dynamic_module_callback_http_append_body(uintptr_t f, int body_type, dm_buf data);
bool envoy_dynamic_module_callback_http_drain_body(uintptr_t f, int body_type, size_t number_of_bytes);
void envoy_dynamic_module_callback_http_clear_route_cache(uintptr_t f);
void envoy_dynamic_module_callback_http_set_dynamic_metadata_struct(uintptr_t f, dm_buf ns, dm_buf serialized_struct);

// The ABI's body types: the body received in this call, and the buffered one.
#define BODY_RECEIVED 0
#define BODY_BUFFERED 1

size_t llmgate_request_body_views(uintptr_t f, char* out_vec, size_t cap, bool* buffered_is_received) {
  dm_buf* out = (dm_buf*)out_vec;
  bool bir = envoy_dynamic_module_callback_http_received_buffered_request_body(f);
  *buffered_is_received = bir;
  size_t nb = bir ? 0 : envoy_dynamic_module_callback_http_get_body_chunks_size(f, BODY_BUFFERED);
  size_t nr = envoy_dynamic_module_callback_http_get_body_chunks_size(f, BODY_RECEIVED);
  size_t n = nb + nr;
  if (n == 0 || n > cap) {
    return n;
  }
  if (nb > 0) {
    envoy_dynamic_module_callback_http_get_body_chunks(f, BODY_BUFFERED, out);
  }
  if (nr > 0) {
    envoy_dynamic_module_callback_http_get_body_chunks(f, BODY_RECEIVED, out + nb);
  }
  return n;
}

void envoy_dynamic_module_callback_http_set_dynamic_metadata_string_batch(uintptr_t f, dm_buf ns, const dm_hdr* pairs,
                                                                          size_t n);
void envoy_dynamic_module_callback_http_set_dynamic_metadata_bool(uintptr_t f, dm_buf ns, dm_buf key, bool value);

// varint reads a protobuf varint of at most 4 bytes (a length here) at *i
// of b (n bytes); false: none.
static bool varint(const char* b, size_t n, size_t* i, uint32_t* out) {
  uint32_t v = 0;
  for (int shift = 0; shift < 28 && *i < n; shift += 7) {
    unsigned char c = (unsigned char)b[(*i)++];
    v |= (uint32_t)(c & 0x7f) << shift;
    if (!(c & 0x80)) {
      *out = v;
      return true;
    }
  }
  return false;
}

// LLMGATE_MD_MAX bounds the entries llmgate_set_metadata sets without the
// Struct.
#define LLMGATE_MD_MAX 24

// llmgate_set_metadata merges a serialized google.protobuf.Struct into
// namespace ns of the request's dynamic metadata (D174). A Struct whose
// entries are all strings and bools (llmgate.ctx on the fast path) is set
// with one string batch and one call per bool: Envoy then neither parses
// the Struct nor checks its strings, and the namespace holds the same
// fields. Anything else (a nested value, a number, more than
// LLMGATE_MD_MAX entries, bytes it does not read as written by
// extproc's writers) goes as the Struct, as before.
static void llmgate_set_metadata(uintptr_t f, dm_buf ns, dm_buf md) {
  dm_hdr strs[LLMGATE_MD_MAX];
  dm_buf bool_keys[4];
  bool bool_values[4];
  size_t ns_ = 0, nb = 0, i = 0;
  const char* b = md.ptr;
  size_t n = md.length;
  while (i < n) {
    uint32_t entry, kl, vl, sl;
    // fields (1): a map entry {key (1): string, value (2): Value}.
    if (b[i++] != 0x0a || !varint(b, n, &i, &entry) || entry > n - i) {
      goto whole;
    }
    size_t end = i + entry;
    if (i >= end || b[i++] != 0x0a || !varint(b, end, &i, &kl) || kl > end - i) {
      goto whole;
    }
    dm_buf key = {b + i, kl};
    i += kl;
    if (i >= end || b[i++] != 0x12 || !varint(b, end, &i, &vl) || vl != end - i || i >= end) {
      goto whole;
    }
    if (b[i] == 0x1a) { // string_value (3)
      i++;
      if (!varint(b, end, &i, &sl) || sl != end - i || ns_ == LLMGATE_MD_MAX) {
        goto whole;
      }
      strs[ns_++] = (dm_hdr){key.ptr, key.length, b + i, sl};
    } else if (b[i] == 0x20 && end - i == 2 && (b[i + 1] == 0 || b[i + 1] == 1)) { // bool_value (4)
      if (nb == 4) {
        goto whole;
      }
      bool_keys[nb] = key;
      bool_values[nb++] = b[i + 1] == 1;
    } else {
      goto whole;
    }
    i = end;
  }
  if (ns_ + nb == 0) {
    goto whole; // (the Struct creates the namespace, an empty batch does not)
  }
  // (A key set twice keeps its last value in both ways; the writers set
  // each once.)
  if (ns_ > 0) {
    envoy_dynamic_module_callback_http_set_dynamic_metadata_string_batch(f, ns, strs, ns_);
  }
  for (size_t j = 0; j < nb; j++) {
    envoy_dynamic_module_callback_http_set_dynamic_metadata_bool(f, ns, bool_keys[j], bool_values[j]);
  }
  return;
whole:
  envoy_dynamic_module_callback_http_set_dynamic_metadata_struct(f, ns, md);
}

void llmgate_request_answer(uintptr_t f, const char* ops, size_t nops, const char* mds, size_t nmds, bool replace_body,
                            bool buffered_is_received, const char* body, size_t body_len) {
  llmgate_header_ops(f, 0 /* request headers */, ops, nops);
  if (replace_body) {
    const size_t all = (size_t)-1 >> 1;
    if (!buffered_is_received) {
      envoy_dynamic_module_callback_http_drain_body(f, BODY_BUFFERED, all);
    }
    envoy_dynamic_module_callback_http_drain_body(f, BODY_RECEIVED, all);
    dm_buf b = {body, body_len};
    envoy_dynamic_module_callback_http_append_body(f, BODY_RECEIVED, b);
  }
  size_t i = 0;
  while (i + 8 <= nmds) {
    uint32_t nl = le32(mds + i), ml = le32(mds + i + 4);
    i += 8;
    if (nl > nmds - i || ml > nmds - i - nl) {
      break;
    }
    dm_buf ns = {mds + i, nl}, md = {mds + i + nl, ml};
    i += nl + ml;
    llmgate_set_metadata(f, ns, md);
  }
  envoy_dynamic_module_callback_http_clear_route_cache(f);
}
