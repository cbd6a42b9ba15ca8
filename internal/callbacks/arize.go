package callbacks

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"go.opentelemetry.io/otel/trace"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonv1 "go.opentelemetry.io/proto/otlp/common/v1"
	resourcev1 "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/llmgate/llmgate/internal/outcome"
)

// Arize and ArizePhoenix are LiteLLM's "arize" and "arize_phoenix"
// callbacks: each request an OTLP trace whose spans carry the OpenInference
// attributes LiteLLM's arize integration sets, to Arize AX or to Phoenix.
const (
	Arize        = "arize"
	ArizePhoenix = "arize_phoenix"
)

// ArizeSettings are an arize or arize_phoenix callback's exporter: its
// protocol ("grpc" or "http/protobuf"), endpoint (the traces URL over HTTP,
// the target over gRPC), headers (secret values: Arize's space_id and
// api_key, Phoenix's Authorization) and project (the resource's
// service.name and model_id; Phoenix's openinference.project.name);
// Environment is the resource's deployment.environment.
type ArizeSettings struct {
	Events
	Protocol, Endpoint   string
	Headers              map[string]string
	Project, Environment string
	// Phoenix: the arize_phoenix callback's trace (a litellm_proxy_request
	// server span over the litellm_request span, both with the attributes).
	Phoenix bool
}

// LiteLLM's span names.
const (
	arizeRequestSpan = "litellm_request"
	phoenixProxySpan = "litellm_proxy_request"
)

// arizeClients are the callbacks' OTLP clients, by callback name, rebuilt
// when a reload changes the endpoint or headers.
type arizeClients struct {
	mu sync.Mutex
	by map[string]*arizeClient
}

type arizeClient struct {
	key string
	c   *otlpClient
}

func (a *arizeClients) get(name string, st *ArizeSettings, hc *http.Client) (*otlpClient, error) {
	key := st.Protocol + "\x00" + st.Endpoint + "\x00" + fmt.Sprint(st.Headers)
	a.mu.Lock()
	defer a.mu.Unlock()
	if c := a.by[name]; c != nil && c.key == key {
		return c.c, nil
	}
	c, err := newOTLPClient(st.Protocol, st.Endpoint, st.Headers, hc)
	if err != nil {
		return nil, err
	}
	if old := a.by[name]; old != nil {
		old.c.close()
	}
	if a.by == nil {
		a.by = map[string]*arizeClient{}
	}
	a.by[name] = &arizeClient{key: key, c: c}
	return c, nil
}

func (a *arizeClients) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.by {
		c.c.close()
	}
	a.by = nil
}

// postArize exports a batch of requests to the named callback's collector.
func (m *Manager) postArize(name string) func(context.Context, []outcome.Try) error {
	return func(ctx context.Context, batch []outcome.Try) error {
		s := m.settings.Load()
		st := s.Arize
		if name == ArizePhoenix {
			st = s.Phoenix
		}
		if st == nil {
			return nil
		}
		c, err := m.arize.get(name, st, m.client)
		if err != nil {
			return err
		}
		req := ArizeExport(batch, s, st)
		if c.conn != nil {
			b, err := proto.Marshal(req)
			if err != nil {
				return err
			}
			return exportTracesGRPC(c.outgoing(ctx), c.conn, b)
		}
		return c.post(ctx, req)
	}
}

// ArizeExport is the OTLP export request of a batch: the project's
// resource, the scope "litellm", and each request's spans.
func ArizeExport(batch []outcome.Try, s *Settings, st *ArizeSettings) *collectortrace.ExportTraceServiceRequest {
	res := []*commonv1.KeyValue{strAttr("service.name", st.Project), strAttr("deployment.environment", st.Environment), strAttr("model_id", st.Project)}
	if st.Phoenix {
		res = append([]*commonv1.KeyValue{strAttr("openinference.project.name", st.Project)}, res...)
	}
	ss := &tracepb.ScopeSpans{Scope: &commonv1.InstrumentationScope{Name: "litellm"}}
	for i := range batch {
		ss.Spans = append(ss.Spans, arizeSpans(&batch[i], s, st)...)
	}
	return &collectortrace.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource: &resourcev1.Resource{Attributes: res}, ScopeSpans: []*tracepb.ScopeSpans{ss}}}}
}

// arizeSpans are a request's spans as LiteLLM's ArizeLogger (one
// litellm_request span, under the client's traceparent when it sent one)
// or ArizePhoenixLogger (a litellm_proxy_request server span over it)
// export them, with the OpenInference attributes of its
// StandardLoggingPayload, status OK or ERROR with the error's message.
func arizeSpans(t *outcome.Try, s *Settings, st *ArizeSettings) []*tracepb.Span {
	p := Standard(t, s)
	attrs := arizeAttributes(t, s, &p)
	tid, parent := traceIDs(t)
	status := &tracepb.Status{Code: tracepb.Status_STATUS_CODE_OK}
	if t.Failed() {
		status = &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR}
		if p.ErrorInformation != nil {
			status.Message = p.ErrorInformation.ErrorMessage
		} else if p.ErrorStr != nil {
			status.Message = *p.ErrorStr
		}
	}
	start, end := unixNano(t.Start), unixNano(t.End)
	if start == 0 {
		start = end
	}
	span := func(name string, id, parent trace.SpanID, kind tracepb.Span_SpanKind) *tracepb.Span {
		sp := &tracepb.Span{TraceId: tid[:], SpanId: id[:], Name: name, Kind: kind, StartTimeUnixNano: start, EndTimeUnixNano: end,
			Attributes: attrs, Status: status}
		if parent.IsValid() {
			sp.ParentSpanId = parent[:]
		}
		return sp
	}
	kindName := ArizePhoenix
	if !st.Phoenix {
		kindName = Arize
	}
	req := spanID(t.CallID, kindName+"\x00"+arizeRequestSpan, -1)
	if !st.Phoenix {
		return []*tracepb.Span{span(arizeRequestSpan, req, parent, tracepb.Span_SPAN_KIND_INTERNAL)}
	}
	proxy := spanID(t.CallID, kindName+"\x00"+phoenixProxySpan, -1)
	return []*tracepb.Span{
		span(phoenixProxySpan, proxy, parent, tracepb.Span_SPAN_KIND_SERVER),
		span(arizeRequestSpan, req, proxy, tracepb.Span_SPAN_KIND_INTERNAL),
	}
}

// arizeAttributes are the attributes LiteLLM's arize _utils.set_attributes
// and _record_exception_on_span set from what the payload holds (the
// outcome carries no messages or response: no input/output values).
func arizeAttributes(t *outcome.Try, s *Settings, p *StandardPayload) []*commonv1.KeyValue {
	md, _ := json.Marshal(p.Metadata)
	var meta map[string]any
	_ = json.Unmarshal(md, &meta)
	str := func(k string) string { v, _ := meta[k].(string); return v }
	a := []*commonv1.KeyValue{
		strAttr("openinference.span.kind", OpenInferenceSpanKind(p.CallType)),
		strAttr("metadata", string(md)),
		strAttr("llm.model_name", p.Model),
		strAttr("llm.request.type", p.CallType),
		strAttr("llm.provider", p.CustomLLMProvider),
		strAttr("llm.is_streaming", map[bool]string{true: "True", false: "False"}[p.Stream]),
	}
	if !t.Failed() {
		a = append(a, intAttr("llm.token_count.total", p.TotalTokens))
		if p.CompletionTokens > 0 {
			a = append(a, intAttr("llm.token_count.completion", p.CompletionTokens))
		}
		if p.PromptTokens > 0 {
			a = append(a, intAttr("llm.token_count.prompt", p.PromptTokens))
		}
	}
	if v := str("user_api_key_end_user_id"); v != "" {
		a = append(a, strAttr("session.id", v))
	}
	a = append(a, strAttr("litellm.trace_id", p.TraceID))
	if v := str("user_api_key_user_id"); v != "" {
		a = append(a, strAttr("user.id", v))
	}
	if v := str("user_api_key_team_id"); v != "" {
		a = append(a, strAttr("litellm.team_id", v))
		if s.TeamAlias != nil {
			if alias := s.TeamAlias(v); alias != "" {
				a = append(a, strAttr("litellm.team_alias", alias))
			}
		}
	}
	if v := str("user_api_key_alias"); v != "" {
		a = append(a, strAttr("litellm.key_alias", v))
	}
	if t.CostKnown || t.CacheHit || t.Failed() {
		a = append(a, doubleAttr("llm.cost.total", p.ResponseCost), doubleAttr("llm.response.cost", p.ResponseCost))
	}
	if ei := p.ErrorInformation; t.Failed() && ei != nil {
		if ei.ErrorCode != "" {
			a = append(a, strAttr("error.code", ei.ErrorCode))
			if n, err := strconv.Atoi(ei.ErrorCode); err == nil {
				a = append(a, intAttr("http.response.status_code", n))
			}
		}
		if ei.ErrorClass != "" {
			a = append(a, strAttr("error.type", ei.ErrorClass))
		}
		if ei.ErrorMessage != "" {
			a = append(a, strAttr("error.message", ei.ErrorMessage))
		}
		if ei.LLMProvider != "" {
			a = append(a, strAttr("error.llm_provider", ei.LLMProvider))
		}
	}
	return a
}

// OpenInferenceSpanKind is LiteLLM's _infer_open_inference_span_kind: the
// OpenInference span kind of a call type.
func OpenInferenceSpanKind(callType string) string {
	c := strings.ToLower(callType)
	has := func(words ...string) bool {
		for _, w := range words {
			if strings.Contains(c, w) {
				return true
			}
		}
		return false
	}
	switch {
	case c == "":
		return "UNKNOWN"
	case has("embed"):
		return "EMBEDDING"
	case has("rerank"):
		return "RERANKER"
	case has("search"):
		return "RETRIEVER"
	case has("moderation", "guardrail"):
		return "GUARDRAIL"
	case c == "call_mcp_tool" || c == "mcp" || strings.HasSuffix(c, "tool"):
		return "TOOL"
	case has("asend_message", "a2a", "assistant"):
		return "AGENT"
	case has("completion", "chat", "image", "audio", "speech", "transcription", "generate_content", "response", "videos",
		"realtime", "pass_through", "passthrough", "anthropic_messages", "ocr"):
		return "LLM"
	case has("file", "batch", "container", "fine_tuning_job"):
		return "CHAIN"
	}
	return "UNKNOWN"
}

func intAttr(k string, v int) *commonv1.KeyValue {
	return &commonv1.KeyValue{Key: k, Value: &commonv1.AnyValue{Value: &commonv1.AnyValue_IntValue{IntValue: int64(v)}}}
}

func doubleAttr(k string, v float64) *commonv1.KeyValue {
	return &commonv1.KeyValue{Key: k, Value: &commonv1.AnyValue{Value: &commonv1.AnyValue_DoubleValue{DoubleValue: v}}}
}
