package config

import (
	"fmt"
	"testing"
)

// TestAWSEnvDefaults (D171): a Bedrock guardrail and a Bedrock knowledge
// base read the environment's AWS credentials, region and endpoint the
// same way (awsEnvDefaults, awsEndpoint): AWS_REGION over
// AWS_REGION_NAME, AWS_DEFAULT_REGION not read (LiteLLM's
// get_aws_region_name_for_non_llm_api_calls), the session token with the
// keys, the entry's values winning.
func TestAWSEnvDefaults(t *testing.T) {
	const yml = `
model_list:
  - model_name: m
    litellm_params: {model: openai/gpt-4o, api_key: k}
guardrails:
  - guardrail_name: b
    litellm_params: {guardrail: bedrock, mode: pre_call, guardrailIdentifier: gid, guardrailVersion: "1"%s}
vector_store_registry:
  - vector_store_name: kb
    litellm_params: {vector_store_id: KB1, custom_llm_provider: bedrock%s}
`
	keys := []string{"AWS_ACCESS_KEY_ID", "AK", "AWS_SECRET_ACCESS_KEY", "SK", "AWS_SESSION_TOKEN", "ST"}
	cases := []struct {
		name    string
		entry   string
		env     []string
		want    AWSAccess
		runtime string // the guardrail's endpoint; the knowledge base's is the agent runtime's
	}{
		{"region name only", "", append(keys, "AWS_REGION_NAME", "eu-west-3"),
			AWSAccess{"AK", "SK", "ST", "eu-west-3"}, "https://bedrock-runtime.eu-west-3.amazonaws.com"},
		{"AWS_REGION wins", "", append(keys, "AWS_REGION_NAME", "eu-west-3", "AWS_REGION", "eu-central-1", "AWS_DEFAULT_REGION", "ap-south-1"),
			AWSAccess{"AK", "SK", "ST", "eu-central-1"}, "https://bedrock-runtime.eu-central-1.amazonaws.com"},
		{"default region not read", "", append(keys, "AWS_DEFAULT_REGION", "ap-south-1"),
			AWSAccess{"AK", "SK", "ST", "us-west-2"}, "https://bedrock-runtime.us-west-2.amazonaws.com"},
		{"the entry's keys and region", ", aws_access_key_id: EK, aws_secret_access_key: ES, aws_region_name: us-east-1", append(keys, "AWS_REGION", "eu-central-1"),
			AWSAccess{"EK", "ES", "", "us-east-1"}, "https://bedrock-runtime.us-east-1.amazonaws.com"},
		{"endpoint from the environment", "", append(keys, "AWS_BEDROCK_RUNTIME_ENDPOINT", "http://vpce:8080"),
			AWSAccess{"AK", "SK", "ST", "us-west-2"}, "http://vpce:8080"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := mustParse(t, fmt.Sprintf(yml, tc.entry, tc.entry), env(tc.env...))
			if len(cfg.Guardrails) != 1 || len(cfg.VectorStores) != 1 {
				t.Fatalf("guardrails %d, vector stores %d", len(cfg.Guardrails), len(cfg.VectorStores))
			}
			g, v := cfg.Guardrails[0], cfg.VectorStores[0]
			if g.AWSAccess != tc.want || v.AWSAccess != tc.want {
				t.Errorf("guardrail %+v, vector store %+v, want %+v", g.AWSAccess, v.AWSAccess, tc.want)
			}
			if g.AWSEndpoint != tc.runtime {
				t.Errorf("guardrail endpoint %q, want %q", g.AWSEndpoint, tc.runtime)
			}
			wantKB := tc.runtime
			if tc.runtime != "http://vpce:8080" {
				wantKB = "https://bedrock-agent-runtime." + tc.want.AWSRegion + ".amazonaws.com"
			}
			if v.APIBase != wantKB {
				t.Errorf("knowledge base endpoint %q, want %q", v.APIBase, wantKB)
			}
		})
	}
}
