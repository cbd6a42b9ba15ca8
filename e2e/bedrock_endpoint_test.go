package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestBedrockRuntimeEndpoint: a Bedrock deployment's requests go to its
// aws_bedrock_runtime_endpoint (else AWS_BEDROCK_RUNTIME_ENDPOINT), a VPC
// endpoint or proxy, still SigV4-signed for its own region and the bedrock
// service (the fake checks the signature per model's region); api_base wins
// over both, as in LiteLLM.
func TestBedrockRuntimeEndpoint(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{AWSRegion: "eu-west-1",
		AWSModelRegions: map[string]string{"meta.llama3-1-8b-instruct-v1:0": "us-west-2"}})
	creds := fmt.Sprintf("aws_access_key_id: %s, aws_secret_access_key: %s", fakeprovider.DefaultAWSAccessKeyID, fakeprovider.DefaultAWSSecretAccessKey)
	g := startGateway(t, fmt.Sprintf(`
model_list:
  - model_name: vpc
    litellm_params: {model: bedrock/anthropic.claude-3-haiku-20240307-v1:0, aws_bedrock_runtime_endpoint: %[1]s, aws_region_name: eu-west-1, %[2]s}
  - model_name: from-env
    litellm_params: {model: bedrock/meta.llama3-1-8b-instruct-v1:0, aws_region_name: us-west-2, %[2]s}
  - model_name: api-base-wins
    litellm_params: {model: bedrock/anthropic.claude-3-haiku-20240307-v1:0, api_base: %[1]s, aws_bedrock_runtime_endpoint: "http://127.0.0.1:1", aws_region_name: eu-west-1, %[2]s}
`, fake.URL(), creds), "AWS_BEDROCK_RUNTIME_ENDPOINT="+fake.URL())
	for _, model := range []string{"vpc", "from-env", "api-base-wins"} {
		fake.Reset()
		code, _, b := post(t, g.URL+"/v1/chat/completions", "", `{"model":"`+model+`","messages":[{"role":"user","content":"hello `+model+`"}]}`)
		if code != 200 || !strings.Contains(string(b), "hello "+model) {
			t.Errorf("%s: status %d: %s", model, code, b)
			continue
		}
		rec, ok := fake.Last()
		if !ok || !strings.HasPrefix(rec.Path, "/model/") || !strings.Contains(rec.Header.Get("Authorization"), "/bedrock/aws4_request") {
			t.Errorf("%s: the fake saw %+v", model, rec)
		}
	}
}
