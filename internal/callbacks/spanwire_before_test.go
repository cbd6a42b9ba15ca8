package callbacks

import (
	"math"
	"strconv"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/llmgate/llmgate/internal/outcome"
	"github.com/llmgate/llmgate/internal/wire"
)

// The spans' encoding before D85 (each field through protowire's
// appenders, each message's length by wire.AppendNested), kept as the
// reference the new encoder is compared with byte for byte and field by
// field (TestSpanEncodingUnchanged).

// kvStrBefore, kvIntBefore and kvDoubleBefore append one attribute (a KeyValue, field 9 of a
// span).
func kvStrBefore(b []byte, k, v string) []byte {
	b = protowire.AppendTag(b, fSpanAttrs, protowire.BytesType)
	inner := protowire.SizeTag(fAnyString) + protowire.SizeBytes(len(v))
	b = protowire.AppendVarint(b, uint64(protowire.SizeTag(fKVKey)+protowire.SizeBytes(len(k))+protowire.SizeTag(fKVValue)+protowire.SizeBytes(inner)))
	b = wire.AppendString(b, fKVKey, k)
	b = protowire.AppendTag(b, fKVValue, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(inner))
	return wire.AppendString(b, fAnyString, v)
}

func kvIntBefore(b []byte, k string, v int) []byte {
	b = protowire.AppendTag(b, fSpanAttrs, protowire.BytesType)
	inner := protowire.SizeTag(fAnyInt) + protowire.SizeVarint(uint64(int64(v)))
	b = protowire.AppendVarint(b, uint64(protowire.SizeTag(fKVKey)+protowire.SizeBytes(len(k))+protowire.SizeTag(fKVValue)+protowire.SizeBytes(inner)))
	b = wire.AppendString(b, fKVKey, k)
	b = protowire.AppendTag(b, fKVValue, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(inner))
	b = protowire.AppendTag(b, fAnyInt, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(int64(v)))
}

func kvDoubleBefore(b []byte, k string, v float64) []byte {
	b = protowire.AppendTag(b, fSpanAttrs, protowire.BytesType)
	inner := protowire.SizeTag(fAnyDouble) + protowire.SizeFixed64()
	b = protowire.AppendVarint(b, uint64(protowire.SizeTag(fKVKey)+protowire.SizeBytes(len(k))+protowire.SizeTag(fKVValue)+protowire.SizeBytes(inner)))
	b = wire.AppendString(b, fKVKey, k)
	b = protowire.AppendTag(b, fKVValue, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(inner))
	b = protowire.AppendTag(b, fAnyDouble, protowire.Fixed64Type)
	return protowire.AppendFixed64(b, math.Float64bits(v))
}

// spanHeadBefore appends a span's ids, flags, name, kind and times.
func spanHeadBefore(b []byte, tid, id, parent []byte, flags uint32, name string, kind tracepb.Span_SpanKind, start, end uint64) []byte {
	b = protowire.AppendTag(b, fSpanTraceID, protowire.BytesType)
	b = protowire.AppendBytes(b, tid)
	b = protowire.AppendTag(b, fSpanID, protowire.BytesType)
	b = protowire.AppendBytes(b, id)
	if len(parent) > 0 {
		b = protowire.AppendTag(b, fSpanParentID, protowire.BytesType)
		b = protowire.AppendBytes(b, parent)
	}
	b = wire.AppendString(b, fSpanName, name)
	b = protowire.AppendTag(b, fSpanKind, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(kind))
	if start != 0 {
		b = protowire.AppendTag(b, fSpanStart, protowire.Fixed64Type)
		b = protowire.AppendFixed64(b, start)
	}
	if end != 0 {
		b = protowire.AppendTag(b, fSpanEnd, protowire.Fixed64Type)
		b = protowire.AppendFixed64(b, end)
	}
	b = protowire.AppendTag(b, fSpanFlags, protowire.Fixed32Type)
	return protowire.AppendFixed32(b, flags)
}

// spanStatusBefore appends a span's status (ok, or error with its message).
func spanStatusBefore(b []byte, failed bool, msg string) []byte {
	return wire.AppendNested(b, fSpanStatus, func(b []byte) []byte {
		code := tracepb.Status_STATUS_CODE_OK
		if failed {
			b = wire.AppendString(b, fStatusMessage, msg)
			code = tracepb.Status_STATUS_CODE_ERROR
		}
		b = protowire.AppendTag(b, fStatusCode, protowire.VarintType)
		return protowire.AppendVarint(b, uint64(code))
	})
}

// appendSpansBefore appends a try's spans as ScopeSpans.spans fields: the attempt
// span (a child of the request span), and, for the try whose answer
// reached the client, the server span "Received Proxy Server Request" (a
// child of the client's span when it sent a traceparent: what Envoy's own
// server span told, D58) and litellm_request under it. Span ids are
// derived from the call id, so the tries of one request, exported apart,
// form one tree.
func appendSpansBefore(b []byte, t *outcome.Try) []byte {
	tid, parent := traceIDs(t)
	reqID := spanID(t.CallID, "request", -1)
	op := operation(t.Endpoint)
	failed := t.Failed()
	var cls, msg string
	if failed {
		cls = errorClass(t)
		msg = "litellm." + cls + " " + strconv.Itoa(t.Status)
	}
	start := t.End.Add(-t.Latency)
	if t.Latency <= 0 || start.Before(t.Start) {
		start = t.Start
	}
	if !t.Refused { // a refused request made no try
		id := spanID(t.CallID, "attempt", t.Attempt)
		b = wire.AppendNested(b, fScopeSpansSpans, func(b []byte) []byte {
			b = spanHeadBefore(b, tid[:], id[:], reqID[:], 0x101, op+" "+t.Model, tracepb.Span_SPAN_KIND_CLIENT, unixNano(start), unixNano(t.End))
			b = kvStrBefore(b, "gen_ai.operation.name", op)
			b = kvStrBefore(b, "gen_ai.provider.name", t.Provider)
			b = kvStrBefore(b, "gen_ai.system", t.Provider)
			b = kvStrBefore(b, "gen_ai.request.model", t.Model)
			b = kvStrBefore(b, "gen_ai.response.model", t.Model)
			b = kvIntBefore(b, "gen_ai.usage.input_tokens", t.PromptTokens)
			b = kvIntBefore(b, "gen_ai.usage.output_tokens", t.CompletionTokens)
			b = kvStrBefore(b, "litellm.call_id", t.CallID)
			b = kvStrBefore(b, "llm.model_group", t.ModelGroup)
			b = kvStrBefore(b, "llmgate.deployment_id", t.DeploymentID)
			b = kvStrBefore(b, "server.address", t.APIBase)
			b = kvIntBefore(b, "llmgate.attempt", t.Attempt)
			b = kvIntBefore(b, "llmgate.retry", t.Retry)
			b = kvIntBefore(b, "llmgate.fallback", t.Fallback)
			b = kvStrBefore(b, "llmgate.answer", t.Answer.String())
			if t.Status > 0 {
				b = kvIntBefore(b, "http.response.status_code", t.Status)
			}
			if t.CostKnown {
				b = kvDoubleBefore(b, "gen_ai.usage.cost", t.Cost)
			}
			if failed {
				b = kvStrBefore(b, "error.type", cls)
			}
			return spanStatusBefore(b, failed, msg)
		})
	}
	if t.Answer != outcome.AnswerSent {
		return b
	}
	srvID := spanID(t.CallID, "server", -1)
	b = wire.AppendNested(b, fScopeSpansSpans, func(b []byte) []byte {
		var p []byte
		flags := uint32(0x101)
		if parent.IsValid() {
			p, flags = parent[:], 0x301 // sampled, remote parent
		}
		b = spanHeadBefore(b, tid[:], srvID[:], p, flags, ServerSpanName, tracepb.Span_SPAN_KIND_SERVER, unixNano(t.Start), unixNano(t.End))
		b = kvStrBefore(b, "http.request.method", "POST")
		b = kvStrBefore(b, "url.path", t.Route)
		b = kvStrBefore(b, "http.route", t.Route)
		b = kvStrBefore(b, "litellm.call_id", t.CallID)
		if t.Status > 0 {
			b = kvIntBefore(b, "http.response.status_code", t.Status)
		}
		if failed {
			b = kvStrBefore(b, "error.type", cls)
		}
		return spanStatusBefore(b, failed, msg)
	})
	return wire.AppendNested(b, fScopeSpansSpans, func(b []byte) []byte {
		b = spanHeadBefore(b, tid[:], reqID[:], srvID[:], 0x101, "litellm_request", tracepb.Span_SPAN_KIND_INTERNAL, unixNano(t.Start), unixNano(t.End))
		b = kvStrBefore(b, "gen_ai.operation.name", op)
		b = kvStrBefore(b, "gen_ai.provider.name", t.Provider)
		b = kvStrBefore(b, "gen_ai.system", t.Provider)
		b = kvStrBefore(b, "gen_ai.request.model", t.RequestedModel)
		b = kvStrBefore(b, "gen_ai.response.model", t.Model)
		b = kvIntBefore(b, "gen_ai.usage.input_tokens", t.PromptTokens)
		b = kvIntBefore(b, "gen_ai.usage.output_tokens", t.CompletionTokens)
		b = kvStrBefore(b, "litellm.call_id", t.CallID)
		b = kvStrBefore(b, "llm.model_group", t.ModelGroup)
		b = kvStrBefore(b, "http.route", t.Route)
		b = kvIntBefore(b, "llmgate.attempts", t.Attempt+1)
		if t.Status > 0 {
			b = kvIntBefore(b, "http.response.status_code", t.Status)
		}
		return spanStatusBefore(b, failed, msg)
	})
}

// exportTracesBefore is the OTLP ExportTraceServiceRequest of a batch: one
// ResourceSpans (the service) with one ScopeSpans.
func exportTracesBefore(buf, resource []byte, batch []outcome.Try) []byte {
	b := wire.AppendNested(buf, 1, func(b []byte) []byte {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendBytes(b, resource)
		return wire.AppendNested(b, 2, func(b []byte) []byte {
			b = protowire.AppendTag(b, 1, protowire.BytesType)
			b = protowire.AppendBytes(b, scopeBytes)
			for i := range batch {
				b = appendSpansBefore(b, &batch[i])
			}
			return b
		})
	})
	return b
}
