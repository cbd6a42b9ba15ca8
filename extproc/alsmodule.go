package extproc

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/llmgate/llmgate/internal/keys"
)

// The module's outcome stream (docs/architecture.md D63). The module's
// records (D54) used to go over Envoy's access-log service, which answers
// only when a stream ends: a record sent into a stream that broke, or to a
// gateway that stopped, was lost without anyone knowing. The module now
// sends them on a stream of its own, both ways: each message is Envoy's
// StreamAccessLogsMessage (the same join and report) plus the sequence number
// of its last record, and the gateway answers with the highest sequence
// number up to which every record is reported and its spend consumed by the
// spend sink (in its write-ahead file, D33). The module keeps each record
// until then and sends again, after a reconnect, what was not acknowledged;
// a record that comes twice is taken once (the join's duplicate memory, and
// the spend sink's request ids across a restart).

// ModuleOutcomesMethod is the gRPC method of the module's outcome stream.
const ModuleOutcomesMethod = "/" + moduleOutcomesService + "/Stream"

const moduleOutcomesService = "llmgate.v1.ModuleOutcomes"

// Fields the module adds to a StreamAccessLogsMessage (numbers Envoy's
// message does not use); the acknowledgement's field 1 is the sequence
// number acknowledged.
const (
	wireOutboxSeq     = 16 // varint: the sequence number of the message's last record
	wireOutboxDropped = 17 // varint: records the outbox dropped since it started (full)
	wireOutboxID      = 18 // varint: the outbox (one per module config)
	wireAckSeq        = 1
)

// ModuleOutcomesStream describes the stream for a client (the module).
var ModuleOutcomesStream = grpc.StreamDesc{StreamName: "Stream", ServerStreams: true, ClientStreams: true}

// moduleMsg is one message of the module: acknowledged once every request
// record in it was reported (remaining 0) and the spend sink consumed the
// events published up to then (mark).
type moduleMsg struct {
	seq       uint64
	remaining atomic.Int64
	mark      atomic.Uint64
	ready     atomic.Bool
	bus       interface {
		Mark(string) uint64
	}
}

// release counts one of the message's records reported (or one that needs
// no report: a duplicate, a request that is not the log's).
func (m *moduleMsg) release() {
	if m.remaining.Add(-1) == 0 {
		if m.bus != nil {
			m.mark.Store(m.bus.Mark(keys.SpendSink))
		}
		m.ready.Store(true)
	}
}

// moduleOutcomes is what the gateway knows of the module's outboxes.
type moduleOutcomes struct {
	mu      sync.Mutex
	dropped map[uint64]uint64 // outbox id → records it dropped
	last    atomic.Int64      // unix nanos of the last message received
	pending atomic.Int64      // messages received and not yet acknowledged
	svc     *accessLogService
}

// ModuleOutcomesDropped is the number of records the module's outboxes
// dropped because the gateway did not take them for too long (as they last
// reported it).
func (s *Server) ModuleOutcomesDropped() uint64 {
	m := &s.moduleOut
	m.mu.Lock()
	defer m.mu.Unlock()
	var n uint64
	for _, d := range m.dropped {
		n += d
	}
	return n
}

// WaitModuleOutcomes waits (at most max) until the module's records have
// stopped coming and every one received is acknowledged: a drain calls it
// once Envoy has no request in flight, before Envoy stops, so that the last
// answers' records are shipped (every 20 ms) and their spend in the
// write-ahead file.
func (s *Server) WaitModuleOutcomes(max time.Duration) {
	m := &s.moduleOut
	deadline := time.Now().Add(max)
	for time.Now().Before(deadline) {
		quiet := time.Since(time.Unix(0, m.last.Load())) > 4*moduleFlushEvery
		if quiet && m.pending.Load() == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// moduleFlushEvery is how often the module ships its records.
const moduleFlushEvery = 20 * time.Millisecond

// registerModuleOutcomes adds the module's outcome stream to g.
func (a *accessLogService) registerModuleOutcomes(g *grpc.Server) {
	a.s.moduleOut.svc = a
	desc := ModuleOutcomesStream
	desc.Handler = func(_ any, ss grpc.ServerStream) error { return a.moduleStream(ss) }
	g.RegisterService(&grpc.ServiceDesc{ServiceName: moduleOutcomesService, HandlerType: (*any)(nil), Streams: []grpc.StreamDesc{desc}}, a)
}

// ackEvery is the shortest time between two acknowledgements on a stream.
// Acknowledgements are coalesced: a stream acknowledges at most once per
// ackEvery, from a timer armed only while it holds messages not yet
// acknowledged — never per message and never on an idle stream. Each
// acknowledgement is a write the module's goroutine inside Envoy wakes up
// for, and each timer tick a wake-up of the gateway's scheduler; on the
// core they share with Envoy's worker these wake-ups were the observability
// cost regression of D69 (a 5 ms ticker and an acknowledgement per 20 ms
// message: +1.5 context switches and ≈ +40 µs of gateway CPU per request).
// The module holds its records until acknowledged (bounded, D63), so a
// slower acknowledgement costs it memory for ackEvery's worth of records,
// nothing else.
var ackEvery = 100 * time.Millisecond

// moduleStream serves one outbox's stream.
func (a *accessLogService) moduleStream(ss grpc.ServerStream) error {
	end := a.s.accessLogs.done()
	raw := rawStream(ss.Context())
	msgs, errc := receiveRaw(ss, raw)
	var (
		pend  []*moduleMsg
		acked uint64
		sent  uint64
		out   []byte
	)
	defer func() { a.s.moduleOut.pending.Add(-int64(len(pend))) }()
	ack := func() error {
		for len(pend) > 0 {
			m := pend[0]
			if !m.ready.Load() || !a.s.Outcomes.Reached(keys.SpendSink, m.mark.Load()) {
				break
			}
			acked = max(acked, m.seq)
			pend = pend[1:]
			a.s.moduleOut.pending.Add(-1)
		}
		if acked == sent {
			return nil
		}
		out = protowire.AppendVarint(protowire.AppendTag(out[:0], wireAckSeq, protowire.VarintType), acked)
		if err := sendBytes(ss, raw, out); err != nil {
			return err
		}
		sent = acked
		return nil
	}
	sweep := time.NewTicker(sweepEvery)
	defer sweep.Stop()
	// ackT fires when an acknowledgement may be due: armed only while
	// messages wait for one, at most once per ackEvery (see ackEvery).
	ackT := time.NewTimer(time.Hour)
	ackT.Stop()
	defer ackT.Stop()
	var armed bool
	lastAck := time.Now()
	arm := func() {
		if armed || len(pend) == 0 {
			return
		}
		armed = true
		ackT.Reset(max(time.Until(lastAck.Add(ackEvery)), time.Millisecond))
	}
	for {
		select {
		case <-end:
			// A draining replica: what came is reported; the module sends
			// what is not acknowledged again, elsewhere or later.
			for {
				select {
				case b := <-msgs:
					pend = append(pend, a.readModule(b))
				default:
					_ = ack()
					return nil
				}
			}
		case err := <-errc:
			_ = ack()
			if errors.Is(err, io.EOF) || status.Code(err) == codes.Canceled {
				return nil
			}
			return err
		case now := <-sweep.C:
			a.handle(a.j.sweep(now))
			arm()
		case b := <-msgs:
			pend = append(pend, a.readModule(b))
			arm()
		case <-ackT.C:
			armed = false
			lastAck = time.Now()
			if err := ack(); err != nil {
				return err
			}
			arm()
		}
	}
}

// readModule takes one message of the module.
func (a *accessLogService) readModule(b []byte) *moduleMsg {
	now := time.Now()
	m := &moduleMsg{}
	if a.s.Outcomes != nil {
		m.bus = a.s.Outcomes
	}
	var id, dropped uint64
	var spends [][]byte // compact spend records (alsspend.go)
	_ = wireFields(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		if num == wireSpendRecord && typ == protowire.BytesType {
			spends = append(spends, v)
		}
		if typ == protowire.VarintType {
			switch num {
			case wireOutboxSeq:
				m.seq = x
			case wireOutboxDropped:
				dropped = x
			case wireOutboxID:
				id = x
			}
		}
		return nil
	})
	mo := &a.s.moduleOut
	mo.last.Store(now.UnixNano())
	mo.pending.Add(1)
	if dropped > 0 {
		mo.mu.Lock()
		if mo.dropped == nil {
			mo.dropped = map[uint64]uint64{}
		}
		mo.dropped[id] = max(mo.dropped[id], dropped)
		mo.mu.Unlock()
	}
	m.remaining.Store(1) // held while the message is read
	err := decodeLogMessage(b,
		func(t tryLog) { a.handle(a.j.addTry(t, now)) },
		func(r requestLog) {
			if r.fast {
				// A request that is not fast has its tries reported by the
				// attempt filter: nothing to wait for (its join may wait
				// for Envoy's entries of its tries for a while).
				m.remaining.Add(1)
				r.ack = m
			}
			a.handle(a.j.addRequest(r, now))
		})
	if err != nil {
		a.s.log.Warn("outcome log: a message from the module cannot be read", "error", err)
	}
	if len(spends) > 0 {
		// Reported, and their spend written, before the message may be
		// acknowledged.
		a.spendRecords(spends)
	}
	m.release()
	return m
}
