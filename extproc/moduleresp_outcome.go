package extproc

import (
	"math"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/wire"
)

// Outcomes from the module (docs/architecture.md D54). In module mode the
// HCM has no outcome entry per request and the router logs only the tries
// that did not succeed: the module writes one record per planned request
// when it completes, carrying the try that answered when it answered below
// 400 to its end, and ships them in batches to the gateway's access-log
// service as Envoy's own entries (StreamAccessLogsMessage, the fields
// alswire.go reads), so the join and the report stay as they are: the
// request's entry expects as many tries as Envoy made, Envoy logs the failed
// ones and the module's record brings the last.

// ModuleOutcome is one planned request as the module saw it complete.
type ModuleOutcome struct {
	RequestID string
	// Begin is when the request started; End when it completed.
	Begin, End time.Time
	// Attempts is the number of upstream tries Envoy made.
	Attempts int
	// Ctx is llmgate.ctx "ctx" ("-" when not fast: nobody reads it then).
	Ctx  string
	Fast bool
	// Usage is what the answer reported (the response side's reading).
	Usage RespUsage
	// Answered: the last try answered below 400 and its answer passed whole;
	// then Cluster, Status, FirstByte, LastByte and Headers are that try's.
	Answered            bool
	Cluster             string
	Status              int
	FirstByte, LastByte time.Time
	Headers             [][2]string
	// Class is the translator's error class (translator.ErrorClass) of an
	// answered try that failed inside its stream (D66, D71); 0: the
	// status's class.
	Class int
	// SpendOnly: a first-try success of a RespPlan.SpendOnly plan: sent as
	// a compact spend record (alsspend.go, D145) instead of the entries.
	SpendOnly bool
	// Observed: a first-try success of a RespPlan.Observed plan: sent as a
	// compact record with its headers (alsspend.go, D177).
	Observed bool
}

// ModuleOutcomeNamespace marks the entry of the try the module reports (the
// last one); its times are the request's, fixed in reportLogged.
const ModuleOutcomeNamespace = "llmgate.module"

// ModuleClassKey is the field of ModuleOutcomeNamespace with the try's
// error class (ModuleOutcome.Class).
const ModuleClassKey = "class"

// AppendOutcomes appends a StreamAccessLogsMessage with the outcomes' entries
// (the http_logs field) to b.
func AppendOutcomes(b []byte, os []ModuleOutcome) []byte {
	if len(os) == 0 {
		return b
	}
	return wire.AppendNested(b, 2, func(b []byte) []byte { // http_logs
		for i := range os {
			o := &os[i]
			b = wire.AppendNested(b, 1, func(b []byte) []byte { return appendRequestEntry(b, o) })
			if o.Answered && o.Fast {
				b = wire.AppendNested(b, 1, func(b []byte) []byte { return appendTryEntry(b, o) })
			}
		}
		return b
	})
}

func appendTimestamp(b []byte, num protowire.Number, t time.Time) []byte {
	return wire.AppendNested(b, num, func(b []byte) []byte {
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(t.Unix()))
		b = protowire.AppendTag(b, 2, protowire.VarintType)
		return protowire.AppendVarint(b, uint64(t.Nanosecond()))
	})
}

func appendDuration(b []byte, num protowire.Number, d time.Duration) []byte {
	if d < 0 {
		d = 0
	}
	return wire.AppendNested(b, num, func(b []byte) []byte {
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(d/time.Second))
		b = protowire.AppendTag(b, 2, protowire.VarintType)
		return protowire.AppendVarint(b, uint64(d%time.Second))
	})
}

// appendMetadataNS appends one filter_metadata entry (a Struct written by fn).
func appendMetadataNS(b []byte, ns string, fn func([]byte) []byte) []byte {
	return wire.AppendNested(b, 1, func(b []byte) []byte {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, ns)
		return wire.AppendNested(b, 2, fn)
	})
}

func appendStructField(b []byte, k string, value func([]byte) []byte) []byte {
	return wire.AppendNested(b, 1, func(b []byte) []byte {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, k)
		return wire.AppendNested(b, 2, value)
	})
}

func appendRequestEntry(b []byte, o *ModuleOutcome) []byte {
	b = wire.AppendNested(b, 1, func(b []byte) []byte { // common_properties
		b = appendTimestamp(b, 5, o.Begin)
		b = appendDuration(b, 23, o.End.Sub(o.Begin))
		b = protowire.AppendTag(b, 24, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(max(o.Attempts, 0)))
		b = protowire.AppendTag(b, 33, protowire.VarintType)
		b = protowire.AppendVarint(b, logTypeDownstreamEnd)
		return wire.AppendNested(b, 17, func(b []byte) []byte { // metadata
			b = appendMetadataNS(b, contract.ContextMetadataNamespace, func(b []byte) []byte {
				b = appendStructField(b, "ctx", func(b []byte) []byte {
					b = protowire.AppendTag(b, 3, protowire.BytesType)
					return protowire.AppendString(b, o.Ctx)
				})
				return appendStructField(b, FastMetadataKey, func(b []byte) []byte {
					b = protowire.AppendTag(b, 4, protowire.VarintType)
					return protowire.AppendVarint(b, protowire.EncodeBool(o.Fast))
				})
			})
			if !o.Usage.empty() {
				b = appendMetadataNS(b, UsageMetadataNamespace, o.Usage.AppendStruct)
			}
			return b
		})
	})
	return wire.AppendNested(b, 3, func(b []byte) []byte { // request
		b = protowire.AppendTag(b, 9, protowire.BytesType)
		return protowire.AppendString(b, o.RequestID)
	})
}

func appendTryEntry(b []byte, o *ModuleOutcome) []byte {
	b = wire.AppendNested(b, 1, func(b []byte) []byte { // common_properties
		b = appendTimestamp(b, 5, o.Begin)
		b = appendDuration(b, 9, o.FirstByte.Sub(o.Begin))
		b = appendDuration(b, 10, o.LastByte.Sub(o.Begin))
		b = protowire.AppendTag(b, 15, protowire.BytesType)
		b = protowire.AppendString(b, o.Cluster)
		b = protowire.AppendTag(b, 33, protowire.VarintType)
		b = protowire.AppendVarint(b, logTypeUpstreamEnd)
		return wire.AppendNested(b, 17, func(b []byte) []byte {
			return appendMetadataNS(b, ModuleOutcomeNamespace, func(b []byte) []byte {
				b = appendStructField(b, "last", func(b []byte) []byte {
					b = protowire.AppendTag(b, 4, protowire.VarintType)
					return protowire.AppendVarint(b, 1)
				})
				if o.Class == 0 {
					return b
				}
				return appendStructField(b, ModuleClassKey, func(b []byte) []byte {
					b = protowire.AppendTag(b, 2, protowire.Fixed64Type)
					return protowire.AppendFixed64(b, math.Float64bits(float64(o.Class)))
				})
			})
		})
	})
	b = wire.AppendNested(b, 3, func(b []byte) []byte {
		b = protowire.AppendTag(b, 9, protowire.BytesType)
		return protowire.AppendString(b, o.RequestID)
	})
	return wire.AppendNested(b, 4, func(b []byte) []byte { // response
		b = wire.AppendNested(b, 1, func(b []byte) []byte {
			b = protowire.AppendTag(b, 1, protowire.VarintType)
			return protowire.AppendVarint(b, uint64(max(o.Status, 0)))
		})
		for _, kv := range o.Headers {
			b = wire.AppendNested(b, 4, func(b []byte) []byte {
				b = protowire.AppendTag(b, 1, protowire.BytesType)
				b = protowire.AppendString(b, kv[0])
				b = protowire.AppendTag(b, 2, protowire.BytesType)
				return protowire.AppendString(b, kv[1])
			})
		}
		return b
	})
}

// moduleTryTimes fixes the times of the try the module reported (the last
// one: its entry has the request's start): the try started when the request
// filter had answered, or when the try before it ended, whichever is later.
func moduleTryTimes(t *tryLog, planned time.Time, tries []tryLog) {
	first, last := t.start.Add(t.firstByte), t.start.Add(t.latency)
	start := planned
	if start.Before(t.start) {
		start = t.start
	}
	for i := range tries {
		o := &tries[i]
		if o.module || o.start.IsZero() {
			continue
		}
		if end := o.start.Add(o.latency); end.After(start) {
			start = end
		}
	}
	if start.IsZero() || start.After(first) {
		return
	}
	t.start, t.firstByte, t.latency = start, first.Sub(start), last.Sub(start)
}
