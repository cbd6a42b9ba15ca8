package backendauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

func TestKeyInjectors(t *testing.T) {
	tests := []struct {
		name    string
		inj     Injector
		kind    string
		want    map[string]string
		wantErr error
	}{
		{"bearer", Bearer{Key: "sk-abc"}, "bearer", map[string]string{"authorization": "Bearer sk-abc"}, nil},
		{"bearer with organization", Bearer{Key: "sk-abc", Organization: "org-1"}, "bearer", map[string]string{"authorization": "Bearer sk-abc", "openai-organization": "org-1"}, nil},
		{"bearer none placeholder", Bearer{Key: "none"}, "bearer", map[string]string{}, nil},
		{"bearer empty (local servers)", Bearer{}, "bearer", map[string]string{}, nil},
		{"azure", AzureAPIKey("az-key"), "azure", map[string]string{"api-key": "az-key"}, nil},
		{"anthropic", AnthropicAPIKey("sk-ant-x"), "anthropic", map[string]string{"x-api-key": "sk-ant-x"}, nil},
		{"google", GoogleAPIKey("AIzaX"), "google", map[string]string{"x-goog-api-key": "AIzaX"}, nil},
		{"anthropic without key", AnthropicAPIKey(""), "anthropic", nil, ErrNoCredentials},
		{"azure without key", AzureAPIKey(""), "azure", nil, ErrNoCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.inj.Headers(Request{Method: "POST", Host: "h", Path: "/"})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			if err != nil && !strings.Contains(err.Error(), tt.kind) {
				t.Fatalf("error %q does not name the auth kind %q", err, tt.kind)
			}
		})
	}
}

const (
	testAKID   = "AKIDEXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	testToken  = "IQoJb3JpZ2luX2VjEXAMPLETOKEN"
)

// sdkSign signs the same request with aws-sdk-go-v2's v4 signer.
func sdkSign(t *testing.T, r Request, c AWSCredentials, region, service string) http.Header {
	t.Helper()
	u := "https://" + r.Host + r.Path
	if r.Query != "" {
		u += "?" + r.Query
	}
	req, err := http.NewRequest(r.Method, u, strings.NewReader(string(r.Body)))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = 0 // we do not sign content-length (Envoy may rewrite it)
	for k, v := range r.Headers {
		req.Header.Set(k, v)
	}
	ours, err := Sign(r, c, region, service)
	if err != nil {
		t.Fatal(err)
	}
	// The SDK signs X-Amz-Content-Sha256 only when it is on the request.
	req.Header.Set("X-Amz-Content-Sha256", ours["x-amz-content-sha256"])
	creds := aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey.Reveal(), SessionToken: c.SessionToken.Reveal()}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, ours["x-amz-content-sha256"], service, region, r.Time); err != nil {
		t.Fatal(err)
	}
	return req.Header
}

func TestSigV4MatchesAWSSDK(t *testing.T) {
	at := time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)
	tests := []struct {
		name    string
		req     Request
		creds   AWSCredentials
		region  string
		service string
	}{
		{
			name: "bedrock converse, escaped model id",
			req: Request{Method: "POST", Host: "bedrock-runtime.us-east-1.amazonaws.com",
				Path:    "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse",
				Headers: map[string]string{"content-type": "application/json", "accept": "application/json"},
				Body:    []byte(`{"messages":[{"role":"user","content":[{"text":"Hello"}]}]}`), Time: at},
			creds: AWSCredentials{AccessKeyID: testAKID, SecretAccessKey: testSecret}, region: "us-east-1", service: "bedrock",
		},
		{
			name: "session token, stream, ARN model, odd header spacing",
			req: Request{Method: "POST", Host: "bedrock-runtime.eu-west-3.amazonaws.com",
				Path:    "/model/arn%3Aaws%3Abedrock%3Aeu-west-3%3A123456789012%3Ainference-profile%2Feu.anthropic.claude-3-haiku-20240307-v1%3A0/converse-stream",
				Headers: map[string]string{"Content-Type": "application/json", "Accept": "application/vnd.amazon.eventstream", "X-Custom": "  a   b  ", "User-Agent": "llmgate"},
				Body:    []byte(`{}`), Time: at.In(time.FixedZone("x", 3600))},
			creds: AWSCredentials{AccessKeyID: testAKID, SecretAccessKey: testSecret, SessionToken: testToken}, region: "eu-west-3", service: "bedrock",
		},
		{
			name: "query string and empty body",
			req: Request{Method: "GET", Host: "example.amazonaws.com", Path: "/a b/c", Query: "z=1&a=2&a=1&sp=x y&t=~",
				Time: at},
			creds: AWSCredentials{AccessKeyID: testAKID, SecretAccessKey: testSecret}, region: "us-west-2", service: "service",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.req.Path == "/a b/c" {
				tt.req.Path = "/a%20b/c" // as sent on the wire
			}
			got, err := Sign(tt.req, tt.creds, tt.region, tt.service)
			if err != nil {
				t.Fatal(err)
			}
			want := sdkSign(t, tt.req, tt.creds, tt.region, tt.service)
			if got["authorization"] != want.Get("Authorization") {
				t.Fatalf("authorization differs:\n ours %s\n  sdk %s", got["authorization"], want.Get("Authorization"))
			}
			if got["x-amz-date"] != want.Get("X-Amz-Date") || got["x-amz-security-token"] != want.Get("X-Amz-Security-Token") {
				t.Fatalf("date/token differ: %v vs %v", got, want)
			}
			if !strings.HasPrefix(got["authorization"], "AWS4-HMAC-SHA256 Credential="+testAKID+"/20250314/"+tt.region+"/"+tt.service+"/aws4_request, SignedHeaders=") {
				t.Fatalf("authorization shape: %s", got["authorization"])
			}
		})
	}
}

func TestSigV4SignatureChangesWithInput(t *testing.T) {
	base := Request{Method: "POST", Host: "bedrock-runtime.us-east-1.amazonaws.com", Path: "/model/m/converse", Body: []byte("{}"), Time: time.Unix(1700000000, 0)}
	c := AWSCredentials{AccessKeyID: testAKID, SecretAccessKey: testSecret}
	ref, _ := Sign(base, c, "us-east-1", "bedrock")
	mutations := map[string]func(r *Request){
		"body": func(r *Request) { r.Body = []byte("{ }") },
		"path": func(r *Request) { r.Path = "/model/n/converse" },
		"time": func(r *Request) { r.Time = r.Time.Add(time.Second) },
		"host": func(r *Request) { r.Host = "bedrock-runtime.us-west-2.amazonaws.com" },
	}
	for name, mut := range mutations {
		r := base
		mut(&r)
		got, _ := Sign(r, c, "us-east-1", "bedrock")
		if got["authorization"] == ref["authorization"] {
			t.Errorf("%s change did not change the signature", name)
		}
	}
}

func TestSigV4Errors(t *testing.T) {
	ok := Request{Method: "POST", Host: "h", Path: "/", Time: time.Unix(1, 0)}
	c := AWSCredentials{AccessKeyID: testAKID, SecretAccessKey: testSecret}
	tests := []struct {
		name   string
		r      Request
		c      AWSCredentials
		region string
		want   string
	}{
		{"no secret", ok, AWSCredentials{AccessKeyID: testAKID}, "us-east-1", "no credentials"},
		{"no region", ok, c, "", "region"},
		{"no host", Request{Method: "POST", Path: "/", Time: time.Unix(1, 0)}, c, "us-east-1", "host"},
		{"no time", Request{Method: "POST", Host: "h", Path: "/"}, c, "us-east-1", "time"},
		{"bad query", Request{Method: "POST", Host: "h", Path: "/", Query: "a=%zz", Time: time.Unix(1, 0)}, c, "us-east-1", "query"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := SigV4{Credentials: tt.c, Region: tt.region}.Headers(tt.r)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Fatal("secret in error")
			}
		})
	}
}

func TestSecretsNeverPrinted(t *testing.T) {
	inj := []any{
		Bearer{Key: "sk-live-SECRET1"},
		AzureAPIKey("SECRET2"),
		AnthropicAPIKey("SECRET3"),
		GoogleAPIKey("SECRET4"),
		SigV4{Credentials: AWSCredentials{AccessKeyID: "AKIAEXAMPLEID", SecretAccessKey: "SECRET5", SessionToken: "SECRET6"}, Region: "us-east-1"},
		AWSCredentials{AccessKeyID: "AKIAEXAMPLEID", SecretAccessKey: "SECRET5"},
		Secret("SECRET7"),
	}
	for _, v := range inj {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			s := fmt.Sprintf(verb, v)
			if strings.Contains(s, "SECRET") || strings.Contains(s, "AKIAEXAMPLEID") {
				t.Errorf("%T printed with %s leaks: %s", v, verb, s)
			}
		}
		b, _ := json.Marshal(v)
		if strings.Contains(string(b), "SECRET") {
			t.Errorf("%T JSON leaks: %s", v, b)
		}
	}
}
