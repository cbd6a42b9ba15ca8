package callbacks

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	collectorlogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	commonv1 "go.opentelemetry.io/proto/otlp/common/v1"
	logsv1 "go.opentelemetry.io/proto/otlp/logs/v1"
	resourcev1 "go.opentelemetry.io/proto/otlp/resource/v1"

	"github.com/llmgate/llmgate/internal/outcome"
)

// OTelLogs names the OTLP access log's sender (its llmgate_callback_*
// counters).
const OTelLogs = "otel_logs"

// logsExporter sends OTLP log records (D58): one per client request, built
// from the outcome of the try whose answer reached the client, in the
// request's trace (the server span's ids), over OTLP/gRPC or OTLP/HTTP
// protobuf. The sender batches and retries.
type logsExporter struct {
	c        *otlpClient
	grpcLogs collectorlogs.LogsServiceClient
	resource *resourcev1.Resource
}

func newLogsExporter(s *OTelSettings, client *http.Client) (*logsExporter, error) {
	c, err := newOTLPClient(s.LogsProtocol, s.LogsEndpoint, s.LogsHeaders, client)
	if err != nil {
		return nil, err
	}
	x := &logsExporter{c: c, resource: serviceResource(s.ServiceName)}
	if c.conn != nil {
		x.grpcLogs = collectorlogs.NewLogsServiceClient(c.conn)
	}
	return x, nil
}

func (x *logsExporter) close() { x.c.close() }

// postOTelLogs exports a batch of requests as log records.
func (m *Manager) postOTelLogs(ctx context.Context, batch []outcome.Try) error {
	m.mu.Lock()
	x := m.otelLogs
	m.mu.Unlock()
	if x == nil {
		return nil
	}
	recs := make([]*logsv1.LogRecord, 0, len(batch))
	now := uint64(time.Now().UnixNano())
	for i := range batch {
		recs = append(recs, logRecord(&batch[i], now))
	}
	req := &collectorlogs.ExportLogsServiceRequest{ResourceLogs: []*logsv1.ResourceLogs{{Resource: x.resource,
		ScopeLogs: []*logsv1.ScopeLogs{{Scope: scope, LogRecords: recs}}}}}
	if x.grpcLogs != nil {
		_, err := x.grpcLogs.Export(x.c.outgoing(ctx), req)
		return err
	}
	return x.c.post(ctx, req)
}

// logRecord is a request's access-log record: its body the line the stdout
// access log prints for it (D47: client's path, status, model, group,
// deployment, attempts, duration, call id), its attributes the same facts,
// its trace and span ids those of the request's server span.
func logRecord(t *outcome.Try, observed uint64) *logsv1.LogRecord {
	tid, _ := traceIDs(t)
	sid := spanID(t.CallID, "server", -1)
	dur := t.End.Sub(t.Start)
	sev, sevText := logsv1.SeverityNumber_SEVERITY_NUMBER_INFO, "INFO"
	if t.Failed() {
		sev, sevText = logsv1.SeverityNumber_SEVERITY_NUMBER_ERROR, "ERROR"
	}
	body := fmt.Sprintf("\"POST %s\" %d model=%s group=%s deployment=%s attempts=%d %dms id=%s",
		t.Route, t.Status, t.RequestedModel, t.ModelGroup, t.DeploymentID, t.Attempt+1, dur.Milliseconds(), t.CallID)
	attrs := []*commonv1.KeyValue{
		strAttr("http.request.method", "POST"), strAttr("url.path", t.Route),
		strAttr("http.response.status_code", strconv.Itoa(t.Status)),
		strAttr("gen_ai.request.model", t.RequestedModel), strAttr("llm.model_group", t.ModelGroup),
		strAttr("llmgate.deployment_id", t.DeploymentID), strAttr("server.address", t.APIBase),
		strAttr("attempts", strconv.Itoa(t.Attempt+1)), strAttr("duration_ms", strconv.FormatInt(dur.Milliseconds(), 10)),
		strAttr("litellm.call_id", t.CallID),
		strAttr("gen_ai.usage.input_tokens", strconv.Itoa(t.PromptTokens)), strAttr("gen_ai.usage.output_tokens", strconv.Itoa(t.CompletionTokens)),
	}
	if t.Failed() {
		attrs = append(attrs, strAttr("error.type", errorClass(t)))
	}
	return &logsv1.LogRecord{
		TimeUnixNano: uint64(t.End.UnixNano()), ObservedTimeUnixNano: observed,
		SeverityNumber: sev, SeverityText: sevText,
		Body:       &commonv1.AnyValue{Value: &commonv1.AnyValue_StringValue{StringValue: body}},
		Attributes: attrs, TraceId: tid[:], SpanId: sid[:],
	}
}

func strAttr(k, v string) *commonv1.KeyValue {
	return &commonv1.KeyValue{Key: k, Value: &commonv1.AnyValue{Value: &commonv1.AnyValue_StringValue{StringValue: v}}}
}
