package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/internal/awscreds/ststest"
	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestBedrockSTSCredentials: a Bedrock deployment with aws_role_name (and
// aws_session_name, aws_external_id, aws_sts_endpoint) signs its requests
// with the temporary keys STS's AssumeRole answered — the static keys only
// sign the STS call — and one with aws_web_identity_token takes
// AssumeRoleWithWebIdentity; the fake Bedrock accepts only the temporary
// keys. STS is called once per process, not per request. On both request
// filters.
func TestBedrockSTSCredentials(t *testing.T) {
	const keyID, secret, token = "ASIATEMPORARY", "temporary-secret", "temporary-session-token"
	fake := fakeprovider.StartT(t, fakeprovider.Options{AWSAccessKeyID: keyID, AWSSecretAccessKey: secret, AWSRegion: "us-east-1"})
	for _, mode := range requestFilterModes {
		t.Run(mode.name, func(t *testing.T) {
			sts := ststest.Start(t, func(string) (ststest.Keys, bool) {
				return ststest.Keys{ID: keyID, Secret: secret, Token: token}, true
			})
			g := startGatewayArgs(t, fmt.Sprintf(`
model_list:
  - model_name: role
    litellm_params: {model: bedrock/anthropic.claude-3-haiku-20240307-v1:0, api_base: %[1]s, aws_region_name: us-east-1,
      aws_access_key_id: AKIASOURCE, aws_secret_access_key: source-secret,
      aws_role_name: "arn:aws:iam::123456789012:role/bedrock", aws_session_name: llmgate-e2e, aws_external_id: ext-42, aws_sts_endpoint: %[2]s}
  - model_name: web-identity
    litellm_params: {model: bedrock/anthropic.claude-3-haiku-20240307-v1:0, api_base: %[1]s, aws_region_name: us-east-1,
      aws_role_name: "arn:aws:iam::123456789012:role/oidc", aws_session_name: oidc-session, aws_web_identity_token: os.environ/E2E_OIDC_TOKEN,
      aws_sts_endpoint: %[2]s}
`, fake.URL(), sts.URL), mode.args, "E2E_OIDC_TOKEN=oidc-token-value")
			for i := 0; i < 3; i++ {
				for _, model := range []string{"role", "web-identity"} {
					fake.Reset()
					code, _, b := post(t, g.URL+"/v1/chat/completions", "", `{"model":"`+model+`","messages":[{"role":"user","content":"hello `+model+`"}]}`)
					if code != 200 || !strings.Contains(string(b), "hello "+model) {
						t.Fatalf("%s: status %d: %s", model, code, b)
					}
					rec, ok := fake.Last()
					if !ok || !strings.Contains(rec.Header.Get("Authorization"), "Credential="+keyID+"/") || rec.Header.Get("X-Amz-Security-Token") != token {
						t.Fatalf("%s: not signed with STS's temporary keys: %+v", model, rec.Header)
					}
				}
			}
			roles := sts.Calls("AssumeRole")
			if len(roles) == 0 || len(roles) > 2 {
				t.Fatalf("AssumeRole calls for 3 requests: %d, want one per process", len(roles))
			}
			if r := roles[0]; r.Get("RoleArn") != "arn:aws:iam::123456789012:role/bedrock" || r.Get("RoleSessionName") != "llmgate-e2e" || r.Get("ExternalId") != "ext-42" {
				t.Errorf("AssumeRole form: %v", r)
			}
			webs := sts.Calls("AssumeRoleWithWebIdentity")
			if len(webs) == 0 || len(webs) > 2 {
				t.Fatalf("AssumeRoleWithWebIdentity calls for 3 requests: %d", len(webs))
			}
			if w := webs[0]; w.Get("WebIdentityToken") != "oidc-token-value" || w.Get("RoleSessionName") != "oidc-session" || w.Get("RoleArn") != "arn:aws:iam::123456789012:role/oidc" {
				t.Errorf("AssumeRoleWithWebIdentity form: %v", w)
			}
		})
	}
}
