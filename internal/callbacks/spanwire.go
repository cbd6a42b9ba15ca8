package callbacks

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"

	"go.opentelemetry.io/otel/trace"
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

// tag is a one-byte field tag (field numbers 1–15).
func tag(num protowire.Number, typ protowire.Type) byte { return byte(num)<<3 | byte(typ) }

// The tags the spans use, written as constants (D85: each field's tag was
// a call to protowire's varint appender).
var (
	tagAttr      = tag(fSpanAttrs, protowire.BytesType)
	tagKVValue   = tag(fKVValue, protowire.BytesType)
	tagAnyString = tag(fAnyString, protowire.BytesType)
	tagAnyInt    = tag(fAnyInt, protowire.VarintType)
	tagAnyDouble = tag(fAnyDouble, protowire.Fixed64Type)
	tagFlags     = protowire.AppendTag(nil, fSpanFlags, protowire.Fixed32Type) // two bytes
)

// attrKey is an attribute's key as its encoded KeyValue.key field (tag,
// length, bytes), written once for every span that carries it.
type attrKey []byte

func newAttrKey(k string) attrKey { return wire.AppendString(nil, fKVKey, k) }

// The spans' attribute keys.
var (
	akOperation  = newAttrKey("gen_ai.operation.name")
	akProvider   = newAttrKey("gen_ai.provider.name")
	akSystem     = newAttrKey("gen_ai.system")
	akReqModel   = newAttrKey("gen_ai.request.model")
	akRespModel  = newAttrKey("gen_ai.response.model")
	akInTokens   = newAttrKey("gen_ai.usage.input_tokens")
	akOutTokens  = newAttrKey("gen_ai.usage.output_tokens")
	akCallID     = newAttrKey("litellm.call_id")
	akModelGroup = newAttrKey("llm.model_group")
	akDeployment = newAttrKey("llmgate.deployment_id")
	akServer     = newAttrKey("server.address")
	akAttempt    = newAttrKey("llmgate.attempt")
	akRetry      = newAttrKey("llmgate.retry")
	akFallback   = newAttrKey("llmgate.fallback")
	akAnswer     = newAttrKey("llmgate.answer")
	akStatus     = newAttrKey("http.response.status_code")
	akCost       = newAttrKey("gen_ai.usage.cost")
	akErrorType  = newAttrKey("error.type")
	akMethod     = newAttrKey("http.request.method")
	akURLPath    = newAttrKey("url.path")
	akRoute      = newAttrKey("http.route")
	akAttempts   = newAttrKey("llmgate.attempts")
)

// kvStr, kvInt and kvDouble append one attribute (a KeyValue, field 9 of a
// span), its sizes computed, not measured.
func kvStr(b []byte, k attrKey, v string) []byte {
	inner := 1 + protowire.SizeVarint(uint64(len(v))) + len(v)
	b = append(b, tagAttr)
	b = wire.AppendUvarint(b, uint64(len(k)+1+protowire.SizeVarint(uint64(inner))+inner))
	b = append(b, k...)
	b = append(b, tagKVValue)
	b = wire.AppendUvarint(b, uint64(inner))
	b = append(b, tagAnyString)
	b = wire.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

func kvInt(b []byte, k attrKey, v int) []byte {
	u := uint64(int64(v))
	inner := 1 + protowire.SizeVarint(u)
	b = append(b, tagAttr)
	b = wire.AppendUvarint(b, uint64(len(k)+2+inner)) // inner < 128: one byte
	b = append(b, k...)
	b = append(b, tagKVValue, byte(inner), tagAnyInt)
	return wire.AppendUvarint(b, u)
}

func kvDouble(b []byte, k attrKey, v float64) []byte {
	const inner = 1 + 8
	b = append(b, tagAttr)
	b = wire.AppendUvarint(b, uint64(len(k)+2+inner))
	b = append(b, k...)
	b = append(b, tagKVValue, inner, tagAnyDouble)
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
}

// spanHead appends a span's ids, flags, name (name1+name2), kind and
// times.
func spanHead(b []byte, tid *trace.TraceID, id, parent *trace.SpanID, flags uint32, name1, name2 string, kind tracepb.Span_SpanKind, start, end uint64) []byte {
	b = append(b, tag(fSpanTraceID, protowire.BytesType), byte(len(tid)))
	b = append(b, tid[:]...)
	b = append(b, tag(fSpanID, protowire.BytesType), byte(len(id)))
	b = append(b, id[:]...)
	if parent != nil {
		b = append(b, tag(fSpanParentID, protowire.BytesType), byte(len(parent)))
		b = append(b, parent[:]...)
	}
	b = append(b, tag(fSpanName, protowire.BytesType))
	b = wire.AppendUvarint(b, uint64(len(name1)+len(name2)))
	b = append(append(b, name1...), name2...)
	b = append(b, tag(fSpanKind, protowire.VarintType), byte(kind))
	if start != 0 {
		b = binary.LittleEndian.AppendUint64(append(b, tag(fSpanStart, protowire.Fixed64Type)), start)
	}
	if end != 0 {
		b = binary.LittleEndian.AppendUint64(append(b, tag(fSpanEnd, protowire.Fixed64Type)), end)
	}
	b = append(b, tagFlags...)
	return binary.LittleEndian.AppendUint32(b, flags)
}

// spanStatus appends a span's status: ok, or error with its message
// "litellm.<class> <status>".
func spanStatus(b []byte, failed bool, cls string, status int) []byte {
	b, at := wire.Open(b, fSpanStatus, 1)
	code := tracepb.Status_STATUS_CODE_OK
	if failed {
		var num [20]byte
		st := strconv.AppendInt(num[:0], int64(status), 10)
		b = append(b, tag(fStatusMessage, protowire.BytesType))
		b = wire.AppendUvarint(b, uint64(len("litellm.")+len(cls)+1+len(st)))
		b = append(append(append(append(b, "litellm."...), cls...), ' '), st...)
		code = tracepb.Status_STATUS_CODE_ERROR
	}
	b = append(b, tag(fStatusCode, protowire.VarintType), byte(code))
	return wire.Close(b, at, 1)
}

// spanWidth is the length width reserved for a span (wire.Open): a span
// is 128 bytes to 16 KB long unless its strings are unusually long.
const spanWidth = 2

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
	var cls string
	if failed {
		cls = errorClass(t)
	}
	start := t.End.Add(-t.Latency)
	if t.Latency <= 0 || start.Before(t.Start) {
		start = t.Start
	}
	var at int
	if !t.Refused { // a refused request made no try
		id := spanID(t.CallID, "attempt", t.Attempt)
		b, at = wire.Open(b, fScopeSpansSpans, spanWidth)
		b = spanHead(b, &tid, &id, &reqID, 0x101, op+" ", t.Model, tracepb.Span_SPAN_KIND_CLIENT, unixNano(start), unixNano(t.End))
		b = kvStr(b, akOperation, op)
		b = kvStr(b, akProvider, t.Provider)
		b = kvStr(b, akSystem, t.Provider)
		b = kvStr(b, akReqModel, t.Model)
		b = kvStr(b, akRespModel, t.Model)
		b = kvInt(b, akInTokens, t.PromptTokens)
		b = kvInt(b, akOutTokens, t.CompletionTokens)
		b = kvStr(b, akCallID, t.CallID)
		b = kvStr(b, akModelGroup, t.ModelGroup)
		b = kvStr(b, akDeployment, t.DeploymentID)
		b = kvStr(b, akServer, t.APIBase)
		b = kvInt(b, akAttempt, t.Attempt)
		b = kvInt(b, akRetry, t.Retry)
		b = kvInt(b, akFallback, t.Fallback)
		b = kvStr(b, akAnswer, t.Answer.String())
		if t.Status > 0 {
			b = kvInt(b, akStatus, t.Status)
		}
		if t.CostKnown {
			b = kvDouble(b, akCost, t.Cost)
		}
		if failed {
			b = kvStr(b, akErrorType, cls)
		}
		b = spanStatus(b, failed, cls, t.Status)
		b = wire.Close(b, at, spanWidth)
	}
	if t.Answer != outcome.AnswerSent {
		return b
	}
	srvID := spanID(t.CallID, "server", -1)
	var p *trace.SpanID
	flags := uint32(0x101)
	if parent.IsValid() {
		p, flags = &parent, 0x301 // sampled, remote parent
	}
	b, at = wire.Open(b, fScopeSpansSpans, spanWidth)
	b = spanHead(b, &tid, &srvID, p, flags, ServerSpanName, "", tracepb.Span_SPAN_KIND_SERVER, unixNano(t.Start), unixNano(t.End))
	b = kvStr(b, akMethod, "POST")
	b = kvStr(b, akURLPath, t.Route)
	b = kvStr(b, akRoute, t.Route)
	b = kvStr(b, akCallID, t.CallID)
	if t.Status > 0 {
		b = kvInt(b, akStatus, t.Status)
	}
	if failed {
		b = kvStr(b, akErrorType, cls)
	}
	b = spanStatus(b, failed, cls, t.Status)
	b = wire.Close(b, at, spanWidth)

	b, at = wire.Open(b, fScopeSpansSpans, spanWidth)
	b = spanHead(b, &tid, &reqID, &srvID, 0x101, "litellm_request", "", tracepb.Span_SPAN_KIND_INTERNAL, unixNano(t.Start), unixNano(t.End))
	b = kvStr(b, akOperation, op)
	b = kvStr(b, akProvider, t.Provider)
	b = kvStr(b, akSystem, t.Provider)
	b = kvStr(b, akReqModel, t.RequestedModel)
	b = kvStr(b, akRespModel, t.Model)
	b = kvInt(b, akInTokens, t.PromptTokens)
	b = kvInt(b, akOutTokens, t.CompletionTokens)
	b = kvStr(b, akCallID, t.CallID)
	b = kvStr(b, akModelGroup, t.ModelGroup)
	b = kvStr(b, akRoute, t.Route)
	b = kvInt(b, akAttempts, t.Attempt+1)
	if t.Status > 0 {
		b = kvInt(b, akStatus, t.Status)
	}
	b = spanStatus(b, failed, cls, t.Status)
	return wire.Close(b, at, spanWidth)
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
// ResourceSpans (the service) with one ScopeSpans. Their lengths are
// reserved three bytes wide (16 KB to 2 MB: a batch of hundreds of
// tries), so the batch is not moved to make room for them.
func exportTraces(resource []byte, batch []outcome.Try) []byte {
	const w = 3
	b, rsAt := wire.Open(spanSize.buf(len(batch), 1536), 1, w)
	b = append(b, tag(1, protowire.BytesType))
	b = wire.AppendUvarint(b, uint64(len(resource)))
	b = append(b, resource...)
	b, ssAt := wire.Open(b, 2, w)
	b = append(b, tag(1, protowire.BytesType))
	b = wire.AppendUvarint(b, uint64(len(scopeBytes)))
	b = append(b, scopeBytes...)
	for i := range batch {
		b = appendSpans(b, &batch[i])
	}
	b = wire.Close(b, ssAt, w)
	b = wire.Close(b, rsAt, w)
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
