package callbacks

import (
	"context"
	"fmt"
	"math"
	"strconv"

	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/llmgate/llmgate/internal/outcome"
	"github.com/llmgate/llmgate/internal/wire"
)

// The otel callback's spans are written straight to the OTLP protobuf wire
// format (D58): building OTLP messages and marshalling them by reflection
// was most of what remained of the callback's CPU. Spans (the messages, for
// tests and readers) decodes exactly these bytes, so there is one
// definition of a try's spans.

// OTLP field numbers (opentelemetry/proto/trace/v1, common/v1).
const (
	fSpanTraceID, fSpanID, fSpanParentID, fSpanName, fSpanKind = 1, 2, 4, 5, 6
	fSpanStart, fSpanEnd, fSpanAttrs, fSpanStatus, fSpanFlags  = 7, 8, 9, 15, 16
	fStatusMessage, fStatusCode                                = 2, 3
	fKVKey, fKVValue                                           = 1, 2
	fAnyString, fAnyInt, fAnyDouble                            = 1, 3, 4
	fScopeSpansSpans                                           = 2
)

// kvStr, kvInt and kvDouble append one attribute (a KeyValue, field 9 of a
// span).
func kvStr(b []byte, k, v string) []byte {
	b = protowire.AppendTag(b, fSpanAttrs, protowire.BytesType)
	inner := protowire.SizeTag(fAnyString) + protowire.SizeBytes(len(v))
	b = protowire.AppendVarint(b, uint64(protowire.SizeTag(fKVKey)+protowire.SizeBytes(len(k))+protowire.SizeTag(fKVValue)+protowire.SizeBytes(inner)))
	b = wire.AppendString(b, fKVKey, k)
	b = protowire.AppendTag(b, fKVValue, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(inner))
	return wire.AppendString(b, fAnyString, v)
}

func kvInt(b []byte, k string, v int) []byte {
	b = protowire.AppendTag(b, fSpanAttrs, protowire.BytesType)
	inner := protowire.SizeTag(fAnyInt) + protowire.SizeVarint(uint64(int64(v)))
	b = protowire.AppendVarint(b, uint64(protowire.SizeTag(fKVKey)+protowire.SizeBytes(len(k))+protowire.SizeTag(fKVValue)+protowire.SizeBytes(inner)))
	b = wire.AppendString(b, fKVKey, k)
	b = protowire.AppendTag(b, fKVValue, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(inner))
	b = protowire.AppendTag(b, fAnyInt, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(int64(v)))
}

func kvDouble(b []byte, k string, v float64) []byte {
	b = protowire.AppendTag(b, fSpanAttrs, protowire.BytesType)
	inner := protowire.SizeTag(fAnyDouble) + protowire.SizeFixed64()
	b = protowire.AppendVarint(b, uint64(protowire.SizeTag(fKVKey)+protowire.SizeBytes(len(k))+protowire.SizeTag(fKVValue)+protowire.SizeBytes(inner)))
	b = wire.AppendString(b, fKVKey, k)
	b = protowire.AppendTag(b, fKVValue, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(inner))
	b = protowire.AppendTag(b, fAnyDouble, protowire.Fixed64Type)
	return protowire.AppendFixed64(b, math.Float64bits(v))
}

// spanHead appends a span's ids, flags, name, kind and times.
func spanHead(b []byte, tid, id, parent []byte, flags uint32, name string, kind tracepb.Span_SpanKind, start, end uint64) []byte {
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

// spanStatus appends a span's status (ok, or error with its message).
func spanStatus(b []byte, failed bool, msg string) []byte {
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

// appendSpans appends a try's spans as ScopeSpans.spans fields: the attempt
// span (a child of the request span), and, for the try whose answer
// reached the client, the server span "Received Proxy Server Request" (a
// child of the client's span when it sent a traceparent: what Envoy's own
// server span told, D58) and litellm_request under it. Span ids are
// derived from the call id, so the tries of one request, exported apart,
// form one tree.
func appendSpans(b []byte, t *outcome.Try) []byte {
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
			b = spanHead(b, tid[:], id[:], reqID[:], 0x101, op+" "+t.Model, tracepb.Span_SPAN_KIND_CLIENT, unixNano(start), unixNano(t.End))
			b = kvStr(b, "gen_ai.operation.name", op)
			b = kvStr(b, "gen_ai.provider.name", t.Provider)
			b = kvStr(b, "gen_ai.system", t.Provider)
			b = kvStr(b, "gen_ai.request.model", t.Model)
			b = kvStr(b, "gen_ai.response.model", t.Model)
			b = kvInt(b, "gen_ai.usage.input_tokens", t.PromptTokens)
			b = kvInt(b, "gen_ai.usage.output_tokens", t.CompletionTokens)
			b = kvStr(b, "litellm.call_id", t.CallID)
			b = kvStr(b, "llm.model_group", t.ModelGroup)
			b = kvStr(b, "llmgate.deployment_id", t.DeploymentID)
			b = kvStr(b, "server.address", t.APIBase)
			b = kvInt(b, "llmgate.attempt", t.Attempt)
			b = kvInt(b, "llmgate.retry", t.Retry)
			b = kvInt(b, "llmgate.fallback", t.Fallback)
			b = kvStr(b, "llmgate.answer", t.Answer.String())
			if t.Status > 0 {
				b = kvInt(b, "http.response.status_code", t.Status)
			}
			if t.CostKnown {
				b = kvDouble(b, "gen_ai.usage.cost", t.Cost)
			}
			if failed {
				b = kvStr(b, "error.type", cls)
			}
			return spanStatus(b, failed, msg)
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
		b = spanHead(b, tid[:], srvID[:], p, flags, ServerSpanName, tracepb.Span_SPAN_KIND_SERVER, unixNano(t.Start), unixNano(t.End))
		b = kvStr(b, "http.request.method", "POST")
		b = kvStr(b, "url.path", t.Route)
		b = kvStr(b, "http.route", t.Route)
		b = kvStr(b, "litellm.call_id", t.CallID)
		if t.Status > 0 {
			b = kvInt(b, "http.response.status_code", t.Status)
		}
		if failed {
			b = kvStr(b, "error.type", cls)
		}
		return spanStatus(b, failed, msg)
	})
	return wire.AppendNested(b, fScopeSpansSpans, func(b []byte) []byte {
		b = spanHead(b, tid[:], reqID[:], srvID[:], 0x101, "litellm_request", tracepb.Span_SPAN_KIND_INTERNAL, unixNano(t.Start), unixNano(t.End))
		b = kvStr(b, "gen_ai.operation.name", op)
		b = kvStr(b, "gen_ai.provider.name", t.Provider)
		b = kvStr(b, "gen_ai.system", t.Provider)
		b = kvStr(b, "gen_ai.request.model", t.RequestedModel)
		b = kvStr(b, "gen_ai.response.model", t.Model)
		b = kvInt(b, "gen_ai.usage.input_tokens", t.PromptTokens)
		b = kvInt(b, "gen_ai.usage.output_tokens", t.CompletionTokens)
		b = kvStr(b, "litellm.call_id", t.CallID)
		b = kvStr(b, "llm.model_group", t.ModelGroup)
		b = kvStr(b, "http.route", t.Route)
		b = kvInt(b, "llmgate.attempts", t.Attempt+1)
		if t.Status > 0 {
			b = kvInt(b, "http.response.status_code", t.Status)
		}
		return spanStatus(b, failed, msg)
	})
}

// Spans are a try's spans as OTLP messages (appendSpans decoded).
func Spans(t *outcome.Try) []*tracepb.Span {
	var ss tracepb.ScopeSpans
	if err := proto.Unmarshal(appendSpans(nil, t), &ss); err != nil {
		panic(fmt.Sprintf("the spans' own encoding: %v", err)) // a bug in appendSpans
	}
	return ss.Spans
}

// exportTraces is the OTLP ExportTraceServiceRequest of a batch: one
// ResourceSpans (the service) with one ScopeSpans.
func exportTraces(resource []byte, batch []outcome.Try) []byte {
	b := wire.AppendNested(spanSize.buf(len(batch), 1536), 1, func(b []byte) []byte {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendBytes(b, resource)
		return wire.AppendNested(b, 2, func(b []byte) []byte {
			b = protowire.AppendTag(b, 1, protowire.BytesType)
			b = protowire.AppendBytes(b, scopeBytes)
			for i := range batch {
				b = appendSpans(b, &batch[i])
			}
			return b
		})
	})
	spanSize.observe(b, len(batch))
	return b
}

// spanSize sizes the export requests of spans.
var spanSize sizeHint

var scopeBytes, _ = proto.Marshal(scope)

// rawCodec sends pre-encoded request bytes over gRPC and decodes the
// answer as protobuf (content subtype "proto", as the collector expects).
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) {
	if b, ok := v.([]byte); ok {
		return b, nil
	}
	return proto.Marshal(v.(proto.Message))
}

func (rawCodec) Unmarshal(data []byte, v any) error { return proto.Unmarshal(data, v.(proto.Message)) }

func (rawCodec) Name() string { return "proto" }

// exportTracesGRPC sends an encoded ExportTraceServiceRequest.
func exportTracesGRPC(ctx context.Context, conn *grpc.ClientConn, req []byte) error {
	return conn.Invoke(ctx, "/opentelemetry.proto.collector.trace.v1.TraceService/Export", req, &collectortrace.ExportTraceServiceResponse{}, grpc.ForceCodec(rawCodec{}))
}
