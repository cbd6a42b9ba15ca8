package extproc

import (
	"context"
	"io"
	"log/slog"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/outcome"
	"github.com/llmgate/llmgate/internal/store"
)

// outcomeServer is the bench config's server with a bus whose one sink
// collects every event.
func outcomeServer(t testing.TB) (*Server, *outcome.Bus, *[]outcome.Try) {
	t.Helper()
	cfg, err := config.Parse([]byte(benchConfig), "bench.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := NewServer(NewState(cfg, store.NewMemory(nil), "test", log), log)
	s.Outcomes = outcome.NewBus()
	var got []outcome.Try
	s.Outcomes.Register("test", 100, func(t outcome.Try) { got = append(got, t) })
	return s, s.Outcomes, &got
}

// attemptStream plays one try of the request the request filter planned:
// the n-th attempt (x-envoy-attempt-count n), answered with status and body.
func attemptStream(t *testing.T, s *Server, n int, status, body string) *benchStream {
	t.Helper()
	rf := requestFilterStream()
	if err := s.Process(rf); err != nil {
		t.Fatal(err)
	}
	md := plannedMetadata(rf.sent)
	ctxStruct := md.GetFields()[contract.ContextMetadataNamespace].GetStructValue()
	groups := md.GetFields()[contract.PlanMetadataNamespace].GetStructValue().GetFields()["priority_groups"].GetListValue().GetValues()
	if ctxStruct == nil || len(groups) < n {
		t.Fatalf("no context or too short a plan in %v", md)
	}
	cluster := groups[n-1].GetStructValue().GetFields()["clusters"].GetListValue().GetValues()[0].GetStructValue().GetFields()["cluster_name"].GetStringValue()
	depID := cluster[len(contract.DeploymentClusterPrefix):]
	return &benchStream{
		ctx: metadata.NewIncomingContext(context.Background(), metadata.Pairs(contract.PhaseMetadataKey, contract.PhaseAttempt, contract.DeploymentMetadataKey, depID)),
		in: []*extprocv3.ProcessingRequest{
			{
				Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: &extprocv3.HttpHeaders{Headers: headers(
					":method", "POST", ":path", "/v1/chat/completions", ":authority", "127.0.0.1:4000", "content-type", "application/json",
					"x-envoy-attempt-count", string(rune('0'+n)),
				)}},
				MetadataContext: &corev3.Metadata{FilterMetadata: map[string]*structpb.Struct{contract.ContextMetadataNamespace: ctxStruct}},
			},
			{Request: &extprocv3.ProcessingRequest_ResponseHeaders{ResponseHeaders: &extprocv3.HttpHeaders{Headers: headers(
				":status", status, "content-type", "application/json",
			)}}},
			{Request: &extprocv3.ProcessingRequest_ResponseBody{ResponseBody: &extprocv3.HttpBody{Body: []byte(body), EndOfStream: true}}},
		},
	}
}

// Every try the attempt filter serves is published on the outcome bus, after
// its last reply, with what the try learned; with a sink listening, the
// usage of a pass-through success is read (the body is buffered).
func TestAttemptPublishesOutcome(t *testing.T) {
	s, bus, got := outcomeServer(t)
	ok := attemptStream(t, s, 1, "200", `{"id":"x","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":11,"completion_tokens":7,"total_tokens":18}}`)
	if err := s.Process(ok); err != nil {
		t.Fatal(err)
	}
	if len(ok.sent) != 3 {
		t.Fatalf("attempt filter answered %d messages, want 3 (the body read for usage)", len(ok.sent))
	}
	fail := attemptStream(t, s, 1, "429", `{"error":{"message":"slow down","type":"rate_limit_error"}}`)
	if err := s.Process(fail); err != nil {
		t.Fatal(err)
	}
	bus.Close()
	if len(*got) != 2 {
		t.Fatalf("bus got %d events, want 2", len(*got))
	}
	e := (*got)[0]
	if e.ModelGroup != "bench-gpt" || e.RequestedModel != "bench-gpt" || e.DeploymentID == "" || e.Provider != "openai" ||
		e.Model != "gpt-4o" || e.APIBase != "127.0.0.1:9" || e.Endpoint != "chat" || e.CallID == "" {
		t.Errorf("identity fields: %+v", e)
	}
	if e.Status != 200 || e.ErrorClass != "" || e.Failed() || e.Answer != outcome.AnswerSent {
		t.Errorf("success: status %d class %q answer %v", e.Status, e.ErrorClass, e.Answer)
	}
	if e.PromptTokens != 11 || e.CompletionTokens != 7 || e.TotalTokens != 18 {
		t.Errorf("tokens %d/%d/%d, want 11/7/18", e.PromptTokens, e.CompletionTokens, e.TotalTokens)
	}
	if !e.CostKnown || e.Cost <= 0 {
		t.Errorf("cost %v known %v: gpt-4o has a price", e.Cost, e.CostKnown)
	}
	if e.Start.IsZero() || e.Latency <= 0 || e.Attempt != 0 {
		t.Errorf("start %v latency %v attempt %d", e.Start, e.Latency, e.Attempt)
	}
	f := (*got)[1]
	if f.Status != 429 || f.ErrorClass != "RateLimitError" || !f.Failed() {
		t.Errorf("429: status %d class %q", f.Status, f.ErrorClass)
	}
	// The plan has other deployments: Envoy retries, this answer is not the client's.
	if f.Answer != outcome.AnswerRetried {
		t.Errorf("429 with attempts left: answer %v, want retried", f.Answer)
	}
}

// Without a sink, nothing is built and a pass-through success is not read.
func TestAttemptWithoutSinkSkipsUsage(t *testing.T) {
	s, _, _ := outcomeServer(t)
	s.Outcomes = nil
	st := attemptStream(t, s, 1, "200", `{}`)
	st.in = st.in[:2]
	if err := s.Process(st); err != nil {
		t.Fatal(err)
	}
	if len(st.sent) != 2 {
		t.Fatalf("attempt filter answered %d messages, want 2 (no body phase)", len(st.sent))
	}
}
