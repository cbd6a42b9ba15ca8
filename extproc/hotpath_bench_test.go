package extproc

import (
	"context"
	"io"
	"log/slog"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3filter "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/store"
)

// Micro-benchmarks of the two filters' hot paths, driven through Process with
// an in-memory stream (no gRPC transport): what one request costs the
// ext_proc server. `go test -run '^$' -bench . ./extproc/`; figures and
// profiles are in docs/benchmarks.md.

const benchConfig = `
model_list:
  - model_name: bench-gpt
    litellm_params: {model: openai/gpt-4o, api_base: "http://127.0.0.1:9/dep-1/v1", api_key: sk-1}
  - model_name: bench-gpt
    litellm_params: {model: openai/gpt-4o, api_base: "http://127.0.0.1:9/dep-2/v1", api_key: sk-2}
  - model_name: bench-gpt
    litellm_params: {model: openai/gpt-4o, api_base: "http://127.0.0.1:9/dep-3/v1", api_key: sk-3}
router_settings:
  routing_strategy: simple-shuffle
general_settings:
  master_key: sk-bench-master
`

var benchBody = []byte(`{"model":"bench-gpt","messages":[{"role":"system","content":"You are a helpful assistant. Answer briefly."},{"role":"user","content":"Summarise the benefits of running an LLM gateway on Envoy in one paragraph."}],"temperature":0.2,"max_tokens":256}`)

// benchStream replays requests to Process and keeps the last response.
type benchStream struct {
	grpc.ServerStream // unused methods panic: Process must not need them
	ctx               context.Context
	in                []*extprocv3.ProcessingRequest
	next              int
	sent              []*extprocv3.ProcessingResponse
}

func (s *benchStream) Context() context.Context { return s.ctx }
func (s *benchStream) Recv() (*extprocv3.ProcessingRequest, error) {
	if s.next >= len(s.in) {
		return nil, io.EOF
	}
	s.next++
	return s.in[s.next-1], nil
}
func (s *benchStream) Send(r *extprocv3.ProcessingResponse) error {
	s.sent = append(s.sent, r)
	return nil
}

func (s *benchStream) reset() { s.next, s.sent = 0, s.sent[:0] }

func benchServer(b *testing.B) *Server {
	b.Helper()
	cfg, err := config.Parse([]byte(benchConfig), "bench.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return NewServer(NewState(cfg, store.NewMemory(nil), "bench", log), log)
}

func headers(kv ...string) *corev3.HeaderMap {
	h := &corev3.HeaderMap{}
	for i := 0; i < len(kv); i += 2 {
		h.Headers = append(h.Headers, &corev3.HeaderValue{Key: kv[i], RawValue: []byte(kv[i+1])})
	}
	return h
}

func requestFilterStream() *benchStream {
	return &benchStream{
		ctx: metadata.NewIncomingContext(context.Background(), metadata.Pairs(contract.PhaseMetadataKey, contract.PhaseRequest)),
		in: []*extprocv3.ProcessingRequest{
			{ProtocolConfig: &extprocv3.ProtocolConfiguration{RequestBodyMode: extprocv3filter.ProcessingMode_FULL_DUPLEX_STREAMED},
				Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: &extprocv3.HttpHeaders{Headers: headers(
					":method", "POST", ":path", "/v1/chat/completions", ":authority", "127.0.0.1:4000", ":scheme", "http",
					"content-type", "application/json", "authorization", "Bearer sk-bench-master",
					"user-agent", "OpenAI/Go 3.0", "x-request-id", "6f1c9f0e-3c1a-4a53-9c7e-0b9f3f0a1d2e", "content-length", "225",
				)}}},
			// Pipelined (D46), as Envoy streams an HTTP/1.1 body with a
			// content-length: the body, then an empty end-of-stream chunk.
			{Request: &extprocv3.ProcessingRequest_RequestBody{RequestBody: &extprocv3.HttpBody{Body: benchBody}}},
			{Request: &extprocv3.ProcessingRequest_RequestBody{RequestBody: &extprocv3.HttpBody{EndOfStream: true}}},
		},
	}
}

// BenchmarkRequestFilter is one request through the request filter: headers
// (route, auth), then the body (parse, resolve, plan, metadata), answered
// once the body has ended: the headers answer carries the plan, then the
// prepared body in one answer (FULL_DUPLEX_STREAMED; D12, D46).
func BenchmarkRequestFilter(b *testing.B) {
	s := benchServer(b)
	st := requestFilterStream()
	b.ReportAllocs()
	for b.Loop() {
		st.reset()
		if err := s.Process(st); err != nil {
			b.Fatal(err)
		}
		if len(st.sent) != 2 || st.sent[0].GetRequestHeaders() == nil || st.sent[0].GetDynamicMetadata() == nil ||
			!st.sent[1].GetRequestBody().GetResponse().GetBodyMutation().GetStreamedResponse().GetEndOfStream() {
			b.Fatalf("request filter answered %v", st.sent)
		}
	}
}

// BenchmarkAttemptFilter is one upstream try of an OpenAI deployment whose
// body the request filter prepared: request headers (path, host,
// credentials), then the response headers of a 200 (the body is not sent to
// ext_proc for an OpenAI-compatible success).
func BenchmarkAttemptFilter(b *testing.B) {
	s := benchServer(b)
	rf := requestFilterStream()
	if err := s.Process(rf); err != nil {
		b.Fatal(err)
	}
	md := plannedMetadata(rf.sent)
	ctxStruct := md.GetFields()[contract.ContextMetadataNamespace].GetStructValue()
	plan := md.GetFields()[contract.PlanMetadataNamespace].GetStructValue().GetFields()["priority_groups"].GetListValue().GetValues()
	if ctxStruct == nil || len(plan) == 0 {
		b.Fatalf("no context or plan in %v", md)
	}
	cluster := plan[0].GetStructValue().GetFields()["clusters"].GetListValue().GetValues()[0].GetStructValue().GetFields()["cluster_name"].GetStringValue()
	depID := cluster[len(contract.DeploymentClusterPrefix):]
	st := &benchStream{
		ctx: metadata.NewIncomingContext(context.Background(), metadata.Pairs(contract.PhaseMetadataKey, contract.PhaseAttempt, contract.DeploymentMetadataKey, depID)),
		in: []*extprocv3.ProcessingRequest{
			{
				Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: &extprocv3.HttpHeaders{Headers: headers(
					":method", "POST", ":path", "/v1/chat/completions", ":authority", "127.0.0.1:4000", "content-type", "application/json",
					"authorization", "Bearer sk-bench-master", "x-envoy-attempt-count", "1", "x-request-id", "6f1c9f0e-3c1a-4a53-9c7e-0b9f3f0a1d2e",
				)}},
				MetadataContext: &corev3.Metadata{FilterMetadata: map[string]*structpb.Struct{contract.ContextMetadataNamespace: ctxStruct}},
			},
			{Request: &extprocv3.ProcessingRequest_ResponseHeaders{ResponseHeaders: &extprocv3.HttpHeaders{Headers: headers(
				":status", "200", "content-type", "application/json", "content-length", "1300",
			)}}},
		},
	}
	b.ReportAllocs()
	for b.Loop() {
		st.reset()
		if err := s.Process(st); err != nil {
			b.Fatal(err)
		}
		// The request filter prepared the body (three alike OpenAI deployments),
		// so the try has no body phase: request headers, then response headers.
		if len(st.sent) != 2 || st.sent[0].GetModeOverride() == nil || st.sent[1].GetResponseHeaders() == nil {
			b.Fatalf("attempt filter answered %v", st.sent)
		}
	}
}

// plannedMetadata is the dynamic metadata (plan and context) the request
// filter answered with: on its headers answer since the exchange is
// pipelined (D46).
func plannedMetadata(sent []*extprocv3.ProcessingResponse) *structpb.Struct {
	for _, r := range sent {
		if md := r.GetDynamicMetadata(); md != nil {
			return md
		}
	}
	return nil
}
