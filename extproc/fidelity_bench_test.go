package extproc

import (
	"context"
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/llmgate/llmgate/internal/contract"
)

// benchResponse is a ~1.3 KB OpenAI chat completion, as the provider sends it.
var benchResponse = []byte(`{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini-2024-07-18",` +
	`"choices":[{"index":0,"message":{"role":"assistant","content":"` + strings.Repeat("lorem ipsum ", 90) + `"},"finish_reason":"stop"}],` +
	`"usage":{"prompt_tokens":40,"completion_tokens":180,"total_tokens":220},"system_fingerprint":"fp_bench"}`)

// BenchmarkAttemptFilterResponseModel is BenchmarkAttemptFilter with the
// response body phase that restamping the requested model name costs
// (docs/architecture.md D16): request headers, response headers, then the
// buffered body, whose "model" is rewritten.
func BenchmarkAttemptFilterResponseModel(b *testing.B) {
	s := benchServer(b)
	rf := requestFilterStream()
	if err := s.Process(rf); err != nil {
		b.Fatal(err)
	}
	md := plannedMetadata(rf.sent)
	ctxStruct := md.GetFields()[contract.ContextMetadataNamespace].GetStructValue()
	plan := md.GetFields()[contract.PlanMetadataNamespace].GetStructValue().GetFields()["priority_groups"].GetListValue().GetValues()
	cluster := plan[0].GetStructValue().GetFields()["clusters"].GetListValue().GetValues()[0].GetStructValue().GetFields()["cluster_name"].GetStringValue()
	st := &benchStream{
		ctx: metadata.NewIncomingContext(context.Background(), metadata.Pairs(contract.PhaseMetadataKey, contract.PhaseAttempt, contract.DeploymentMetadataKey, cluster[len(contract.DeploymentClusterPrefix):])),
		in: []*extprocv3.ProcessingRequest{
			{
				Request: &extprocv3.ProcessingRequest_RequestHeaders{RequestHeaders: &extprocv3.HttpHeaders{Headers: headers(
					":method", "POST", ":path", "/v1/chat/completions", ":authority", "127.0.0.1:4000", "content-type", "application/json",
					"x-envoy-attempt-count", "1", "x-request-id", "6f1c9f0e-3c1a-4a53-9c7e-0b9f3f0a1d2e",
				)}},
				MetadataContext: &corev3.Metadata{FilterMetadata: map[string]*structpb.Struct{contract.ContextMetadataNamespace: ctxStruct}},
			},
			{Request: &extprocv3.ProcessingRequest_ResponseHeaders{ResponseHeaders: &extprocv3.HttpHeaders{Headers: headers(
				":status", "200", "content-type", "application/json", "content-length", "1300",
			)}}},
			{Request: &extprocv3.ProcessingRequest_ResponseBody{ResponseBody: &extprocv3.HttpBody{Body: benchResponse, EndOfStream: true}}},
		},
	}
	b.ReportAllocs()
	for b.Loop() {
		st.reset()
		if err := s.Process(st); err != nil {
			b.Fatal(err)
		}
		if len(st.sent) != 3 || !strings.Contains(string(st.sent[2].GetResponseBody().GetResponse().GetBodyMutation().GetBody()), `"model":"bench-gpt"`) {
			b.Fatalf("attempt filter answered %v", st.sent)
		}
	}
}
