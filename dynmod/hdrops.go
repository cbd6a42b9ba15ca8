package main

/*
#cgo noescape llmgate_header_ops
#cgo nocallback llmgate_header_ops

#include "hooks.h"
*/
import "C"

import (
	"encoding/binary"
	"unsafe"
)

// A hook's header operations are applied in one cgo call (llmgate_header_ops
// in hooks.c) instead of one set_header call each (docs/architecture.md
// D87): a fast request sets or removes ≈ 38 headers over its hooks, and
// each call from Go into Envoy costs a cgo transition. The operations are
// encoded, in order, into one byte slice (no Go pointers in it, so cgo's
// pointer check has nothing to look at), usually over an array on the
// hook's stack:
//
//	var a [hdrOpsSize]byte
//	ops := setOp(a[:0], "x-a", "1")
//	ops = removeOp(ops, "x-b")
//	applyOps(f, hdrRequest, ops)
//
// They take effect when applied: a hook reads no header it has queued an
// operation for before applying them. C reads the headers once and makes
// only what changes them (D174): the removal of a header that is not there
// is left out, the set of one that is not there is an add.

// hdrOpsSize is the stack array a hook's operations usually fit in.
const hdrOpsSize = 1024

// removed is the value length that removes the header.
const removed = 0xffffffff

// setOp queues setting a header (replacing every value it had). An empty
// value removes the header, as the single call did for the empty strings
// the hooks set (Go hands a nil pointer for them, which Envoy takes as a
// removal).
func setOp(ops []byte, key, value string) []byte {
	if value == "" {
		return removeOp(ops, key)
	}
	ops = binary.LittleEndian.AppendUint32(ops, uint32(len(key)))
	ops = binary.LittleEndian.AppendUint32(ops, uint32(len(value)))
	ops = append(ops, key...)
	return append(ops, value...)
}

// removeOp queues removing every value of a header.
func removeOp(ops []byte, key string) []byte {
	ops = binary.LittleEndian.AppendUint32(ops, uint32(len(key)))
	ops = binary.LittleEndian.AppendUint32(ops, removed)
	return append(ops, key...)
}

// applyOps makes the queued operations on the request's (hdrRequest) or
// the response's (hdrResponse) headers.
func applyOps(f C.uintptr_t, headerType int, ops []byte) {
	if len(ops) == 0 {
		return
	}
	if C.llmgate_count_hooks != 0 && headerType == hdrResponse {
		callbackCounts.add("response_header_ops", "calls")
	}
	C.llmgate_header_ops(f, C.int(headerType), (*C.char)(unsafe.Pointer(&ops[0])), C.size_t(len(ops)))
}
