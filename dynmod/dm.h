#pragma once
// Types shared by the cgo files of the module (see abi.go): our own names for
// the dynamic-module ABI's structs, same layout.
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// envoy_dynamic_module_type_{envoy,module}_buffer: {ptr, length}.
typedef struct { const char* ptr; size_t length; } dm_buf;
// envoy_dynamic_module_type_{envoy,module}_http_header.
typedef struct { const char* key_ptr; size_t key_length; const char* value_ptr; size_t value_length; } dm_hdr;
