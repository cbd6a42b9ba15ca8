package e2e

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// vertexFake is a Google OAuth token endpoint and a Vertex AI endpoint: the
// token endpoint checks the service account's JWT grant (RS256 signature by
// the account's key, issuer, audience, scope) and issues a token; the Vertex
// endpoint accepts only an issued token and records what it was sent.
type vertexFake struct {
	srv   *httptest.Server
	key   *rsa.PrivateKey
	email string

	mu     sync.Mutex
	issued map[string]bool
	grants int
	reqs   []vertexCall
}

type vertexCall struct {
	path, query string
	header      http.Header
	body        []byte
}

func newVertexFake(t *testing.T) *vertexFake {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	f := &vertexFake{key: key, email: "pass@vx-project.iam.gserviceaccount.com", issued: map[string]bool{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// serviceAccount is the account's JSON, its token_uri the fake's.
func (f *vertexFake) serviceAccount() string {
	der, _ := x509.MarshalPKCS8PrivateKey(f.key)
	b, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "vx-project", "private_key_id": "kid-1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": f.email, "token_uri": f.srv.URL + "/token",
	})
	return string(b)
}

// serviceAccountFile writes the account's JSON to a file (its path, as
// DEFAULT_GOOGLE_APPLICATION_CREDENTIALS names it).
func (f *vertexFake) serviceAccountFile(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(p, []byte(f.serviceAccount()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func (f *vertexFake) fail(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("content-type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"code":%d,"message":%q,"status":"UNAUTHENTICATED"}}`, status, msg)
}

func (f *vertexFake) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if r.URL.Path == "/token" {
		f.token(w, r, body)
		return
	}
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.mu.Lock()
	ok := f.issued[tok]
	f.reqs = append(f.reqs, vertexCall{r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Clone(), body})
	f.mu.Unlock()
	if !ok {
		f.fail(w, 401, "Request had invalid authentication credentials. Expected OAuth 2 access token.")
		return
	}
	answer := `{"candidates":[{"content":{"role":"model","parts":[{"text":"hi from vertex"}]},"finishReason":"STOP"}],` +
		`"usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":3,"totalTokenCount":7},"modelVersion":"gemini-1.5-pro-002"}`
	if strings.Contains(r.URL.Path, ":streamGenerateContent") {
		w.Header().Set("content-type", "text/event-stream")
		fmt.Fprintf(w, "data: %s\r\n\r\n", answer)
		return
	}
	w.Header().Set("content-type", "application/json")
	_, _ = io.WriteString(w, answer)
}

// token checks a JWT bearer grant as Google's token endpoint does.
func (f *vertexFake) token(w http.ResponseWriter, r *http.Request, body []byte) {
	form, _ := url.ParseQuery(string(body))
	if form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		f.fail(w, 400, "unsupported_grant_type")
		return
	}
	parts := strings.Split(form.Get("assertion"), ".")
	if len(parts) != 3 {
		f.fail(w, 400, "invalid_grant: not a JWT")
		return
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err != nil || rsa.VerifyPKCS1v15(&f.key.PublicKey, crypto.SHA256, sum[:], sig) != nil {
		f.fail(w, 400, "invalid_grant: Invalid JWT Signature.")
		return
	}
	claims, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var c struct {
		Iss   string `json:"iss"`
		Aud   string `json:"aud"`
		Scope string `json:"scope"`
	}
	if json.Unmarshal(claims, &c) != nil || c.Iss != f.email || c.Aud != f.srv.URL+"/token" || c.Scope != "https://www.googleapis.com/auth/cloud-platform" {
		f.fail(w, 400, "invalid_grant: claims "+string(claims))
		return
	}
	tok := "ya29.vx-" + rand.Text()
	f.mu.Lock()
	f.issued[tok] = true
	f.grants++
	f.mu.Unlock()
	w.Header().Set("content-type", "application/json")
	fmt.Fprintf(w, `{"access_token":%q,"expires_in":3600,"token_type":"Bearer"}`, tok)
}

func (f *vertexFake) calls() []vertexCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]vertexCall(nil), f.reqs...)
}

func (f *vertexFake) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reqs = nil
}

// TestVertexPassThrough: LiteLLM's /vertex_ai/{endpoint} route through
// Envoy with the environment's default Vertex credentials (D169).
func TestVertexPassThrough(t *testing.T) {
	f := newVertexFake(t)
	saFile := f.serviceAccountFile(t)
	g := startGateway(t, fmt.Sprintf(`
model_list:
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/v1, api_key: sk-provider-oa}
general_settings:
  master_key: %[2]s
`, f.srv.URL, master),
		"DEFAULT_VERTEXAI_PROJECT=vx-project", "DEFAULT_VERTEXAI_LOCATION=europe-west4",
		"DEFAULT_GOOGLE_APPLICATION_CREDENTIALS="+saFile, "VERTEXAI_API_BASE="+f.srv.URL)
	body := `{"contents":[{"role":"user","parts":[{"text":"hello vertex"}]}],"generationConfig":{"maxOutputTokens":20}}`
	send := func(t *testing.T, path string, hdr map[string]string) (int, http.Header, []byte) {
		t.Helper()
		req, err := http.NewRequest("POST", g.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("content-type", "application/json")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, b
	}
	checkCall := func(t *testing.T, c vertexCall, path string) {
		t.Helper()
		if c.path != path || string(c.body) != body {
			t.Errorf("provider got %s %s, want %s and the body as sent", c.path, c.body, path)
		}
		if a := c.header.Get("Authorization"); !strings.HasPrefix(a, "Bearer ya29.vx-") {
			t.Errorf("provider authorization %q", a)
		}
		for k, vs := range c.header {
			for _, v := range vs {
				if strings.Contains(v, master) || strings.HasPrefix(strings.ToLower(k), "x-llmgate") || strings.EqualFold(k, "x-litellm-api-key") {
					t.Errorf("the provider got the client's %s: %s", k, v)
				}
			}
		}
	}

	t.Run("the route's project and location replaced, the token put on, the answer passed", func(t *testing.T) {
		f.reset()
		st, h, b := send(t, "/vertex_ai/v1/projects/other-project/locations/us-east1/publishers/google/models/gemini-1.5-pro:generateContent",
			map[string]string{"x-litellm-api-key": master})
		if st != 200 || !strings.Contains(string(b), "hi from vertex") {
			t.Fatalf("%d %s", st, b)
		}
		calls := f.calls()
		if len(calls) != 1 {
			t.Fatalf("%d provider calls", len(calls))
		}
		checkCall(t, calls[0], "/v1/projects/vx-project/locations/europe-west4/publishers/google/models/gemini-1.5-pro:generateContent")
		noSecretsInAnswer(t, h, b)
		if strings.Contains(string(b), "ya29.") || strings.Contains(fmt.Sprint(h), "ya29.") {
			t.Fatalf("the access token reached the client: %v %s", h, b)
		}
	})

	t.Run("/vertex-ai without project: the default put in front, a stream with alt=sse", func(t *testing.T) {
		f.reset()
		st, h, b := send(t, "/vertex-ai/publishers/google/models/gemini-1.5-pro:streamGenerateContent",
			map[string]string{"authorization": "Bearer " + master})
		if st != 200 || !strings.Contains(h.Get("content-type"), "text/event-stream") || !strings.Contains(string(b), "data: ") {
			t.Fatalf("%d %v %s", st, h, b)
		}
		calls := f.calls()
		if len(calls) != 1 {
			t.Fatalf("%d provider calls", len(calls))
		}
		checkCall(t, calls[0], "/v1/projects/vx-project/locations/europe-west4/publishers/google/models/gemini-1.5-pro:streamGenerateContent")
		if calls[0].query != "alt=sse" {
			t.Errorf("query %q, want alt=sse", calls[0].query)
		}
	})

	t.Run("a wrong key or none: 401 JSON, the provider not called", func(t *testing.T) {
		f.reset()
		for _, hdr := range []map[string]string{{"authorization": "Bearer sk-wrong"}, {}} {
			st, _, b := send(t, "/vertex_ai/v1/projects/p/locations/l/publishers/google/models/gemini-1.5-pro:generateContent", hdr)
			if st != 401 || !strings.Contains(string(b), `"error"`) {
				t.Errorf("%v: %d %s", hdr, st, b)
			}
		}
		if n := len(f.calls()); n != 0 {
			t.Fatalf("%d calls reached the provider", n)
		}
	})

	t.Run("one token for every request, fetched off the request path; no secret in the logs", func(t *testing.T) {
		f.mu.Lock()
		grants := f.grants
		f.mu.Unlock()
		if grants != 1 {
			t.Errorf("%d token grants, want 1 (the token reused until it nears expiry)", grants)
		}
		logs := g.Logs()
		f.mu.Lock()
		for tok := range f.issued {
			if strings.Contains(logs, tok) {
				t.Errorf("the access token is in the gateway's logs")
			}
		}
		f.mu.Unlock()
		if strings.Contains(logs, "PRIVATE KEY") {
			t.Errorf("the service account's key is in the gateway's logs")
		}
	})
}

// TestBedrockDirectPassThrough: /bedrock/{endpoint} for a model no group
// serves goes straight to Bedrock, signed with the environment's AWS
// credentials (D169); a group's model still goes through the router (D160).
func TestBedrockDirectPassThrough(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{AWSRegion: "eu-central-1"})
	// bedrock-agent-runtime: checks the signature as AWS does.
	var agentMu sync.Mutex
	var agentPaths []string
	agent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		creds := aws.Credentials{AccessKeyID: fakeprovider.DefaultAWSAccessKeyID, SecretAccessKey: fakeprovider.DefaultAWSSecretAccessKey}
		if err := fakeprovider.VerifySigV4(r, raw, creds, "bedrock", "eu-central-1", time.Now()); err != nil {
			_, msg := fakeprovider.SigV4Exception(err)
			http.Error(w, `{"message":`+strconv.Quote(msg)+`}`, http.StatusForbidden)
			return
		}
		agentMu.Lock()
		agentPaths = append(agentPaths, r.URL.Path+" "+string(raw))
		agentMu.Unlock()
		w.Header().Set("content-type", "application/json")
		_, _ = io.WriteString(w, `{"retrievalResults":[{"content":{"text":"refunds within 30 days"},"score":0.9}]}`)
	}))
	t.Cleanup(agent.Close)
	g := startGateway(t, fmt.Sprintf(`
model_list:
  - model_name: claude-brk
    litellm_params: {model: bedrock/anthropic.claude-3-haiku-20240307-v1:0, api_base: %[1]s, aws_region_name: eu-central-1, aws_access_key_id: %[2]s, aws_secret_access_key: %[3]s}
general_settings:
  master_key: %[4]s
`, fake.URL(), fakeprovider.DefaultAWSAccessKeyID, fakeprovider.DefaultAWSSecretAccessKey, master),
		"AWS_ACCESS_KEY_ID="+fakeprovider.DefaultAWSAccessKeyID, "AWS_SECRET_ACCESS_KEY="+fakeprovider.DefaultAWSSecretAccessKey,
		"AWS_SESSION_TOKEN=session-token-1", "AWS_REGION_NAME=eu-central-1", "AWS_BEDROCK_RUNTIME_ENDPOINT="+fake.URL(), "AWS_ENDPOINT_URL_BEDROCK_AGENT_RUNTIME="+agent.URL)
	body := `{"messages":[{"role":"user","content":[{"text":"hello bedrock"}]}],"inferenceConfig":{"maxTokens":50}}`

	for _, model := range []string{"anthropic.claude-3-haiku-20240307-v1:0", "anthropic.claude-3-haiku-20240307-v1%3A0"} {
		t.Run("converse to a model no group serves, signed for the region: "+model, func(t *testing.T) {
			fake.Reset()
			st, h, b := post(t, g.URL+"/bedrock/model/"+model+"/converse", master, body)
			if st != 200 || !strings.Contains(string(b), `"output"`) || !strings.Contains(string(b), `"inputTokens"`) {
				t.Fatalf("%d %s", st, b)
			}
			rec, _ := fake.Last()
			if !strings.HasPrefix(rec.Path, "/model/anthropic.claude-3-haiku-20240307-v1") || !strings.HasSuffix(rec.Path, "/converse") ||
				!strings.Contains(rec.Header.Get("Authorization"), "/eu-central-1/bedrock/aws4_request") ||
				rec.Header.Get("X-Amz-Security-Token") != "session-token-1" || string(rec.Body) != body {
				t.Fatalf("provider request %s %v %s", rec.Path, rec.Header, rec.Body)
			}
			if h.Get("x-litellm-model-group") != "" {
				t.Errorf("a direct call answered with model group %q", h.Get("x-litellm-model-group"))
			}
			noSecretsInAnswer(t, h, b)
			if strings.Contains(fmt.Sprint(h), "AWS4-HMAC") || strings.Contains(string(b), "AWS4-HMAC") {
				t.Fatalf("the signature reached the client")
			}
		})
	}

	t.Run("converse-stream passes Bedrock's event stream", func(t *testing.T) {
		fake.Reset()
		st, h, b := post(t, g.URL+"/bedrock/model/anthropic.claude-3-haiku-20240307-v1:0/converse-stream", master, body)
		if st != 200 || !strings.Contains(h.Get("content-type"), "eventstream") || !strings.Contains(string(b), "contentBlockDelta") {
			t.Fatalf("%d %v %.300q", st, h, b)
		}
	})

	t.Run("a knowledge base retrieve goes to bedrock-agent-runtime, signed", func(t *testing.T) {
		kb := `{"retrievalQuery":{"text":"refund policy"}}`
		st, h, b := post(t, g.URL+"/bedrock/knowledgebases/KB12345678/retrieve", master, kb)
		if st != 200 || !strings.Contains(string(b), "refunds within 30 days") {
			t.Fatalf("%d %s", st, b)
		}
		agentMu.Lock()
		defer agentMu.Unlock()
		if len(agentPaths) != 1 || agentPaths[0] != "/knowledgebases/KB12345678/retrieve "+kb {
			t.Fatalf("agent runtime got %q", agentPaths)
		}
		noSecretsInAnswer(t, h, b)
	})

	t.Run("a group's model still goes through the router", func(t *testing.T) {
		fake.Reset()
		st, h, b := post(t, g.URL+"/bedrock/model/claude-brk/converse", master, body)
		if st != 200 || h.Get("x-litellm-model-group") != "claude-brk" {
			t.Fatalf("%d %v %s", st, h, b)
		}
	})

	t.Run("a wrong key: 401 JSON, Bedrock not called", func(t *testing.T) {
		fake.Reset()
		st, _, b := post(t, g.URL+"/bedrock/model/anthropic.claude-3-haiku-20240307-v1:0/converse", "sk-wrong", body)
		if st != 401 || !strings.Contains(string(b), `"error"`) {
			t.Fatalf("%d %s", st, b)
		}
		if n := len(fake.Requests()); n != 0 {
			t.Fatalf("%d requests reached the provider", n)
		}
	})
	for _, rec := range fake.Requests() {
		for k, vs := range rec.Header {
			for _, v := range vs {
				if strings.Contains(v, master) || strings.HasPrefix(strings.ToLower(k), "x-llmgate") {
					t.Errorf("the provider got the client's %s: %s", k, v)
				}
			}
		}
	}
	if logs := g.Logs(); strings.Contains(logs, fakeprovider.DefaultAWSSecretAccessKey) || strings.Contains(logs, "session-token-1") {
		t.Errorf("an AWS secret is in the gateway's logs")
	}
}
