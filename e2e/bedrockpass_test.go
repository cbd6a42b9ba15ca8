package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestBedrockPassThrough: LiteLLM's /bedrock/model/{group}/{action} for a
// model_list group through the real Envoy: the client's Converse body sent
// as it is to the group's Bedrock deployment, SigV4-signed with the
// deployment's credentials (the fake checks the signature), the answer as
// Bedrock's, priced from its usage (D160).
func TestBedrockPassThrough(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{AWSRegion: "eu-west-1", APIKeys: []string{"sk-provider-oa"}})
	creds := fmt.Sprintf("aws_access_key_id: %s, aws_secret_access_key: %s", fakeprovider.DefaultAWSAccessKeyID, fakeprovider.DefaultAWSSecretAccessKey)
	g := startGateway(t, fmt.Sprintf(`
model_list:
  - model_name: claude-brk
    litellm_params: {model: bedrock/anthropic.claude-3-haiku-20240307-v1:0, api_base: %[1]s, aws_region_name: eu-west-1, %[2]s}
    model_info: {input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/oa/v1, api_key: sk-provider-oa}
general_settings:
  master_key: %[3]s
`, fake.URL(), creds, master))
	body := `{"messages":[{"role":"user","content":[{"text":"hello bedrock"}]}],"inferenceConfig":{"maxTokens":50}}`

	t.Run("converse: the body as sent, signed for the deployment, Bedrock's answer, priced", func(t *testing.T) {
		fake.Reset()
		st, h, b := post(t, g.URL+"/bedrock/model/claude-brk/converse", master, body)
		if st != 200 || !strings.Contains(string(b), `"output"`) || !strings.Contains(string(b), `"inputTokens"`) {
			t.Fatalf("%d %s", st, b)
		}
		rec, _ := fake.Last()
		if !strings.HasPrefix(rec.Path, "/model/anthropic.claude-3-haiku-20240307-v1") || !strings.HasSuffix(rec.Path, "/converse") ||
			!strings.Contains(rec.Header.Get("Authorization"), "/eu-west-1/bedrock/aws4_request") || string(rec.Body) != body {
			t.Fatalf("provider request %s %v %s", rec.Path, rec.Header, rec.Body)
		}
		if c := costHeader(t, h); c <= 0 || h.Get("x-litellm-model-group") != "claude-brk" {
			t.Fatalf("cost %v, group %q", c, h.Get("x-litellm-model-group"))
		}
		noSecretsInAnswer(t, h, b)
	})

	t.Run("refused: a group that is not Bedrock, an unknown model, no key", func(t *testing.T) {
		fake.Reset()
		for _, tc := range []struct {
			path, key string
			status    int
		}{
			{"/bedrock/model/gpt/converse", master, 400},
			{"/bedrock/model/no-such/converse", master, 400},
			{"/bedrock/model/claude-brk/converse", "", 401},
		} {
			st, _, b := post(t, g.URL+tc.path, tc.key, body)
			if st != tc.status || !strings.Contains(string(b), `"error"`) {
				t.Errorf("%s: %d %s", tc.path, st, b)
			}
		}
		if n := len(fake.Requests()); n != 0 {
			t.Fatalf("%d requests reached the provider", n)
		}
	})

	t.Run("converse-stream: Bedrock's event stream passed on", func(t *testing.T) {
		fake.Reset()
		st, h, b := post(t, g.URL+"/bedrock/model/claude-brk/converse-stream", master, body)
		if st != 200 || !strings.Contains(h.Get("content-type"), "eventstream") || !strings.Contains(string(b), "contentBlockDelta") {
			t.Fatalf("%d %v %.300q", st, h, b)
		}
		rec, _ := fake.Last()
		if !strings.HasSuffix(rec.Path, "/converse-stream") {
			t.Fatalf("provider path %s", rec.Path)
		}
	})
	noInternalHeaders(t, fake)
}
