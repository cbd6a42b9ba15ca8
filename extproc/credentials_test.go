package extproc

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/llmgate/llmgate/internal/upstream"
	"github.com/llmgate/llmgate/translator"
)

// The attempt filter signs a Bedrock request for the deployment's
// aws_region_name; the fake provider, which checks the credential scope
// against the region each deployment is configured for, accepts exactly
// that. A signer that uses another region (e.g. always us-east-1) fails here.
func TestBedrockSignsForTheDeploymentRegion(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{AWSRegion: "us-east-1", AWSModelRegions: map[string]string{
		"anthropic.claude-3-haiku-20240307-v1:0": "eu-west-3",
		"meta.llama3-1-8b-instruct-v1:0":         "ap-south-1",
	}})
	st := stateWith(t, fmt.Sprintf(`
model_list:
  - model_name: paris
    litellm_params: {model: bedrock/anthropic.claude-3-haiku-20240307-v1:0, api_base: %[1]s, aws_access_key_id: %[2]s, aws_secret_access_key: %[3]s, aws_region_name: eu-west-3}
    model_info: {id: paris}
  - model_name: mumbai
    litellm_params: {model: bedrock/meta.llama3-1-8b-instruct-v1:0, api_base: %[1]s, aws_access_key_id: %[2]s, aws_secret_access_key: %[3]s, aws_region_name: ap-south-1}
    model_info: {id: mumbai}
  - model_name: default-region
    litellm_params: {model: bedrock/amazon.titan-text-lite-v1, api_base: %[1]s, aws_access_key_id: %[2]s, aws_secret_access_key: %[3]s}
    model_info: {id: default-region}
`, fake.URL(), fakeprovider.DefaultAWSAccessKeyID, fakeprovider.DefaultAWSSecretAccessKey))
	for _, id := range []string{"paris", "mumbai", "default-region"} {
		t.Run(id, func(t *testing.T) {
			d, ok := st.deployment(id)
			if !ok {
				t.Fatal("no deployment")
			}
			base, err := upstream.For(d)
			if err != nil {
				t.Fatal(err)
			}
			tr := &try{st: st, d: d, base: base}
			up, err := translator.For("bedrock").Request(translator.Chat, []byte(`{"model":"x","messages":[{"role":"user","content":"hi"}]}`),
				translator.Target{Provider: "bedrock", Model: d.Model, Region: d.Params.AWSRegionName})
			if err != nil {
				t.Fatal(err)
			}
			creds, e := tr.credentials(up)
			if e != nil {
				t.Fatal(e)
			}
			req, err := http.NewRequest(up.Method, base.URL()+up.Path, bytes.NewReader(up.Body))
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range up.Headers {
				req.Header.Set(k, v)
			}
			for k, v := range creds {
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 {
				t.Fatalf("the fake provider refused the signature: %d %s %s", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), b)
			}
		})
	}
}
