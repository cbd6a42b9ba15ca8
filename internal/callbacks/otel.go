package callbacks

import (
	"context"
	"crypto/sha256"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	"go.opentelemetry.io/otel/trace"
	commonv1 "go.opentelemetry.io/proto/otlp/common/v1"
	resourcev1 "go.opentelemetry.io/proto/otlp/resource/v1"
	"google.golang.org/protobuf/proto"

	"github.com/llmgate/llmgate/internal/outcome"
)

// OTel is the otel callback's name.
const OTel = "otel"

// OTelSettings configure the OTLP trace exporter.
type OTelSettings struct {
	Protocol string // "grpc" or "http/protobuf"
	Endpoint string // traces URL (http/protobuf) or target URL (grpc)
	// MetricsEndpoint is the metrics URL (http/protobuf) or target URL
	// (grpc) of the GenAI metrics; empty: no metrics.
	MetricsEndpoint string
	Headers         map[string]string
	ServiceName     string
	// Sampler and SamplerRatio are OTEL_TRACES_SAMPLER and its argument
	// (config.Sampler*; "" is the default, parentbased_always_on).
	Sampler      string
	SamplerRatio float64
	// LogsEndpoint, when set, receives an OTLP log record per client
	// request (the access log; LogsProtocol "grpc" or "http/protobuf").
	LogsEndpoint string
	LogsProtocol string
	LogsHeaders  map[string]string
	// TeamsOnly: no global callback list names otel, only teams' (their
	// default_team_settings lists, Settings.TeamOTel, or their keys' and
	// teams' metadata): only their requests are traced, logged and
	// measured (D64).
	TeamsOnly bool
}

// tracesExporter sends the spans as OTLP export requests written directly
// (D58, spanwire.go: no SDK span pipeline), over OTLP/HTTP protobuf or
// OTLP/gRPC.
type tracesExporter struct {
	c        *otlpClient
	resource []byte // the encoded Resource
}

func newTracesExporter(s *OTelSettings, client *http.Client) (*tracesExporter, error) {
	c, err := newOTLPClient(s.Protocol, s.Endpoint, s.Headers, client)
	if err != nil {
		return nil, err
	}
	res, err := proto.Marshal(serviceResource(s.ServiceName))
	if err != nil {
		return nil, err
	}
	return &tracesExporter{c: c, resource: res}, nil
}

func (x *tracesExporter) close() { x.c.close() }

// postOTel exports a batch of tries as spans.
func (m *Manager) postOTel(ctx context.Context, batch []outcome.Try) error {
	m.mu.Lock()
	x := m.otelTraces
	m.mu.Unlock()
	if x == nil {
		return nil
	}
	req := exportTraces(x.resource, batch)
	if x.c.conn != nil {
		// Answered: the collector read the whole request, gRPC holds none
		// of it any more.
		err := exportTracesGRPC(x.c.outgoing(ctx), x.c.conn, req)
		if err == nil {
			spanSize.release(req)
		}
		return err
	}
	released, err := postReleased(ctx, x.c.client, x.c.url, "application/x-protobuf", req, x.c.headers)
	if released {
		spanSize.release(req)
	}
	return err
}

// scope is the instrumentation scope of the spans and log records.
var scope = &commonv1.InstrumentationScope{Name: "github.com/llmgate/llmgate"}

// serviceResource is the OTLP resource of the spans and log records.
func serviceResource(service string) *resourcev1.Resource {
	return &resourcev1.Resource{Attributes: []*commonv1.KeyValue{strAttr("service.name", service)}}
}

// otelResource is the SDK resource of the GenAI metrics (the same service).
func otelResource(service string) *resource.Resource {
	return resource.NewSchemaless(attribute.String("service.name", service))
}

// operation is the GenAI semantic conventions' gen_ai.operation.name.
func operation(endpoint string) string {
	switch endpoint {
	case "completions":
		return "text_completion"
	case "embeddings":
		return "embeddings"
	}
	return "chat"
}

// traceIDs returns the request's trace id and the parent of its request
// span: the client's traceparent when it sent one, else a trace id derived
// from the call id (every try of a request lands in the same trace).
func traceIDs(t *outcome.Try) (trace.TraceID, trace.SpanID) {
	if tp := t.Traceparent; len(tp) == 55 {
		tid, err1 := trace.TraceIDFromHex(tp[3:35])
		sid, err2 := trace.SpanIDFromHex(tp[36:52])
		if err1 == nil && err2 == nil {
			return tid, sid
		}
	}
	var tid trace.TraceID
	if !uuidBytes(tid[:], t.CallID) {
		h := sha256.Sum256([]byte(t.CallID))
		copy(tid[:], h[:16])
	}
	return tid, trace.SpanID{}
}

// uuidBytes decodes a call id of 32 hex digits, dashes anywhere between
// them, into dst (16 bytes) — hex.DecodeString(strings.ReplaceAll(id, "-",
// "")) without allocating.
func uuidBytes(dst []byte, id string) bool {
	n := 0
	var hi byte
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c == '-' {
			continue
		}
		v, ok := hexVal(c)
		if !ok || n >= 32 {
			return false
		}
		if n%2 == 0 {
			hi = v
		} else {
			dst[n/2] = hi<<4 | v
		}
		n++
	}
	return n == 32
}

func hexVal(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// spanID is the first 8 bytes of the sha256 of the call id and the span's
// name parts, NUL-separated (and attempt, when ≥ 0, in decimal): the same
// id for the same span whichever try exports it.
func spanID(callID, name string, attempt int) trace.SpanID {
	var buf [256]byte
	b := append(buf[:0], callID...)
	b = append(append(b, 0), name...)
	if attempt >= 0 {
		b = strconv.AppendInt(append(b, 0), int64(attempt), 10)
	}
	h := sha256.Sum256(b)
	var id trace.SpanID
	copy(id[:], h[:8])
	if !id.IsValid() {
		id[7] = 1
	}
	return id
}

// ServerSpanName is LiteLLM's name of the proxy's server span.
const ServerSpanName = "Received Proxy Server Request"

func unixNano(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(t.UnixNano())
}
