package main

/*
#cgo noescape llmgate_request_body_views
#cgo nocallback llmgate_request_body_views
#cgo noescape llmgate_request_answer
#cgo nocallback llmgate_request_answer

#include "dm.h"
#include "hooks.h"
*/
import "C"

import (
	"context"
	"encoding/binary"
	"strconv"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/llmgate/llmgate/dynmod/filter"
	"github.com/llmgate/llmgate/extproc"
	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/keys"
	"github.com/llmgate/llmgate/xds"
)

// filterConfig is one filter config of the module (one per listener).
type filterConfig struct {
	name   string
	cfg    filter.Config
	filter atomic.Pointer[extproc.ModuleFilter] // nil until the first table
	keys   *keys.Service                        // the key table (D57, keys.go)
	table  extproc.ModuleTableAssembler         // the config table's parts (D62, table.go)
	// outcomes ships the outcome records (response_outcome.go; nil: off).
	outcomes *outbox
	// upstream: the per-try filter in the router's upstream filters (upstream.go)
	upstream bool
	// ctx ends when Envoy destroys the config (a listener replaced or
	// removed): its table subscriptions and outcome shipping stop.
	ctx  context.Context
	stop context.CancelFunc
}

func parseFilterConfig(name, s string) (*filterConfig, error) {
	c, err := filter.ParseConfig(s)
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	return &filterConfig{name: name, cfg: c, keys: keys.NewView(), upstream: name == filter.UpstreamFilterName, ctx: ctx, stop: stop}, nil
}

// start subscribes to the gateway's module table.
func (c *filterConfig) start() {
	if c.cfg.TableSocket != "" {
		go c.subscribe(contract.ModuleTableNames(), c.applyPart, c.commitTable)
		go c.subscribe(keyTableNames(), c.applyKeys, nil)
	}
	if c.cfg.OutcomeSocket != "" {
		c.outcomes = newOutbox(c.ctx, c.cfg.OutcomeSocket, c.cfg.OutcomeDir)
	}
}

// stream is one request's state: whether the module reads its body, with
// the headers and the time it started.
type stream struct {
	gen     uint32 // the slot's generation this state is of (hooks.go)
	idx     int32  // the slot's index + 1 (the filter pointer Envoy hands back)
	cfg     *filterConfig
	serving *extproc.ModuleFilter
	headers map[string]string
	start   time.Time
	resp    respState   // the response side (response.go)
	hold    bool        // the upstream filter holds this try's success (upstream.go)
	mt      *moduleTry  // a translated deployment's try (translate.go)
	spacing *spacingTry // a spaced try's state (spacing.go); nil for most
	// inflight: the try's count in flight (limits_inflight.go); nil for most
	inflight *atomic.Int64
	// keySlots: the key's parallel slots the request holds, released when
	// Envoy destroys the filter; keySlot: keys.SlotHeader's value for a
	// request handed on (extproc/modulekeys_slots.go, D117)
	keySlots *keys.Slots
	keySlot  string
	// auth: the caller found at the headers, for Serve (D135)
	auth extproc.Auth
	// reqID: the x-request-id of a request the module served, as its
	// headers had it (the outcome record's id without a call into Envoy at
	// the request's end, D154)
	reqID string
	// link: a fast try's listener, whose answer it does (answer.go, D144)
	link tryLink
}

// panicOnPath, when set at build time (-ldflags -X main.panicOnPath=...),
// makes a request to that exact path panic inside the headers hook: the
// e2e test of the recover barrier. Empty in every real build.
var panicOnPath string

// mdOpsSize is the stack array a served request's metadata Structs usually
// fit in (a larger answer's grow on the heap).
const mdOpsSize = 2048

// maxHeaderViews bounds the headers read at once; more hands the request on.
const maxHeaderViews = 256

// onRequestHeaders runs first on every request. A marker header the client
// sent is removed whatever happens next: only the module sets it.
func onRequestHeaders(s *stream, f C.uintptr_t, eos bool) int {
	var m *extproc.ModuleFilter
	if s != nil && !eos {
		m = s.cfg.filter.Load()
	}
	if m == nil || m.Off() != "" {
		// Handed on (Off: every request, D61): only the markers are read.
		if _, ok := getHeader(f, contract.ModuleHeader); ok {
			removeHeader(f, contract.ModuleHeader)
		}
		if _, ok := getHeader(f, keys.SlotHeader); ok {
			removeHeader(f, keys.SlotHeader) // only the module sets it (D117)
		}
		return reqHeadersContinue
	}
	// Every header in one call (the marker among them), copied into one
	// buffer that the map's strings share: the view is Envoy's memory,
	// valid during this hook only, and the headers are read again at the
	// body (D65).
	var small [48]C.dm_hdr
	views := small[:]
	c := headerCount(f)
	if c > len(small) && c <= maxHeaderViews {
		views = make([]C.dm_hdr, c)
	}
	n := headers(f, c, views)
	if n == 0 {
		if _, ok := getHeader(f, contract.ModuleHeader); ok {
			removeHeader(f, contract.ModuleHeader)
		}
		return reqHeadersContinue
	}
	size, count := 0, n
	marked, slotted := false, false
	for _, v := range views[:n] {
		switch string(view(v.key_ptr, v.key_length)) {
		case contract.ModuleHeader:
			marked = true // (not counted: removed below, as before the read)
			count--
			continue
		case keys.SlotHeader:
			slotted = true // only the module sets it (D117)
		}
		size += int(v.key_length) + int(v.value_length)
	}
	if marked {
		removeHeader(f, contract.ModuleHeader)
	}
	if slotted {
		removeHeader(f, keys.SlotHeader)
	}
	buf := make([]byte, 0, size)
	str := func(p *C.char, l C.size_t) string {
		if l == 0 {
			return ""
		}
		at := len(buf)
		buf = append(buf, view(p, l)...)
		return unsafe.String(&buf[at], int(l))
	}
	h := make(map[string]string, n)
	for _, v := range views[:n] {
		if (marked || slotted) && (string(view(v.key_ptr, v.key_length)) == contract.ModuleHeader || string(view(v.key_ptr, v.key_length)) == keys.SlotHeader) {
			continue // removed above: the request no longer has it
		}
		k := str(v.key_ptr, v.key_length)
		h[k] = str(v.value_ptr, v.value_length)
	}
	if _, ok := h[xds.ClusterHeader]; ok {
		// Only the module's answer sets it (a client's, or an internal
		// redirect's replay of a served request, is removed: D75).
		removeHeader(f, xds.ClusterHeader)
		delete(h, xds.ClusterHeader)
	}
	if panicOnPath != "" && h[":path"] == panicOnPath {
		panic("a test panic inside Envoy's worker thread")
	}
	cl := int64(-1)
	if v, ok := h["content-length"]; ok {
		if x, err := strconv.ParseInt(v, 10, 64); err == nil {
			cl = x
		}
	}
	handOn, reply, ks := m.HandOnSlots(h, count, size, cl)
	s.keySlots, s.keySlot = ks.Held, ks.Header // (released by the destroy hook, D117)
	s.auth = ks.Auth                           // (Serve's caller, D135)
	if reply != nil {
		sendReply(f, reply.Reply)
		return reqHeadersStopIteration
	}
	if handOn {
		if ks.Header != "" {
			setHeader(f, keys.SlotHeader, ks.Header)
		}
		return reqHeadersContinue
	}
	s.serving, s.headers, s.start = m, h, time.Now()
	// Hold the headers until the whole body is in (the route depends on it).
	return reqHeadersStopIteration
}

func onRequestBody(s *stream, f C.uintptr_t, eos bool) int {
	if s == nil || s.serving == nil {
		return reqBodyContinue
	}
	if !eos {
		return reqBodyStopAndBuffer
	}
	m := s.serving
	s.serving = nil
	var views [64]C.dm_buf
	var bir C.bool
	n := int(C.llmgate_request_body_views(f, (*C.char)(unsafe.Pointer(&views[0])), C.size_t(len(views)), &bir)) // (one cgo call, D93)
	bufferedIsReceived := bool(bir)
	if n > len(views) {
		handOnSlot(s, f)
		return reqBodyContinue // hand on
	}
	total := 0
	for _, v := range views[:n] {
		total += int(v.length)
	}
	body := make([]byte, 0, total)
	for _, v := range views[:n] {
		body = append(body, view(v.ptr, v.length)...)
	}
	a, ok := m.ServeAuth(s.headers, body, s.start, s.auth)
	s.reqID = s.headers["x-request-id"]
	s.headers, s.auth = nil, extproc.Auth{}
	if !ok {
		handOnSlot(s, f)
		return reqBodyContinue
	}
	if a.Reply != nil {
		sendReply(f, a.Reply)
		return reqHeadersStopIteration
	}
	// The header operations in one call (hdrops.go, D87).
	var opsBuf [hdrOpsSize]byte
	ops := opsBuf[:0]
	for _, k := range a.Remove {
		ops = removeOp(ops, k)
	}
	for _, kv := range a.Set {
		ops = setOp(ops, kv[0], kv[1])
	}
	ops = setOp(ops, contract.ModuleHeader, s.cfg.cfg.Marker)
	s.resp.plan, s.resp.ctx = a.Resp, a.Ctx
	// The headers, the metadata, the body and the route cache in one cgo
	// call (D93); the Structs copied next to the header operations (no Go
	// pointer in what C is handed but the body's own bytes).
	var mdBuf [mdOpsSize]byte
	mds := mdBuf[:0]
	var link []byte
	if linkable(s) {
		var lb [linkFieldSize]byte
		link = appendLinkField(lb[:0], s)
	}
	for _, md := range a.Metadata {
		extra := []byte(nil)
		if link != nil && string(md[0]) == contract.ContextMetadataNamespace {
			extra, link = link, nil // (the Struct's entries are a repeated field: one more is appended)
		}
		mds = binary.LittleEndian.AppendUint32(mds, uint32(len(md[0])))
		mds = binary.LittleEndian.AppendUint32(mds, uint32(len(md[1])+len(extra)))
		mds = append(append(append(mds, md[0]...), md[1]...), extra...)
	}
	var op, mp, bp *C.char
	if len(ops) > 0 {
		op = (*C.char)(unsafe.Pointer(&ops[0]))
	}
	if len(mds) > 0 {
		mp = (*C.char)(unsafe.Pointer(&mds[0]))
	}
	if len(a.Body) > 0 {
		bp = (*C.char)(unsafe.Pointer(&a.Body[0]))
	}
	C.llmgate_request_answer(f, op, C.size_t(len(ops)), mp, C.size_t(len(mds)), C.bool(a.Body != nil), C.bool(bufferedIsReceived), bp, C.size_t(len(a.Body)))
	return reqBodyContinue
}

// onRequestTrailers: a body that ends with trailers goes to the ext_proc
// filter (which refuses HTTP/2 request trailers, D46).
func onRequestTrailers(s *stream, f C.uintptr_t) int {
	if s != nil {
		if s.serving != nil {
			handOnSlot(s, f)
		}
		s.serving, s.headers = nil, nil
	}
	return reqHeadersContinue
}

// handOnSlot tells the ext_proc filter what the module did with the slots
// of a request it hands on after reading its headers (D117).
func handOnSlot(s *stream, f C.uintptr_t) {
	if s.keySlot != "" {
		setHeader(f, keys.SlotHeader, s.keySlot)
	}
}
