package extproc

import (
	"errors"
	"math"
	"strconv"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/translator"
)

// The access-log messages are read field by field from the wire, not into
// Envoy's generated types: a request's entry carries all of its dynamic
// metadata (the plan, the fast path's per-attempt headers), and decoding that
// into structpb maps was most of the service's CPU. Only what the outcome
// needs is read; every other field is skipped. Field numbers are those of
// envoy.service.accesslog.v3 and envoy.data.accesslog.v3 (stable API).

var errWire = errors.New("malformed access-log message")

// wireFields calls fn for each field of a message; it stops at the first
// malformed field.
func wireFields(b []byte, fn func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errWire
		}
		b = b[n:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		case protowire.Fixed64Type:
			x, n = protowire.ConsumeFixed64(b)
		case protowire.Fixed32Type:
			var y uint32
			y, n = protowire.ConsumeFixed32(b)
			x = uint64(y)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return errWire
		}
		b = b[n:]
		if err := fn(num, typ, v, x); err != nil {
			return err
		}
	}
	return nil
}

// decodeLogMessage reads a StreamAccessLogsMessage: each HTTP entry is a try
// (the router's upstream_log) or a planned request (the HCM's access_log).
func decodeLogMessage(b []byte, onTry func(tryLog), onRequest func(requestLog)) error {
	return wireFields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if num != 2 || typ != protowire.BytesType { // http_logs
			return nil
		}
		return wireFields(v, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
			if num != 1 || typ != protowire.BytesType { // log_entry
				return nil
			}
			e, err := decodeEntry(v)
			if err != nil {
				return err
			}
			e.dispatch(onTry, onRequest)
			return nil
		})
	})
}

// wireEntry is what the outcome needs of one HTTPAccessLogEntry.
type wireEntry struct {
	logType          uint64
	start            time.Time
	firstRx, lastRx  time.Duration
	duration         time.Duration
	hasLastRx, hasDu bool
	cluster          string
	flags            tryFailure
	attempts         int
	streamID         string
	requestID        string
	status           int
	headers          map[string]string
	ctx              string
	fast             bool
	usage            usageLog
	module           bool
	moduleClass      translator.ErrorClass // the module's class of its try (D71)
}

// AccessLogType values (envoy.data.accesslog.v3.AccessLogType).
const (
	logTypeNotSet        = 0
	logTypeDownstreamEnd = 6
	logTypeUpstreamEnd   = 9
)

func (e *wireEntry) dispatch(onTry func(tryLog), onRequest func(requestLog)) {
	isTry := e.logType == logTypeUpstreamEnd || (e.logType == logTypeNotSet && e.cluster != "" && e.ctx == "")
	isRequest := e.logType == logTypeDownstreamEnd || (e.logType == logTypeNotSet && e.ctx != "")
	id := e.requestID
	if id == "" {
		id = e.streamID
	}
	switch {
	case isTry && id != "" && e.cluster != "":
		t := tryLog{requestID: id, cluster: e.cluster, start: e.start, status: e.status, failure: e.flags, firstByte: e.firstRx, headers: e.headers, module: e.module, class: e.moduleClass}
		if e.hasLastRx {
			t.latency = e.lastRx
		} else if e.hasDu {
			t.latency = e.duration
		}
		onTry(t)
	case isRequest && id != "" && e.ctx != "":
		onRequest(requestLog{requestID: id, start: e.start, duration: e.duration, attempts: e.attempts, ctx: e.ctx, fast: e.fast, usage: e.usage})
	}
}

func decodeEntry(b []byte) (*wireEntry, error) {
	e := &wireEntry{}
	err := wireFields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 1: // common_properties
			return e.common(v)
		case 3: // request
			return wireFields(v, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
				if num == 9 && typ == protowire.BytesType { // request_id
					e.requestID = string(v)
				}
				return nil
			})
		case 4: // response
			return e.response(v)
		}
		return nil
	})
	return e, err
}

func (e *wireEntry) common(b []byte) error {
	return wireFields(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch {
		case typ == protowire.VarintType && num == 24: // upstream_request_attempt_count
			e.attempts = int(min(x, 1<<16))
		case typ == protowire.VarintType && num == 33: // access_log_type
			e.logType = x
		case typ != protowire.BytesType:
		case num == 5: // start_time
			s, n := wireSecondsNanos(v)
			e.start = time.Unix(s, n)
		case num == 9: // time_to_first_upstream_rx_byte
			e.firstRx = wireDuration(v)
		case num == 10: // time_to_last_upstream_rx_byte
			e.lastRx, e.hasLastRx = wireDuration(v), true
		case num == 23: // duration
			e.duration, e.hasDu = wireDuration(v), true
		case num == 15: // upstream_cluster
			e.cluster = string(v)
		case num == 26: // stream_id
			e.streamID = string(v)
		case num == 16: // response_flags
			e.flags = wireFlags(v)
		case num == 17: // metadata
			return e.metadata(v)
		}
		return nil
	})
}

// wireFlags reads ResponseFlags as failureOf reads the generated type.
func wireFlags(b []byte) tryFailure {
	set := map[protowire.Number]bool{}
	_ = wireFields(b, func(num protowire.Number, typ protowire.Type, _ []byte, x uint64) error {
		if typ == protowire.VarintType && x != 0 {
			set[num] = true
		}
		return nil
	})
	switch {
	case set[3]: // upstream_request_timeout
		return failTimeout
	case set[6], set[8], set[27], set[2]: // connection failure, overflow, DNS, no healthy upstream
		return failConnect
	case set[5], set[7], set[24]: // remote reset, connection termination, protocol error
		return failReset
	case set[15], set[28], set[4]: // downstream termination, downstream reset, local reset
		return failClient
	}
	return failNone
}

func wireSecondsNanos(b []byte) (s int64, n int64) {
	_ = wireFields(b, func(num protowire.Number, typ protowire.Type, _ []byte, x uint64) error {
		if typ == protowire.VarintType {
			switch num {
			case 1:
				s = int64(x)
			case 2:
				n = int64(int32(x))
			}
		}
		return nil
	})
	return s, n
}

func wireDuration(b []byte) time.Duration {
	s, n := wireSecondsNanos(b)
	if s > math.MaxInt64/int64(time.Second)-1 || s < 0 {
		return 0
	}
	return time.Duration(s)*time.Second + time.Duration(n)
}

func (e *wireEntry) response(b []byte) error {
	return wireFields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if typ != protowire.BytesType {
			return nil
		}
		switch num {
		case 1: // response_code (UInt32Value)
			_ = wireFields(v, func(num protowire.Number, typ protowire.Type, _ []byte, x uint64) error {
				if num == 1 && typ == protowire.VarintType {
					e.status = int(min(x, 999))
				}
				return nil
			})
		case 4: // response_headers (map<string, string>)
			k, val := wireMapEntry(v)
			if e.headers == nil {
				e.headers = map[string]string{}
			}
			e.headers[string(k)] = string(val)
		}
		return nil
	})
}

// wireMapEntry reads one map entry (key 1: string, value 2: bytes); both
// are views of b (a key compared in a switch is never copied: D115).
func wireMapEntry(b []byte) (key, val []byte) {
	_ = wireFields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if typ == protowire.BytesType {
			switch num {
			case 1:
				key = v
			case 2:
				val = v
			}
		}
		return nil
	})
	return key, val
}

// metadata reads core.v3.Metadata: only llmgate.ctx ("ctx", "fast") and
// llmgate.usage; the plan and everything else are skipped unread.
func (e *wireEntry) metadata(b []byte) error {
	return wireFields(b, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if num != 1 || typ != protowire.BytesType { // filter_metadata
			return nil
		}
		ns, st := wireMapEntry(v)
		switch string(ns) {
		case contract.ContextMetadataNamespace:
			wireStruct(st, func(k []byte, val wireValue) {
				switch string(k) {
				case "ctx":
					e.ctx = val.text()
				case FastMetadataKey:
					e.fast = val.boolean
				}
			})
		case UsageMetadataNamespace:
			var ok1, ok2, ok3 bool
			wireStruct(st, func(k []byte, val wireValue) {
				switch string(k) {
				case "prompt_tokens":
					e.usage.promptTokens, ok1 = val.tokens()
				case "completion_tokens":
					e.usage.completionTokens, ok2 = val.tokens()
				case "total_tokens":
					e.usage.total, ok3 = val.tokens()
				case "cached_tokens":
					e.usage.cached, _ = val.tokens()
				case "model":
					e.usage.model = val.text()
				case "finish":
					e.usage.finish = val.text()
				case UsageDoneKey:
					e.usage.done = val.boolean
				case UsageErrorKey:
					e.usage.streamErr = val.text()
				}
			})
			e.usage.known = ok1 || ok2 || ok3
		case ModuleOutcomeNamespace:
			wireStruct(st, func(k []byte, val wireValue) {
				e.module = e.module || (string(k) == "last" && val.boolean)
				if string(k) == ModuleClassKey && val.kind == 2 && val.number >= float64(translator.ErrBadRequest) && val.number <= float64(translator.ErrInternal) {
					e.moduleClass = translator.ErrorClass(val.number)
				}
			})
		}
		return nil
	})
}

// wireValue is a google.protobuf.Value of a kind the outcome reads.
type wireValue struct {
	kind    protowire.Number // 2 number, 3 string, 4 bool; others not read
	number  float64
	str     []byte // a view of the message (text copies it)
	boolean bool
}

// text is a string value, copied out of the message.
func (v wireValue) text() string {
	if v.kind != 3 {
		return ""
	}
	return string(v.str)
}

func (v wireValue) tokens() (int, bool) {
	switch v.kind {
	case 2:
		return boundTokens(v.number), true
	case 3:
		n, err := strconv.ParseFloat(string(v.str), 64)
		return boundTokens(n), err == nil
	}
	return 0, false
}

// wireStruct calls fn for each field of a google.protobuf.Struct whose value
// is a number, a string or a bool.
func wireStruct(b []byte, fn func(k []byte, v wireValue)) {
	_ = wireFields(b, func(num protowire.Number, typ protowire.Type, entry []byte, _ uint64) error {
		if num != 1 || typ != protowire.BytesType { // fields
			return nil
		}
		k, vb := wireMapEntry(entry)
		var val wireValue
		_ = wireFields(vb, func(num protowire.Number, typ protowire.Type, s []byte, x uint64) error {
			switch {
			case num == 2 && typ == protowire.Fixed64Type:
				val = wireValue{kind: 2, number: math.Float64frombits(x)}
			case num == 3 && typ == protowire.BytesType:
				val = wireValue{kind: 3, str: s}
			case num == 4 && typ == protowire.VarintType:
				val = wireValue{kind: 4, boolean: x != 0}
			}
			return nil
		})
		if val.kind != 0 {
			fn(k, val)
		}
		return nil
	})
}
