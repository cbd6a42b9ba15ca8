package fakeprovider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const claudeModelPath = "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0"

var testCreds = aws.Credentials{AccessKeyID: "AKIATESTKEY", SecretAccessKey: "test-secret"}

// signedRequest builds a Bedrock request signed with aws-sdk-go-v2's
// signer; tamper runs after signing.
func signedRequest(t *testing.T, url, body string, creds aws.Credentials, at time.Time, headers map[string]string, tamper func(*http.Request)) *http.Request {
	t.Helper()
	return signedRequestScoped(t, url, body, creds, at, "bedrock", DefaultAWSRegion, headers, tamper)
}

// signedRequestScoped signs for a service and region.
func signedRequestScoped(t *testing.T, url, body string, creds aws.Credentials, at time.Time, service, region string, headers map[string]string, tamper func(*http.Request)) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "fakeprovider-test") // not signed by the SDK
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	sum := sha256.Sum256([]byte(body))
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), service, region, at); err != nil {
		t.Fatal(err)
	}
	if tamper != nil {
		tamper(req)
	}
	return req
}

func do(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

const converseBody = `{"messages":[{"role":"user","content":[{"text":"hello bedrock"}]}],"system":[{"text":"be brief"}],"inferenceConfig":{"maxTokens":100}}`

// The fake checks the credential scope as Bedrock does: the region the
// deployment is configured for (one default, or per model) and the bedrock
// service. A signer that uses another region is refused.
func TestBedrockSigV4Scope(t *testing.T) {
	s := StartT(t, Options{AWSAccessKeyID: testCreds.AccessKeyID, AWSSecretAccessKey: testCreds.SecretAccessKey,
		AWSRegion: "eu-west-3", AWSModelRegions: map[string]string{"meta.llama3-1-8b-instruct-v1:0": "us-west-2"}})
	claude := s.URL() + claudeModelPath + "/converse"
	llama := s.URL() + "/model/meta.llama3-1-8b-instruct-v1%3A0/converse"
	tests := []struct {
		name, url, service, region string
		want                       int
		message                    string
	}{
		{"default region", claude, "bedrock", "eu-west-3", 200, ""},
		{"model's region", llama, "bedrock", "us-west-2", 200, ""},
		{"us-east-1 for an eu-west-3 deployment", claude, "bedrock", "us-east-1", 403, "valid region, not 'us-east-1'"},
		{"the default region for a model with its own", llama, "bedrock", "eu-west-3", 403, "valid region, not 'eu-west-3'"},
		{"another service", claude, "execute-api", "eu-west-3", 403, "correct service: 'bedrock'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, signedRequestScoped(t, tt.url, converseBody, testCreds, time.Now(), tt.service, tt.region, nil, nil))
			if resp.StatusCode != tt.want {
				t.Fatalf("status = %d, want %d: %s", resp.StatusCode, tt.want, body)
			}
			if tt.want != 200 && (resp.Header.Get("X-Amzn-ErrorType") != "InvalidSignatureException" || !strings.Contains(string(body), tt.message)) {
				t.Fatalf("error %q %s, want InvalidSignatureException %q", resp.Header.Get("X-Amzn-ErrorType"), body, tt.message)
			}
		})
	}
}

func TestBedrockSigV4(t *testing.T) {
	s := StartT(t, Options{AWSAccessKeyID: testCreds.AccessKeyID, AWSSecretAccessKey: testCreds.SecretAccessKey})
	url := s.URL() + claudeModelPath + "/converse"
	now := time.Now()
	sessionCreds := testCreds
	sessionCreds.SessionToken = "session-token-1"
	tests := []struct {
		name      string
		creds     aws.Credentials
		at        time.Time
		tamper    func(*http.Request)
		want      int
		wantError string
	}{
		{"valid", testCreds, now, nil, 200, ""},
		{"valid with session token", sessionCreds, now, nil, 200, ""},
		{"valid 4 minutes old", testCreds, now.Add(-4 * time.Minute), nil, 200, ""},
		{"tampered body", testCreds, now, func(r *http.Request) {
			b := strings.Replace(converseBody, "hello", "HELLO", 1)
			r.Body = io.NopCloser(strings.NewReader(b))
		}, 403, "InvalidSignatureException"},
		{"tampered signed header", testCreds, now, func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") }, 403, "InvalidSignatureException"},
		{"tampered path", testCreds, now, func(r *http.Request) {
			r.URL.Path = "/model/other-model/converse"
			r.URL.RawPath = ""
		}, 403, "InvalidSignatureException"},
		{"wrong secret", aws.Credentials{AccessKeyID: testCreds.AccessKeyID, SecretAccessKey: "nope"}, now, nil, 403, "InvalidSignatureException"},
		{"unknown access key", aws.Credentials{AccessKeyID: "AKIAOTHER", SecretAccessKey: "x"}, now, nil, 403, "UnrecognizedClientException"},
		{"signed 6 minutes ago", testCreds, now.Add(-6 * time.Minute), nil, 403, "InvalidSignatureException"},
		{"signed 6 minutes ahead", testCreds, now.Add(6 * time.Minute), nil, 403, "InvalidSignatureException"},
		{"unsigned", testCreds, now, func(r *http.Request) { r.Header.Del("Authorization") }, 403, "MissingAuthenticationTokenException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, signedRequest(t, url, converseBody, tt.creds, tt.at, nil, tt.tamper))
			if resp.StatusCode != tt.want {
				t.Fatalf("status = %d, want %d: %s", resp.StatusCode, tt.want, body)
			}
			if tt.want == 200 {
				return
			}
			var e struct{ Message string }
			_ = json.Unmarshal(body, &e)
			if got := resp.Header.Get("X-Amzn-ErrorType"); got != tt.wantError || e.Message == "" {
				t.Errorf("x-amzn-ErrorType = %q message %q, want %q", got, e.Message, tt.wantError)
			}
			if tt.wantError == "InvalidSignatureException" && !strings.Contains(e.Message, "does not match") && !strings.Contains(e.Message, "Signature expired") {
				t.Errorf("message = %q", e.Message)
			}
		})
	}
}

func TestBedrockConverse(t *testing.T) {
	s := StartT(t, Options{})
	creds := aws.Credentials{AccessKeyID: DefaultAWSAccessKeyID, SecretAccessKey: DefaultAWSSecretAccessKey}
	tests := []struct {
		name     string
		body     string
		wantStop string
		wantText string
		wantTool string
	}{
		{"text", converseBody, "end_turn", "fake response to: hello bedrock", ""},
		{"tool asked", `{"messages":[{"role":"user","content":[{"text":"call tool please"}]}],"toolConfig":{"tools":[{"toolSpec":{"name":"get_weather","inputSchema":{"json":{"type":"object"}}}}]}}`, "tool_use", "", "get_weather"},
		{"tool forced", `{"messages":[{"role":"user","content":[{"text":"hi"}]}],"toolConfig":{"tools":[{"toolSpec":{"name":"a"}},{"toolSpec":{"name":"b"}}],"toolChoice":{"tool":{"name":"b"}}}}`, "tool_use", "", "b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, signedRequest(t, s.URL()+claudeModelPath+"/converse", tt.body, creds, time.Now(), nil, nil))
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			var out struct {
				Output struct {
					Message struct {
						Role    string `json:"role"`
						Content []struct {
							Text    *string `json:"text"`
							ToolUse *struct {
								ToolUseID string         `json:"toolUseId"`
								Name      string         `json:"name"`
								Input     map[string]any `json:"input"`
							} `json:"toolUse"`
						} `json:"content"`
					} `json:"message"`
				} `json:"output"`
				StopReason string  `json:"stopReason"`
				Usage      brUsage `json:"usage"`
				Metrics    *struct {
					LatencyMs *int64 `json:"latencyMs"`
				} `json:"metrics"`
			}
			if err := json.Unmarshal(body, &out); err != nil {
				t.Fatal(err)
			}
			if out.StopReason != tt.wantStop || out.Output.Message.Role != "assistant" || len(out.Output.Message.Content) != 1 {
				t.Fatalf("response = %s", body)
			}
			if out.Metrics == nil || out.Metrics.LatencyMs == nil || out.Usage.TotalTokens != out.Usage.InputTokens+out.Usage.OutputTokens || out.Usage.InputTokens == 0 {
				t.Errorf("usage/metrics = %s", body)
			}
			b := out.Output.Message.Content[0]
			if tt.wantTool != "" {
				if b.ToolUse == nil || b.ToolUse.Name != tt.wantTool || b.ToolUse.Input["query"] != "fake" || b.ToolUse.ToolUseID == "" {
					t.Errorf("toolUse = %s", body)
				}
			} else if b.Text == nil || *b.Text != tt.wantText {
				t.Errorf("text = %s", body)
			}
			if last, _ := s.Last(); last.Path != "/model/anthropic.claude-3-5-sonnet-20240620-v1:0/converse" {
				t.Errorf("recorded path = %q", last.Path)
			}
		})
	}
	// Faults use Bedrock's error shape.
	resp, body := do(t, signedRequest(t, s.URL()+claudeModelPath+"/converse", converseBody, creds, time.Now(), map[string]string{"x-fake-status": "429"}, nil))
	if resp.StatusCode != 429 || resp.Header.Get("X-Amzn-ErrorType") != "ThrottlingException" || !strings.Contains(string(body), `"message"`) {
		t.Errorf("429: %d %q %s", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), body)
	}
	resp, body = do(t, signedRequest(t, s.URL()+claudeModelPath+"/converse", converseBody, creds, time.Now(), map[string]string{"x-fake-error-message": "Input is too long for requested model."}, nil))
	if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-ErrorType") != "ValidationException" || !strings.Contains(string(body), "Input is too long") {
		t.Errorf("context window: %d %q %s", resp.StatusCode, resp.Header.Get("X-Amzn-ErrorType"), body)
	}
}

type decodedEvent struct {
	messageType, eventType, exceptionType, contentType string
	payload                                            map[string]any
}

// decodeEventStream reads eventstream frames with aws-sdk-go-v2's decoder
// until EOF or an error.
func decodeEventStream(r io.Reader) ([]decodedEvent, error) {
	dec := eventstream.NewDecoder()
	var out []decodedEvent
	for {
		msg, err := dec.Decode(r, nil)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		ev := decodedEvent{}
		get := func(name string) string {
			if v := msg.Headers.Get(name); v != nil {
				return v.String()
			}
			return ""
		}
		ev.messageType, ev.eventType, ev.exceptionType, ev.contentType = get(":message-type"), get(":event-type"), get(":exception-type"), get(":content-type")
		if err := json.Unmarshal(msg.Payload, &ev.payload); err != nil {
			return out, err
		}
		out = append(out, ev)
	}
}

func TestBedrockConverseStream(t *testing.T) {
	s := StartT(t, Options{StreamChunks: 3})
	creds := aws.Credentials{AccessKeyID: DefaultAWSAccessKeyID, SecretAccessKey: DefaultAWSSecretAccessKey}
	url := s.URL() + claudeModelPath + "/converse-stream"
	toolBody := `{"messages":[{"role":"user","content":[{"text":"call tool"}]}],"toolConfig":{"tools":[{"toolSpec":{"name":"get_weather"}}]}}`
	tests := []struct {
		name        string
		body        string
		headers     map[string]string
		wantTypes   string
		wantText    string
		wantInput   string
		wantStop    string
		wantReadErr bool
	}{
		{"text", converseBody, nil, "messageStart contentBlockDelta contentBlockDelta contentBlockDelta contentBlockStop messageStop metadata", "fake response to: hello bedrock", "", "end_turn", false},
		{"tool", toolBody, nil, "messageStart contentBlockStart contentBlockDelta contentBlockDelta contentBlockDelta contentBlockStop messageStop metadata", "", `{"query":"fake"}`, "tool_use", false},
		{"content filtered", converseBody, map[string]string{"x-fake-finish-reason": "content_filter"}, "messageStart contentBlockDelta contentBlockDelta contentBlockDelta contentBlockStop messageStop metadata", "fake response to: hello bedrock", "", "content_filtered", false},
		{"throttled mid-stream", converseBody, map[string]string{"x-fake-cut-after": "2", "x-fake-status": "429"}, "messageStart contentBlockDelta exception:throttlingException", "fake respo", "", "", false},
		{"cut", converseBody, map[string]string{"x-fake-cut-after": "2"}, "messageStart contentBlockDelta", "fake respo", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.DefaultClient.Do(signedRequest(t, url, tt.body, creds, time.Now(), tt.headers, nil))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/vnd.amazon.eventstream" {
				t.Fatalf("status %d type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			events, err := decodeEventStream(resp.Body)
			if (err != nil) != tt.wantReadErr {
				t.Fatalf("decode err = %v, want error %v", err, tt.wantReadErr)
			}
			var types []string
			var text, input strings.Builder
			stop := ""
			for _, ev := range events {
				if ev.contentType != "application/json" {
					t.Errorf("content-type = %q", ev.contentType)
				}
				if ev.messageType == "exception" {
					types = append(types, "exception:"+ev.exceptionType)
					if ev.payload["message"] == "" {
						t.Errorf("exception without message")
					}
					continue
				}
				if ev.messageType != "event" {
					t.Errorf("message-type = %q", ev.messageType)
				}
				types = append(types, ev.eventType)
				switch ev.eventType {
				case "contentBlockDelta":
					d := ev.payload["delta"].(map[string]any)
					if tx, ok := d["text"].(string); ok {
						text.WriteString(tx)
					}
					if tu, ok := d["toolUse"].(map[string]any); ok {
						input.WriteString(tu["input"].(string))
					}
				case "contentBlockStart":
					tu := ev.payload["start"].(map[string]any)["toolUse"].(map[string]any)
					if tu["name"] != "get_weather" || tu["toolUseId"] == "" {
						t.Errorf("contentBlockStart = %v", ev.payload)
					}
				case "messageStop":
					stop, _ = ev.payload["stopReason"].(string)
				case "metadata":
					u := ev.payload["usage"].(map[string]any)
					if u["inputTokens"].(float64) == 0 || u["totalTokens"].(float64) != u["inputTokens"].(float64)+u["outputTokens"].(float64) {
						t.Errorf("metadata = %v", ev.payload)
					}
					if _, ok := ev.payload["metrics"].(map[string]any)["latencyMs"]; !ok {
						t.Errorf("metadata lacks metrics.latencyMs: %v", ev.payload)
					}
				}
			}
			if got := strings.Join(types, " "); got != tt.wantTypes {
				t.Errorf("events = %s\nwant     %s", got, tt.wantTypes)
			}
			if text.String() != tt.wantText || input.String() != tt.wantInput || stop != tt.wantStop {
				t.Errorf("text %q input %q stop %q", text.String(), input.String(), stop)
			}
		})
	}
}

func TestBedrockInvokeEmbeddings(t *testing.T) {
	s := StartT(t, Options{EmbeddingDims: 5})
	creds := aws.Credentials{AccessKeyID: DefaultAWSAccessKeyID, SecretAccessKey: DefaultAWSSecretAccessKey}
	resp, body := do(t, signedRequest(t, s.URL()+"/model/amazon.titan-embed-text-v2%3A0/invoke", `{"inputText":"hello world","dimensions":3}`, creds, time.Now(), nil, nil))
	var titan struct {
		Embedding           []float64 `json:"embedding"`
		InputTextTokenCount int       `json:"inputTextTokenCount"`
	}
	if err := json.Unmarshal(body, &titan); err != nil || resp.StatusCode != 200 || len(titan.Embedding) != 3 || titan.InputTextTokenCount != 2 {
		t.Errorf("titan: %d %s", resp.StatusCode, body)
	}
	resp, body = do(t, signedRequest(t, s.URL()+"/model/cohere.embed-english-v3/invoke", `{"texts":["a","b c"],"input_type":"search_document"}`, creds, time.Now(), nil, nil))
	var cohere struct {
		Embeddings   [][]float64 `json:"embeddings"`
		ResponseType string      `json:"response_type"`
	}
	if err := json.Unmarshal(body, &cohere); err != nil || resp.StatusCode != 200 || len(cohere.Embeddings) != 2 || len(cohere.Embeddings[1]) != 5 || cohere.ResponseType != "embeddings_floats" {
		t.Errorf("cohere: %d %s", resp.StatusCode, body)
	}
	resp, _ = do(t, signedRequest(t, s.URL()+"/model/x/invoke", `{"prompt":"x"}`, creds, time.Now(), nil, nil))
	if resp.StatusCode != 400 {
		t.Errorf("unsupported invoke body: %d", resp.StatusCode)
	}
}
