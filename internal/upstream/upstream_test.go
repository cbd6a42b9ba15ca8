package upstream

import (
	"testing"

	"github.com/llmgate/llmgate/config"
)

// Issue 9 part 2: a Vertex deployment without vertex_location goes to
// us-central1's host, matching the us-central1 path the translator builds
// (it went to the global host); vertex_ai_beta follows the same rule.
func TestAPIBaseDerived(t *testing.T) {
	cases := []struct {
		provider string
		params   config.LiteLLMParams
		want     string
	}{
		{"vertex_ai", config.LiteLLMParams{}, "https://us-central1-aiplatform.googleapis.com"},
		{"vertex_ai", config.LiteLLMParams{VertexLocation: "global"}, "https://aiplatform.googleapis.com"},
		{"vertex_ai", config.LiteLLMParams{VertexLocation: "europe-west4"}, "https://europe-west4-aiplatform.googleapis.com"},
		{"vertex_ai_beta", config.LiteLLMParams{}, "https://us-central1-aiplatform.googleapis.com"},
		{"bedrock", config.LiteLLMParams{}, "https://bedrock-runtime.us-east-1.amazonaws.com"},
		{"bedrock", config.LiteLLMParams{AWSRegionName: "eu-west-1"}, "https://bedrock-runtime.eu-west-1.amazonaws.com"},
		{"bedrock", config.LiteLLMParams{AWSRegionName: "eu-west-1", AWSBedrockRuntimeEndpoint: "https://vpce.example"}, "https://vpce.example"},
		{"groq", config.LiteLLMParams{}, "https://api.groq.com/openai/v1"},
		{"vertex_ai", config.LiteLLMParams{APIBase: "https://proxy.example"}, "https://proxy.example"},
	}
	for _, c := range cases {
		d := &config.Deployment{Provider: c.provider, Params: c.params}
		if got := APIBase(d); got != c.want {
			t.Errorf("%s %+v: api_base %q, want %q", c.provider, c.params, got, c.want)
		}
	}
}
