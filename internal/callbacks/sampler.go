package callbacks

import (
	"encoding/binary"
	"math"

	"go.opentelemetry.io/otel/trace"

	"github.com/llmgate/llmgate/config"
)

// sampler is OTEL_TRACES_SAMPLER's decision for a request (D58), taken on
// the request's trace id, so every try of a request gets the same answer:
// a parent-based sampler follows the sampled flag of the client's
// traceparent and uses its root sampler without one; traceidratio keeps the
// trace ids whose lower 63 bits fall under ratio × 2^63, as the OTel SDKs
// do.
type sampler struct {
	parentBased bool
	// root: the decision without a parent.
	always, never bool
	bound         uint64
}

func newSampler(name string, ratio float64) sampler {
	s := sampler{parentBased: name == "" || name == config.SamplerParentAlwaysOn || name == config.SamplerParentAlwaysOff ||
		name == config.SamplerParentTraceIDRatio}
	switch name {
	case config.SamplerAlwaysOff, config.SamplerParentAlwaysOff:
		s.never = true
	case config.SamplerTraceIDRatio, config.SamplerParentTraceIDRatio:
		switch {
		case ratio >= 1:
			s.always = true
		case ratio <= 0 || math.IsNaN(ratio):
			s.never = true
		default:
			s.bound = uint64(ratio * (1 << 63))
		}
	default:
		s.always = true
	}
	return s
}

// byID reports whether the decision reads the trace id (a ratio without a
// client's sampled flag): else sampled needs none, and the caller need not
// derive it (D110: the trace id was derived twice per try, here and for the
// spans).
func (s sampler) byID(traceparent string) bool {
	return !(s.parentBased && len(traceparent) == 55) && !s.always && !s.never
}

// sampled decides for a request's trace id; traceparent is the client's
// (validated, "" without one).
func (s sampler) sampled(tid trace.TraceID, traceparent string) bool {
	if s.parentBased && len(traceparent) == 55 {
		// The sampled flag: bit 0 of the trace flags, the last hex digit.
		c := traceparent[54]
		if c >= 'a' {
			c -= 'a' - 10
		}
		return c&1 == 1
	}
	switch {
	case s.always:
		return true
	case s.never:
		return false
	}
	return binary.BigEndian.Uint64(tid[8:16])>>1 < s.bound
}
