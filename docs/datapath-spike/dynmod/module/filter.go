package main

// #include "dm.h"
import "C"

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"strconv"
	"sync"
	"sync/atomic"
)

// config is one dynamic_modules filter instance's configuration.
//
// mode:
//
//	request  the spike's lua_req request filter in Go: auth, model, plan, group header
//	table    the same, but the plan comes from the llmgate.v1.RoutingTable a goroutine
//	         subscribes to over ADS (xds=host:port)
//	attempt  an upstream (per-try) filter: :path, provider key, x-litellm-* response headers
//	outcomes the request filter + per-request outcome records pushed to a goroutine
//	async    the request filter, then a hop to a goroutine and back before the request
//	         goes on (what any lookup off the worker thread, e.g. Redis, costs at least)
//	redis    async, and the goroutine does an rpm-style counter update in Redis
//	         (INCR + EXPIRE in one pipeline) before the request goes on
//	noop     every hook returns Continue at once (the floor: Go hook calls only)
type config struct {
	name, mode, parser, group string
	masterKey                 string
	xdsAddr, reportAddr, path string
	prefix                    string // cluster name prefix of the plan (g_ for dynmod_att)
	panicOn                   string // probe: a model name whose request panics inside the hook

	planA, planFB []string // the spike's two plans (as lua_req)

	table     atomic.Pointer[routingTable]
	outbox    *outbox
	rdb       *redisClient
	redisAddr string
	tries     atomic.Uint64
}

const unauthorized = `{"error":{"message":"Authentication Error, Invalid proxy server token passed.","type":"auth_error","param":"None","code":"401"}}`

var scratchPool = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

func (c *config) start() {
	c.planA = []string{c.prefix + "dep_a"}
	c.planFB = []string{c.prefix + "dep_f", c.prefix + "dep_b"}
	if c.mode == "table" && c.xdsAddr != "" {
		go c.subscribe()
	}
	if c.mode == "redis" {
		c.rdb = newRedis(c.redisAddr)
	}
	if c.mode == "outcomes" {
		c.outbox = &outbox{}
		go c.collect()
	}
}

func (c *config) onRequestHeaders(f C.uintptr_t, eos bool) int {
	if c.mode == "noop" {
		return reqHeadersContinue
	}
	if c.mode == "attempt" {
		return c.onAttemptRequest(f)
	}
	auth, _ := getHeader(f, hdrRequest, "authorization")
	if subtle.ConstantTimeCompare(auth, []byte(c.masterKey)) != 1 {
		sendResponse(f, 401, "application/json", unauthorized, "llmgate_auth")
		return reqHeadersStopIteration
	}
	if eos {
		c.route(f, nil)
		return reqHeadersContinue
	}
	// Hold the headers until the whole body is in (the route depends on it).
	return reqHeadersStopIteration
}

func (c *config) onRequestBody(f C.uintptr_t, eos bool) int {
	if c.mode == "attempt" || c.mode == "noop" {
		return reqBodyContinue
	}
	if !eos {
		return reqBodyStopAndBuffer
	}
	sp := scratchPool.Get().(*[]byte)
	*sp = requestBody(f, *sp, func(body []byte) { c.route(f, body) })
	scratchPool.Put(sp)
	if c.mode == "async" {
		c.goAsync(f, nil)
		return reqBodyStopNoBuffer
	}
	if c.mode == "redis" {
		c.goAsync(f, c.countRequest)
		return reqBodyStopNoBuffer
	}
	return reqBodyContinue
}

// goAsync leaves the worker thread: a goroutine does the (here empty) lookup
// and commits an event; Envoy then calls on_http_filter_scheduled on the
// worker, which resumes the request.
func (c *config) goAsync(f C.uintptr_t, work func()) {
	s := schedulerNew(f)
	id := asyncSeq.Add(1)
	pending.Store(id, s)
	go func() {
		if work != nil {
			work()
		}
		schedulerCommit(s, id)
	}()
}

var (
	asyncSeq atomic.Uint64
	pending  sync.Map // event id -> scheduler
)

func (c *config) onScheduled(f C.uintptr_t, id uint64) {
	if s, ok := pending.LoadAndDelete(id); ok {
		schedulerDelete(s.(C.uintptr_t))
	}
	continueDecoding(f)
}

// route does what the lua_req stand-in does: model from the body, plan into
// llmgate.plan (the priority_group override), group header, retries, no
// client key upstream, and a fresh route match.
func (c *config) route(f C.uintptr_t, body []byte) {
	var model []byte
	if c.parser == "json" {
		var req struct {
			Model string `json:"model"`
		}
		if json.Unmarshal(body, &req) == nil {
			model = []byte(req.Model)
		}
	} else {
		var ok bool
		if model, ok = topLevelString(body, "model"); !ok && len(body) > 0 {
			var req struct {
				Model string `json:"model"`
			}
			if json.Unmarshal(body, &req) == nil {
				model = []byte(req.Model)
			}
		}
	}
	if c.panicOn != "" && string(model) == c.panicOn {
		panic("probe: a Go panic inside Envoy's worker thread")
	}
	var plan []string
	if c.mode == "table" {
		if t := c.table.Load(); t != nil {
			plan = t.groups[string(model)]
		}
	}
	if plan == nil {
		plan = c.planA
		if bytes.Contains(model, []byte("failfirst")) {
			plan = c.planFB
		}
	}
	var pb [1024]byte
	setMetadataStruct(f, "llmgate.plan", planStruct(pb[:], plan))
	setHeader(f, hdrRequest, "x-llmgate-group", c.group)
	setHeader(f, hdrRequest, "x-envoy-max-retries", retries[min(len(plan)-1, len(retries)-1)])
	removeHeader(f, hdrRequest, "authorization")
	clearRouteCache(f)
}

var (
	retries = []string{"0", "1", "2", "3", "4", "5", "6", "7", "8"}
)

// onAttemptRequest is the per-try work of today's attempt filter for an
// OpenAI-compatible deployment, done in-process: path, provider key, no
// internal headers upstream.
func (c *config) onAttemptRequest(f C.uintptr_t) int {
	n := c.tries.Add(1)
	if c.path != "" {
		setHeader(f, hdrRequest, ":path", c.path)
	}
	removeHeader(f, hdrRequest, "x-llmgate-group")
	setHeader(f, hdrRequest, "authorization", "Bearer sk-provider-"+c.name)
	_ = n
	return reqHeadersContinue
}

func (c *config) onResponseHeaders(f C.uintptr_t, eos bool) int {
	if c.mode != "attempt" {
		return 0
	}
	// Per-try response headers from the cluster's metadata, read in-process.
	if id, ok := getMetadataString(f, mdSourceCluster, "llmgate", "model_id"); ok {
		setHeader(f, hdrResponse, "x-litellm-model-id", string(id))
	}
	if code, ok := attrInt(f, attrResponseCode); ok && code >= 400 {
		setHeader(f, hdrResponse, "x-llmgate-try-status", strconv.FormatUint(code, 10))
	}
	return 0
}

func (c *config) onStreamComplete(f C.uintptr_t) {
	if c.outbox == nil {
		return
	}
	var o outcome
	o.code, _ = attrInt(f, attrResponseCode)
	o.attempts, _ = attrInt(f, attrUpstreamAttemptCnt)
	if cl, ok := attrString(f, attrXdsClusterName); ok {
		o.cluster = string(cl)
	}
	c.outbox.put(o)
}
