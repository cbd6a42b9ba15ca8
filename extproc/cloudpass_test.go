package extproc

import (
	"bytes"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestVertexTargetPath: LiteLLM's construct_target_url cases (D169).
func TestVertexTargetPath(t *testing.T) {
	for _, tc := range []struct{ route, want string }{
		{"/v1/projects/a/locations/us-east1/publishers/google/models/g:generateContent", "/v1/projects/p/locations/l1/publishers/google/models/g:generateContent"},
		{"/projects/a/locations/b/publishers/google/models/g:generateContent", "/v1/projects/p/locations/l1/publishers/google/models/g:generateContent"},
		{"/projects/a/locations/b/cachedContents", "/v1beta1/projects/p/locations/l1/cachedContents"},
		{"/publishers/google/models/g:streamGenerateContent", "/v1/projects/p/locations/l1/publishers/google/models/g:streamGenerateContent"},
		{"/v1beta1/publishers/google/models/g:countTokens", "/v1beta1/projects/p/locations/l1/publishers/google/models/g:countTokens"},
		{"/cachedContents", "/v1beta1/projects/p/locations/l1/cachedContents"},
		{"publishers/google/models/g:predict", "/v1/projects/p/locations/l1/publishers/google/models/g:predict"},
	} {
		if got := vertexTargetPath(tc.route, "p", "l1"); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.route, got, tc.want)
		}
	}
	for _, tc := range []struct {
		path, body string
		want       bool
	}{
		{"/v1/x/models/g:streamGenerateContent", "", true},
		{"/v1/x/models/g:generateContent", "", false},
		{"/v1/x/models/claude:rawPredict", `{"stream":true}`, true},
		{"/v1/x/models/claude:rawPredict", `{"stream":false}`, false},
		{"/v1/x/models/claude:streamRawPredict", `{}`, false},
	} {
		if got := vertexStreaming(tc.path, []byte(tc.body)); got != tc.want {
			t.Errorf("%s %s: stream %v", tc.path, tc.body, got)
		}
	}
}

// TestBedrockHeaders: the signature verifies as Bedrock checks it (the
// fake's SigV4 check, aws-sdk-go-v2's signer) for the request Envoy sends:
// the target's host and path prefix, the client's escaped path and query.
func TestBedrockHeaders(t *testing.T) {
	target, _ := url.Parse("http://bedrock.internal:8443/base")
	ep := &config.PassThroughEndpoint{Path: "/bedrock", Target: target,
		AWS: &config.AWSPassThrough{Region: "eu-central-1", AccessKeyID: "AKID", SecretAccessKey: "SECRET", SessionToken: "TOK"}}
	body := []byte(`{"messages":[]}`)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	h := map[string]string{":method": "POST", ":path": "/bedrock/model/anthropic.claude-v1%3A0/converse?x=1", "content-type": "application/json",
		"x-amzn-bedrock-trace": "ENABLED", "user-agent": "curl", "x-forwarded-for": "1.2.3.4"}
	set, remove, e := bedrockHeaders(ep, h, body, now)
	if e != nil {
		t.Fatal(e)
	}
	r, _ := http.NewRequest("POST", "http://bedrock.internal:8443/base/model/anthropic.claude-v1%3A0/converse?x=1", bytes.NewReader(body))
	r.Header.Set("content-type", "application/json")
	r.Header.Set("x-amzn-bedrock-trace", "ENABLED")
	r.Header.Set("user-agent", "Envoy changed it")
	for _, kv := range set {
		r.Header.Set(kv[0], kv[1])
	}
	creds := aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "SECRET"}
	if err := fakeprovider.VerifySigV4(r, body, creds, "bedrock", "eu-central-1", now); err != nil {
		t.Fatalf("signature: %v (set %v)", err, set)
	}
	if r.Header.Get("x-amz-security-token") != "TOK" || len(remove) != 1 || remove[0] != "x-amz-content-sha256" {
		t.Errorf("set %v remove %v", set, remove)
	}
	// Another body, region or path does not verify.
	if fakeprovider.VerifySigV4(r, []byte(`{}`), creds, "bedrock", "eu-central-1", now) == nil {
		t.Error("another body verified")
	}
	r.URL.Path, r.URL.RawPath = "/base/model/anthropic.claude-v1:0/converse", ""
	if fakeprovider.VerifySigV4(r, body, creds, "bedrock", "eu-central-1", now) == nil {
		t.Error("the unescaped path verified")
	}
}
