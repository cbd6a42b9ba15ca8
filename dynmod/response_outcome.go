package main

/*
#cgo noescape envoy_dynamic_module_callback_http_filter_get_attribute_int
#cgo nocallback envoy_dynamic_module_callback_http_filter_get_attribute_int
#cgo noescape envoy_dynamic_module_callback_http_filter_get_attribute_string
#cgo nocallback envoy_dynamic_module_callback_http_filter_get_attribute_string

#include "dm.h"

bool envoy_dynamic_module_callback_http_filter_get_attribute_int(uintptr_t f, int id, uint64_t* result);
bool envoy_dynamic_module_callback_http_filter_get_attribute_string(uintptr_t f, int id, dm_buf* result);
bool envoy_dynamic_module_callback_http_get_header(uintptr_t f, int header_type, dm_buf key, dm_buf* result, size_t index, size_t* optional_size);
*/
import "C"

import (
	"context"
	"fmt"
	"sync"
	"time"

	alsv3 "github.com/envoyproxy/go-control-plane/envoy/service/accesslog/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/llmgate/llmgate/extproc"
	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/xds"
)

// Outcomes from the module (docs/architecture.md D54): when a planned
// request completes, the module appends one record to an in-process buffer
// (a mutex-guarded slice: no goroutine is woken per request); a goroutine
// ships the buffer every flushEvery to the gateway's access-log service as
// Envoy's own entries would come (extproc.AppendOutcomes), so that the
// listener needs no per-request outcome entry, and Envoy logs only the tries
// that did not succeed.

// Attribute ids of the ABI (envoy_dynamic_module_type_attribute_id).
const (
	attrUpstreamAttempts = 53 // upstream.request_attempt_count
	attrClusterName      = 57 // xds.cluster_name
)

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
	return view(out.ptr, out.length), true
}

func getReqHeader(f C.uintptr_t, key string) ([]byte, bool) {
	var out C.dm_buf
	if !bool(C.envoy_dynamic_module_callback_http_get_header(f, hdrRequest, buf(key), &out, 0, nil)) {
		return nil, false
	}
	return view(out.ptr, out.length), true
}

// outcomeTry is what the response side saw of a fast request's answering
// try (respState.try).
type outcomeTry struct {
	status              int
	firstByte, lastByte time.Time
	done                bool // the answer passed to its end
	headers             [][2]string
}

// onStreamComplete records a planned request's outcome.
func onStreamComplete(s *stream, f C.uintptr_t) {
	if s == nil || s.cfg.outcomes == nil {
		return
	}
	ctx, planned := getDynamicString(f, contract.ContextMetadataNamespace, "ctx")
	if !planned || len(ctx) == 0 {
		return
	}
	id, _ := getReqHeader(f, "x-request-id")
	o := extproc.ModuleOutcome{RequestID: string(id), Begin: s.resp.begin, End: time.Now(), Ctx: "-"}
	if n, ok := attrInt(f, attrUpstreamAttempts); ok {
		o.Attempts = int(min(n, 1<<16))
	}
	o.Fast = s.resp.plan != nil
	if !o.Fast {
		_, o.Fast = getDynamicString(f, contract.FastAnswerMetadataNamespace, extproc.RespPlanKey)
	}
	if o.Fast {
		o.Ctx = string(ctx)
		o.Usage = s.resp.usage
		if t := &s.resp.try; t.done {
			if cl, ok := attrString(f, attrClusterName); ok && len(cl) > 0 {
				o.Answered, o.Cluster, o.Status = true, string(cl), t.status
				o.FirstByte, o.LastByte, o.Headers = t.firstByte, t.lastByte, t.headers
			}
		}
	}
	s.cfg.outcomes.put(o)
}

// flushEvery is how often the records are shipped (Envoy's outcome log
// flushes every 20 ms too, D44); maxOutbox bounds the buffer (beyond it a
// record is dropped and counted, never a request).
const (
	flushEvery = 20 * time.Millisecond
	maxOutbox  = 1 << 16
	maxBatch   = 512
)

// outbox is where Envoy's workers leave outcome records.
type outbox struct {
	mu      sync.Mutex
	buf     []extproc.ModuleOutcome
	dropped uint64
	socket  string
}

func newOutbox(ctx context.Context, socket string) *outbox {
	b := &outbox{socket: socket}
	go b.ship(ctx)
	return b
}

func (b *outbox) put(o extproc.ModuleOutcome) {
	b.mu.Lock()
	if len(b.buf) < maxOutbox {
		b.buf = append(b.buf, o)
	} else {
		b.dropped++
	}
	b.mu.Unlock()
}

func (b *outbox) take(into []extproc.ModuleOutcome) []extproc.ModuleOutcome {
	b.mu.Lock()
	into, b.buf = b.buf, into[:0]
	b.mu.Unlock()
	return into
}

// ship runs for the life of its config: it holds one access-log stream to
// the gateway (reopened with back-off) and sends the records in batches;
// when ctx ends (Envoy destroyed the config, so no request of it is left)
// it sends what is left once and stops.
func (b *outbox) ship(ctx context.Context) {
	var (
		conn   *grpc.ClientConn
		stream alsv3.AccessLogService_StreamAccessLogsClient
		batch  []extproc.ModuleOutcome
		wire   []byte
		retry  time.Time
		lost   uint64
	)
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	defer func() {
		if conn != nil {
			_ = conn.Close()
		}
	}()
	for last := false; !last; {
		select {
		case <-t.C:
		case <-ctx.Done():
			last = true
		}
		batch = b.take(batch)
		if len(batch) == 0 {
			continue
		}
		if stream == nil && time.Now().After(retry) {
			var err error
			conn, stream, err = b.open()
			if err != nil {
				envoyLog(logWarn, "llmgate module: outcome stream to "+b.socket+": "+err.Error())
				retry = time.Now().Add(time.Second)
			}
		}
		if stream == nil {
			lost += uint64(len(batch))
			continue
		}
		for i := 0; i < len(batch); i += maxBatch {
			wire = extproc.AppendOutcomes(wire[:0], batch[i:min(i+maxBatch, len(batch))])
			var m emptypb.Empty
			m.ProtoReflect().SetUnknown(wire)
			if err := stream.SendMsg(&m); err != nil {
				envoyLog(logWarn, fmt.Sprintf("llmgate module: outcome stream ended: %v (%d records lost)", err, len(batch)-i))
				_ = conn.Close()
				conn, stream = nil, nil
				retry = time.Now().Add(100 * time.Millisecond)
				break
			}
		}
		clear(batch)
	}
}

func (b *outbox) open() (*grpc.ClientConn, alsv3.AccessLogService_StreamAccessLogsClient, error) {
	conn, err := grpc.NewClient("unix://"+b.socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, nil, err
	}
	st, err := alsv3.NewAccessLogServiceClient(conn).StreamAccessLogs(context.Background())
	if err != nil {
		_ = conn.Close()
		return nil, nil, err
	}
	// The first message names the log, as Envoy's does.
	var id []byte
	id = append(id, 0x0a) // identifier (field 1)
	name := xds.OutcomeLogName
	inner := append([]byte{0x12, byte(len(name))}, name...) // log_name (field 2)
	id = append(append(id, byte(len(inner))), inner...)
	var m emptypb.Empty
	m.ProtoReflect().SetUnknown(id)
	if err := st.SendMsg(&m); err != nil {
		_ = conn.Close()
		return nil, nil, err
	}
	return conn, st, nil
}
