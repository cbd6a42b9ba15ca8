package callbacks

import (
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	collectorlogs "go.opentelemetry.io/proto/otlp/collector/logs/v1"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonv1 "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/outcome"
)

// OTEL_TRACES_SAMPLER as the OTel SDKs read it (D58): the parent-based
// samplers follow the client's sampled flag, the ratio samplers keep the
// same fraction of trace ids as the SDKs' TraceIDRatioBased.
func TestSampler(t *testing.T) {
	const sampledParent, droppedParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"
	tid, _ := traceIDs(&outcome.Try{CallID: "0b1c4e9a-5d6f-4a8b-9c0d-1e2f3a4b5c6d"})
	for _, tc := range []struct {
		name  string
		ratio float64
		tp    string
		want  bool
	}{
		{"", 1, "", true}, {"", 1, droppedParent, false}, {"", 1, sampledParent, true},
		{config.SamplerParentAlwaysOn, 1, droppedParent, false},
		{config.SamplerParentAlwaysOff, 1, "", false}, {config.SamplerParentAlwaysOff, 1, sampledParent, true},
		{config.SamplerAlwaysOn, 1, droppedParent, true}, {config.SamplerAlwaysOff, 1, sampledParent, false},
		{config.SamplerTraceIDRatio, 0, sampledParent, false}, {config.SamplerTraceIDRatio, 1, droppedParent, true},
		{config.SamplerParentTraceIDRatio, 0, sampledParent, true}, {config.SamplerParentTraceIDRatio, 0, "", false},
		{"", 1, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0b", true}, // flags 0x0b: sampled
		{"", 1, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0a", false},
	} {
		if got := newSampler(tc.name, tc.ratio).sampled(tid, tc.tp); got != tc.want {
			t.Errorf("%q ratio %v parent %q: sampled %v, want %v", tc.name, tc.ratio, tc.tp, got, tc.want)
		}
	}
	s := newSampler(config.SamplerTraceIDRatio, 0.25)
	n := 0
	for i := 0; i < 20000; i++ {
		tid, _ := traceIDs(&outcome.Try{CallID: fmt.Sprintf("call-%d", i)})
		if s.sampled(tid, "") {
			n++
		}
	}
	if n < 4500 || n > 5500 {
		t.Errorf("traceidratio 0.25 kept %d of 20000", n)
	}
}

// The sink honours the sampler: every try of a sampled request is
// exported, none of an unsampled one; the GenAI metrics and the other
// callbacks do not depend on it.
func TestSinkSamplesTraces(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.Copy(io.Discard, r.Body) }))
	defer srv.Close()
	for _, tc := range []struct {
		sampler string
		ratio   float64
		want    func(n uint64) bool
	}{
		{"", 1, func(n uint64) bool { return n == 400 }},
		{config.SamplerAlwaysOff, 1, func(n uint64) bool { return n == 0 }},
		{config.SamplerTraceIDRatio, 0.5, func(n uint64) bool { return n > 100 && n < 300 && n%2 == 0 }},
	} {
		m := New(nil)
		m.Configure(Settings{FlushInterval: time.Hour, BatchSize: 1000,
			OTel: &OTelSettings{Protocol: "http/protobuf", Endpoint: srv.URL + "/v1/traces", Sampler: tc.sampler, SamplerRatio: tc.ratio}})
		sink := m.Sink()
		for i := 0; i < 200; i++ {
			first := sampleTry(fmt.Sprintf("call-%d", i), 500)
			first.Answer = outcome.AnswerRetried
			sink(first)
			sink(sampleTry(first.CallID, 200))
		}
		m.Close()
		var sent uint64
		for _, st := range m.Stats() {
			if st.Name == OTel {
				sent = st.Sent
			}
		}
		if !tc.want(sent) {
			t.Errorf("sampler %q %v: %d tries exported of 400", tc.sampler, tc.ratio, sent)
		}
	}
}

// With a logs endpoint the otel callback sends one OTLP log record per
// client request (not per retried try), in the request's trace (the
// server span's ids), with the access log's facts; without one, nothing.
func TestOTLPAccessLogRecords(t *testing.T) {
	var mu sync.Mutex
	var reqs []*collectorlogs.ExportLogsServiceRequest
	var ctype string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		req := &collectorlogs.ExportLogsServiceRequest{}
		if r.URL.Path != "/v1/logs" || proto.Unmarshal(b, req) != nil {
			w.WriteHeader(400)
			return
		}
		mu.Lock()
		reqs, ctype = append(reqs, req), r.Header.Get("Content-Type")+"|"+r.Header.Get("X-Api")
		mu.Unlock()
	}))
	defer srv.Close()
	m := New(nil)
	m.Configure(Settings{FlushInterval: time.Hour, OTel: &OTelSettings{Protocol: "http/protobuf", Endpoint: "http://127.0.0.1:1/v1/traces",
		ServiceName: "svc", Sampler: config.SamplerAlwaysOff, LogsEndpoint: srv.URL + "/v1/logs", LogsProtocol: "http/protobuf", LogsHeaders: map[string]string{"X-Api": "k"}}})
	sink := m.Sink()
	retried := sampleTry("0b1c4e9a-5d6f-4a8b-9c0d-1e2f3a4b5c6d", 500)
	retried.Answer, retried.Route = outcome.AnswerRetried, "/v1/chat/completions"
	sink(retried)
	sent := sampleTry(retried.CallID, 200)
	sent.Attempt, sent.Route = 1, "/v1/chat/completions"
	sink(sent)
	failed := sampleTry("call-2", 429)
	failed.Route = "/chat/completions"
	failed.Traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	sink(failed)
	m.Close()
	mu.Lock()
	defer mu.Unlock()
	if len(reqs) != 1 || ctype != "application/x-protobuf|k" {
		t.Fatalf("%d posts (%s), want 1 with the protobuf content type and the header", len(reqs), ctype)
	}
	rl := reqs[0].ResourceLogs[0]
	if rl.Resource.Attributes[0].Value.GetStringValue() != "svc" {
		t.Errorf("resource %v", rl.Resource)
	}
	recs := rl.ScopeLogs[0].LogRecords
	if len(recs) != 2 {
		t.Fatalf("%d records, want one per client request (2)", len(recs))
	}
	attr := func(i int, k string) string {
		for _, a := range recs[i].Attributes {
			if a.Key == k {
				return a.Value.GetStringValue()
			}
		}
		return ""
	}
	srvID := spanID(sent.CallID, "server", -1)
	if hex.EncodeToString(recs[0].TraceId) != "0b1c4e9a5d6f4a8b9c0d1e2f3a4b5c6d" || string(recs[0].SpanId) != string(srvID[:]) ||
		attr(0, "url.path") != "/v1/chat/completions" || attr(0, "http.response.status_code") != "200" || attr(0, "attempts") != "2" ||
		attr(0, "llm.model_group") != "gpt" || attr(0, "litellm.call_id") != sent.CallID || recs[0].SeverityText != "INFO" ||
		recs[0].Body.GetStringValue() != `"POST /v1/chat/completions" 200 model=gpt group=gpt deployment=dep-1 attempts=2 2000ms id=`+sent.CallID {
		t.Errorf("record 0: %v", recs[0])
	}
	if hex.EncodeToString(recs[1].TraceId) != "4bf92f3577b34da6a3ce929d0e0e4736" || recs[1].SeverityText != "ERROR" || attr(1, "error.type") != "RateLimitError" {
		t.Errorf("record 1: %v", recs[1])
	}
}

// The spans' wire encoding (spanwire.go) is a valid OTLP export request:
// the service's resource, the scope, every span of the batch with its
// typed attributes and status, also with values longer than a one-byte
// length.
func TestExportTracesWire(t *testing.T) {
	long := strings.Repeat("m", 300)
	a := sampleTry("0b1c4e9a-5d6f-4a8b-9c0d-1e2f3a4b5c6d", 500)
	a.Answer, a.ErrorClass = outcome.AnswerRetried, "InternalServerError"
	b := sampleTry(a.CallID, 200)
	b.Attempt, b.Model, b.Route = 1, long, "/v1/chat/completions"
	res, err := proto.Marshal(serviceResource("svc"))
	if err != nil {
		t.Fatal(err)
	}
	var req collectortrace.ExportTraceServiceRequest
	if err := proto.Unmarshal(exportTraces(res, []outcome.Try{a, b}), &req); err != nil {
		t.Fatal(err)
	}
	rs := req.ResourceSpans
	if len(rs) != 1 || rs[0].Resource.Attributes[0].Value.GetStringValue() != "svc" || len(rs[0].ScopeSpans) != 1 ||
		rs[0].ScopeSpans[0].Scope.Name != "github.com/llmgate/llmgate" {
		t.Fatalf("request %v", &req)
	}
	spans := rs[0].ScopeSpans[0].Spans
	if len(spans) != 4 {
		t.Fatalf("%d spans, want 4", len(spans))
	}
	attr := func(s *tracepb.Span, k string) *commonv1.AnyValue {
		for _, kv := range s.Attributes {
			if kv.Key == k {
				return kv.Value
			}
		}
		return nil
	}
	failed, ok := spans[0], spans[1]
	if attr(failed, "error.type").GetStringValue() != "InternalServerError" || failed.Status.Message != "litellm.InternalServerError 500" ||
		attr(failed, "http.response.status_code").GetIntValue() != 500 || attr(failed, "gen_ai.usage.cost").GetDoubleValue() != 0.25 {
		t.Errorf("failed attempt %v", failed)
	}
	if ok.Name != "chat "+long || attr(ok, "gen_ai.request.model").GetStringValue() != long || attr(ok, "llmgate.attempt").GetIntValue() != 1 ||
		attr(ok, "error.type") != nil || ok.Status.Code != tracepb.Status_STATUS_CODE_OK || len(ok.Attributes) != 17 {
		t.Errorf("answered attempt %v", ok)
	}
	if spans[2].Name != ServerSpanName || attr(spans[2], "url.path").GetStringValue() != "/v1/chat/completions" || spans[3].Name != "litellm_request" ||
		attr(spans[3], "llmgate.attempts").GetIntValue() != 2 {
		t.Errorf("server and request spans %v %v", spans[2], spans[3])
	}
}

// A team whose default_team_settings lists name generic_api gets its
// requests posted to the generic logger with the team's events, whether or
// not the global lists name it; each request once.
func TestTeamGenericAPI(t *testing.T) {
	for _, global := range []bool{false, true} {
		rcv := &receiver{}
		srv := httptest.NewServer(rcv)
		s := Settings{BatchSize: 100, FlushInterval: time.Hour}
		if global {
			s.Generic = &GenericSettings{Events: Events{Success: true}, Endpoint: srv.URL}
		}
		s.AddTeamGeneric("team-1", Events{Success: true, Failure: true}, srv.URL, nil)
		m := New(nil)
		m.Configure(s)
		sink := m.Sink()
		for i, tc := range []struct {
			team   string
			status int
		}{{"team-1", 200}, {"team-1", 500}, {"team-2", 200}, {"", 500}} {
			tr := sampleTry(fmt.Sprintf("c%d", i), tc.status)
			tr.TeamID = tc.team
			sink(tr)
		}
		m.Close()
		srv.Close()
		bodies, _ := rcv.posts()
		all := ""
		for _, b := range bodies {
			all += string(b)
		}
		want := map[string]bool{"c0": true, "c1": true, "c2": global, "c3": false}
		for id, w := range want {
			if n := strings.Count(all, `"id":"`+id+`"`); n != map[bool]int{true: 1, false: 0}[w] {
				t.Errorf("global %v: %s posted %d times, want %v", global, id, n, w)
			}
		}
	}
}
