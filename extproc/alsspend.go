package extproc

import (
	"time"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/llmgate/llmgate/internal/keys"
	"github.com/llmgate/llmgate/internal/outcome"
	"github.com/llmgate/llmgate/internal/wire"
	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
)

// Compact spend records (docs/architecture.md D145). A keyed first-try
// success is read by one reader only when nothing else in the gateway reads
// successes (D124's quiet plan but for its spend): the spend sink. Its
// record then needs neither Envoy's entry shape nor the join (there is no
// failed try of Envoy's to wait for): the module sends it as one flat
// message in the outbox message's field wireSpendRecord, and the gateway
// turns it into the same joined request the join would have made, reports
// it as reportLogged does (the same event, field for field) and hands the
// event to the spend sink directly (keys.Service.SpendNow: its write-ahead
// line written before the message is acknowledged, as Bus.Reached waits for
// on the bus). Sent again after a reconnect or a gateway restart, a record
// is taken once by the spend sink's request-id memory (D63).

// wireSpendRecord is the outbox message's field of a compact spend record
// (repeated; numbers Envoy's message does not use, as alsmodule.go's).
const wireSpendRecord = 19

// The compact spend record's fields.
const (
	spendRecID         = 1  // bytes: x-request-id
	spendRecCtx        = 2  // bytes: llmgate.ctx "ctx" (base64)
	spendRecCluster    = 3  // bytes: the answering try's cluster
	spendRecStatus     = 4  // varint
	spendRecBeginSec   = 5  // varint: the request's start, unix seconds
	spendRecBeginNanos = 6  // varint
	spendRecFirstByte  = 7  // varint: nanoseconds from the start to the first response byte
	spendRecLastByte   = 8  // varint: to the last
	spendRecPrompt     = 9  // varint (int64): usage, each only when the answer had it
	spendRecCompletion = 10 // varint
	spendRecTotal      = 11 // varint
	spendRecModel      = 12 // bytes
	spendRecFinish     = 13 // bytes
	spendRecCached     = 14 // varint: prompt_tokens_details.cached_tokens (D146)
	spendRecObserved   = 15 // varint 1: an observed record (D177)
	spendRecHeader     = 16 // message {1: name, 2: value}: a logged response header (repeated; D177)
)

// Compact observed records (D177). The same record serves a first-try
// success that the gateway's other sinks read (prometheus, the logging
// callbacks: the bench's llmgate-observed config), marked observed and
// carrying the try's logged response headers (xds.OutcomeResponseHeaders):
// the module writes one flat message instead of Envoy's two entries, and
// the gateway reads it as the joined request the join would have made of
// those entries, without the join (a first-try success has no try of
// Envoy's to wait for). It is reported as any joined request (the router's
// report, one event published on the bus); the join's duplicate memory
// still takes a record sent again after a reconnect once.

// observedPlan reports whether a module-served request's first-try success
// (neither quiet nor spend-only) is sent as a compact observed record: the
// gateway takes them, and nothing needs the request's end (TrackEnd) or
// frees a parallel slot with it (KeyParallel), as spendPlan.
func (s *Server) observedPlan(rc *llmgatev1.RequestContext) bool {
	return s.compactRecords && !rc.TrackEnd && !rc.KeyParallel
}

// spendPlan reports whether a module-served request's first-try success is
// read by the spend sink only, and perhaps by keyed sinks (the logging
// callbacks a key's or team's metadata names, D64): quietPlan's conditions
// but for its spend — the gateway takes compact records (SpendRecords), no
// sink but those listens (the module's mirror of the gateway's bus), and
// the request's key, team or end user may spend. (Its context tracks usage
// for the spend sink: the record carries the usage. Usage tracked for
// anything else — a limit or strategy, another sink — fails
// successesUnread or the sinks' test.)
func (s *Server) spendPlan(st *State, rc *llmgatev1.RequestContext) bool {
	return s.spendRecords && st.successesUnread && !rc.TrackEnd && !rc.KeyParallel &&
		keys.MaySpend(rc.KeyHash, rc.TeamId, rc.EndUser) && !s.Outcomes.ActiveBesides(keys.SpendSink)
}

// appendSpendRecord appends o as a compact spend record (field
// wireSpendRecord of the outbox message) to b.
func appendSpendRecord(b []byte, o *ModuleOutcome) []byte {
	since := func(t time.Time) uint64 { return uint64(max(t.Sub(o.Begin), 0)) }
	return wire.AppendNested(b, wireSpendRecord, func(b []byte) []byte {
		b = protowire.AppendTag(b, spendRecID, protowire.BytesType)
		b = protowire.AppendString(b, o.RequestID)
		b = protowire.AppendTag(b, spendRecCtx, protowire.BytesType)
		b = protowire.AppendString(b, o.Ctx)
		b = protowire.AppendTag(b, spendRecCluster, protowire.BytesType)
		b = protowire.AppendString(b, o.Cluster)
		b = protowire.AppendTag(b, spendRecStatus, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(max(o.Status, 0)))
		b = protowire.AppendTag(b, spendRecBeginSec, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(o.Begin.Unix()))
		b = protowire.AppendTag(b, spendRecBeginNanos, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(o.Begin.Nanosecond()))
		b = protowire.AppendTag(b, spendRecFirstByte, protowire.VarintType)
		b = protowire.AppendVarint(b, since(o.FirstByte))
		b = protowire.AppendTag(b, spendRecLastByte, protowire.VarintType)
		b = protowire.AppendVarint(b, since(o.LastByte))
		u := &o.Usage
		if u.HasPrompt {
			b = protowire.AppendTag(b, spendRecPrompt, protowire.VarintType)
			b = protowire.AppendVarint(b, uint64(u.Prompt))
		}
		if u.HasCompletion {
			b = protowire.AppendTag(b, spendRecCompletion, protowire.VarintType)
			b = protowire.AppendVarint(b, uint64(u.Completion))
		}
		if u.HasTotal {
			b = protowire.AppendTag(b, spendRecTotal, protowire.VarintType)
			b = protowire.AppendVarint(b, uint64(u.Total))
		}
		if u.HasCached {
			b = protowire.AppendTag(b, spendRecCached, protowire.VarintType)
			b = protowire.AppendVarint(b, uint64(u.Cached))
		}
		if u.HasModel {
			b = protowire.AppendTag(b, spendRecModel, protowire.BytesType)
			b = protowire.AppendString(b, u.Model)
		}
		if u.Finish != "" {
			b = protowire.AppendTag(b, spendRecFinish, protowire.BytesType)
			b = protowire.AppendString(b, u.Finish)
		}
		if o.Observed {
			b = protowire.AppendTag(b, spendRecObserved, protowire.VarintType)
			b = protowire.AppendVarint(b, 1)
			for _, h := range o.Headers {
				b = wire.AppendNested(b, spendRecHeader, func(b []byte) []byte {
					b = protowire.AppendTag(b, 1, protowire.BytesType)
					b = protowire.AppendString(b, h[0])
					b = protowire.AppendTag(b, 2, protowire.BytesType)
					return protowire.AppendString(b, h[1])
				})
			}
		}
		return b
	})
}

// readSpendRecord is a compact spend record as the join would have finished
// it: the request's entry and its one try, the module's (what decodeEntry
// reads of the two entries AppendOutcomes writes for the same outcome). Its
// request id and context are views of b (readSpendRecordInto); observed: the
// record is an observed one (D177).
func readSpendRecord(b []byte) (j joined, observed, ok bool) {
	return readSpendRecordInto(b, new(spendScratch))
}

// spendScratch holds one compact record's joined request: spendRecords
// reads a message's records one after another into the same one (D176),
// where each record cost two allocations (the entry and its try) besides
// its strings.
type spendScratch struct {
	req   requestLog
	tries [1]tryLog
}

// readSpendRecordInto is readSpendRecord into sc. The request id and the
// context are views of b, not copies (D176): reportJoined keeps neither —
// the event's call id is the context's, copied by its decoder, and the
// context is decoded — so b and sc must outlive only the report of the
// record. The cluster (a wildcard deployment's provider is cut from it and
// kept in the event), the model and the finish reason repeat from answer to
// answer: ctxString's cache.
func readSpendRecordInto(b []byte, sc *spendScratch) (j joined, observed, ok bool) {
	var (
		id, ctx, cluster     string
		status               int
		sec, nanos           int64
		first, last          time.Duration
		u                    usageLog
		hasP, hasC, hasT     bool
		hasID, hasCtx, hasCl bool
		bad                  bool
		headers              map[string]string
	)
	err := wireFields(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		if typ == protowire.BytesType {
			switch num {
			case spendRecHeader:
				k, val, err := readHeaderField(v)
				if err != nil {
					return err
				}
				if headers == nil {
					headers = map[string]string{}
				}
				headers[k] = val
			case spendRecID:
				id, hasID = bytesView(v), true
			case spendRecCtx:
				ctx, hasCtx = bytesView(v), true
			case spendRecCluster:
				cluster, hasCl = ctxString(v, &bad), true
			case spendRecModel:
				u.model = ctxString(v, &bad)
			case spendRecFinish:
				u.finish = ctxString(v, &bad)
			}
			return nil
		}
		if typ != protowire.VarintType {
			return nil
		}
		switch num {
		case spendRecStatus:
			status = int(min(x, 1<<16))
		case spendRecBeginSec:
			sec = int64(x)
		case spendRecBeginNanos:
			nanos = int64(int32(x))
		case spendRecFirstByte:
			first = time.Duration(min(x, 1<<62))
		case spendRecLastByte:
			last = time.Duration(min(x, 1<<62))
		case spendRecPrompt:
			u.promptTokens, hasP = boundTokens(float64(int64(x))), true
		case spendRecCompletion:
			u.completionTokens, hasC = boundTokens(float64(int64(x))), true
		case spendRecTotal:
			u.total, hasT = boundTokens(float64(int64(x))), true
		case spendRecCached:
			u.cached = boundTokens(float64(int64(x)))
		case spendRecObserved:
			observed = x != 0
		}
		return nil
	})
	if err != nil || !hasID || id == "" || !hasCtx || ctx == "" || !hasCl || cluster == "" {
		return joined{}, false, false
	}
	u.known = hasP || hasC || hasT
	start := time.Unix(sec, nanos)
	sc.req = requestLog{requestID: id, start: start, attempts: 1, ctx: ctx, fast: true, usage: u}
	sc.tries[0] = tryLog{requestID: id, cluster: cluster, start: start, status: status, firstByte: first, latency: last, headers: headers, module: true}
	return joined{req: &sc.req, tries: sc.tries[:]}, observed, true
}

// readHeaderField reads a compact record's header {1: name, 2: value}.
func readHeaderField(b []byte) (name, value string, err error) {
	fields := [2]*string{&name, &value}
	err = wireFields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if typ == protowire.BytesType && (num == 1 || num == 2) {
			*fields[num-1] = string(v)
		}
		return nil
	})
	return name, value, err
}

// bytesView is b as a string without a copy: valid while b is and b is
// not written.
func bytesView(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }

// spendRecords reports a module message's compact spend records. The
// event of a record whose only reader is the spend sink — the bus's other
// sinks are keyed and the record's key and team name no logging callback
// (Bus.OnlyFor, D155) — goes to it directly, written to its write-ahead
// file before this returns; otherwise (a key's or team's logging callbacks;
// or a reload added a sink after the module's config was pushed) it is
// published as any joined request's event, and the message waits for the
// bus as before.
func (a *accessLogService) spendRecords(recs [][]byte) {
	st := a.s.state.Load()
	if st == nil {
		return
	}
	var (
		evs []outcome.Try
		sc  spendScratch
	)
	var now time.Time
	for _, b := range recs {
		j, observed, ok := readSpendRecordInto(b, &sc)
		if !ok {
			a.s.log.Warn("outcome log: a compact spend record from the module cannot be read")
			continue
		}
		if observed {
			// Read by the bus's sinks: a record sent again after a
			// reconnect is reported once, as the join's entries are.
			if now.IsZero() {
				now = time.Now()
			}
			a.j.mu.Lock()
			dup := a.j.duplicate(j.req.key(), now)
			a.j.mu.Unlock()
			if dup {
				continue
			}
		}
		if st.keys != nil {
			a.s.reportJoined(st, j, &evs)
		} else {
			a.s.reportLogged(st, j)
		}
	}
	direct := evs[:0]
	for _, ev := range evs {
		if a.s.Outcomes.OnlyFor(keys.SpendSink, ev.KeyHash, ev.TeamID) {
			direct = append(direct, ev)
		} else {
			a.s.Outcomes.Publish(ev)
		}
	}
	if len(direct) > 0 {
		st.keys.SpendNow(direct)
	}
}
