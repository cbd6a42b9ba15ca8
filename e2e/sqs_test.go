package e2e

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// fakeSQS is SQS's JSON protocol as aws-sdk-go-v2 speaks it (POST /,
// Content-Type application/x-amz-json-1.0, X-Amz-Target
// AmazonSQS.SendMessage or AmazonSQS.SendMessageBatch): it checks the
// SigV4 headers (credential scope of the access key, region and service
// sqs; X-Amz-Date) and the queue URL, keeps each message body and answers
// as SQS does, with each body's MD5 (which the SDK checks).
type fakeSQS struct {
	queueURL, accessKey, region string

	mu     sync.Mutex
	bodies []string
	bad    []string
	posts  int
}

var sigV4Auth = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=[0-9a-f]{64}$`)

func (f *fakeSQS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	fail := func(format string, a ...any) {
		f.bad = append(f.bad, fmt.Sprintf(format, a...))
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(400)
		_, _ = io.WriteString(w, `{"__type":"com.amazonaws.sqs#InvalidParameterValue","message":"bad request"}`)
	}
	m := sigV4Auth.FindStringSubmatch(r.Header.Get("Authorization"))
	switch {
	case r.Method != http.MethodPost || r.URL.Path != "/":
		fail("%s %s", r.Method, r.URL.Path)
		return
	case r.Header.Get("Content-Type") != "application/x-amz-json-1.0":
		fail("Content-Type %q", r.Header.Get("Content-Type"))
		return
	case m == nil || m[1] != f.accessKey || m[3] != f.region || m[4] != "sqs" || !strings.Contains(m[5], "x-amz-date") || !strings.Contains(m[5], "host"):
		fail("Authorization %q", r.Header.Get("Authorization"))
		return
	case len(r.Header.Get("X-Amz-Date")) != len("20261130T065000Z") || !strings.HasPrefix(r.Header.Get("X-Amz-Date"), m[2]):
		fail("X-Amz-Date %q (scope date %s)", r.Header.Get("X-Amz-Date"), m[2])
		return
	}
	type entry struct {
		ID          string `json:"Id"`
		MessageBody string
	}
	var in struct {
		QueueURL string `json:"QueueUrl"`
		Entries  []entry
		entry
	}
	if err := json.Unmarshal(body, &in); err != nil || in.QueueURL != f.queueURL {
		fail("body %s: %v", body, err)
		return
	}
	sum := func(s string) string { h := md5.Sum([]byte(s)); return hex.EncodeToString(h[:]) }
	f.posts++
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	switch r.Header.Get("X-Amz-Target") {
	case "AmazonSQS.SendMessage":
		f.bodies = append(f.bodies, in.MessageBody)
		_ = json.NewEncoder(w).Encode(map[string]string{"MessageId": fmt.Sprintf("m-%d", len(f.bodies)), "MD5OfMessageBody": sum(in.MessageBody)})
	case "AmazonSQS.SendMessageBatch":
		if len(in.Entries) == 0 || len(in.Entries) > 10 {
			fail("%d entries", len(in.Entries))
			return
		}
		var ok []map[string]string
		for _, e := range in.Entries {
			f.bodies = append(f.bodies, e.MessageBody)
			ok = append(ok, map[string]string{"Id": e.ID, "MessageId": fmt.Sprintf("m-%d", len(f.bodies)), "MD5OfMessageBody": sum(e.MessageBody)})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"Successful": ok, "Failed": []any{}})
	default:
		fail("X-Amz-Target %q", r.Header.Get("X-Amz-Target"))
	}
}

// wait returns the message bodies once there are n (waitReceived).
func (f *fakeSQS) wait(t *testing.T, g *Gateway, n int) []string {
	t.Helper()
	return waitReceived(t, g, "SQS messages (one per request)", n, func() ([]string, []string) {
		f.mu.Lock()
		defer f.mu.Unlock()
		return append([]string(nil), f.bodies...), append([]string(nil), f.bad...)
	})
}

// TestSQSCallback (D158): callbacks: [aws_sqs] with aws_sqs_callback_params
// (os.environ/ references) sends each client request's
// StandardLoggingPayload as one SQS message, through aws-sdk-go-v2's
// SendMessageBatch, signed with the configured key and region, off the
// request path: a success with its usage and cost, a failure with its
// error, matched by call id; no provider key in any message.
func TestSQSCallback(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	q := &fakeSQS{accessKey: "AKIDSQSTEST", region: "eu-west-3"}
	srv := httptest.NewServer(q)
	defer srv.Close()
	q.queueURL = srv.URL + "/123456789012/llm-logs"
	if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/broken/"}, Fault: fakeprovider.Fault{Status: 500}}); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`
model_list:
  - model_name: good
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/v1, api_key: sk-provider-secret}
  - model_name: bad
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/broken/v1, api_key: sk-provider-secret}
router_settings:
  num_retries: 0
litellm_settings:
  callbacks: ["aws_sqs"]
  aws_sqs_callback_params:
    sqs_queue_url: os.environ/SQS_QUEUE_URL
    sqs_region_name: eu-west-3
    sqs_aws_access_key_id: AKIDSQSTEST
    sqs_aws_secret_access_key: os.environ/SQS_SECRET
    sqs_flush_interval: 1
general_settings:
  master_key: %[2]s
`, fake.URL(), master)
	g := startGateway(t, cfg, "SQS_QUEUE_URL="+q.queueURL, "SQS_SECRET=sqs-secret-value")

	client := openai.NewClient(option.WithBaseURL(g.URL+"/v1"), option.WithAPIKey(master), option.WithMaxRetries(0))
	msgs := []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}
	want := map[string]string{} // call id → status
	var raw *http.Response
	if _, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "good", Messages: msgs}, option.WithResponseInto(&raw)); err != nil {
		t.Fatalf("good: %v", err)
	}
	want[raw.Header.Get("x-litellm-call-id")] = "success"
	_, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "bad", Messages: msgs})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 500 {
		t.Fatalf("bad: %v, want 500", err)
	}
	want[apiErr.Response.Header.Get("x-litellm-call-id")] = "failure"
	if len(want) != 2 || want[""] != "" {
		t.Fatalf("call ids: %v", want)
	}

	for _, b := range q.wait(t, g, 2) {
		var p map[string]any
		if err := json.Unmarshal([]byte(b), &p); err != nil {
			t.Fatalf("message body is not a StandardLoggingPayload: %v\n%s", err, b)
		}
		id, _ := p["id"].(string)
		status, ok := want[id]
		if !ok {
			t.Errorf("message for an unknown call id %q", id)
			continue
		}
		delete(want, id)
		if p["status"] != status || p["call_type"] != "acompletion" || p["model_group"] != map[string]string{"success": "good", "failure": "bad"}[status] {
			t.Errorf("message %s: status %v (want %s), call_type %v, model_group %v", id, p["status"], status, p["call_type"], p["model_group"])
		}
		cost, _ := p["response_cost"].(float64)
		tokens, _ := p["total_tokens"].(float64)
		if status == "success" && (cost <= 0 || tokens <= 0 || p["error_str"] != nil) {
			t.Errorf("success message %s: response_cost %v, total_tokens %v, error_str %v", id, p["response_cost"], p["total_tokens"], p["error_str"])
		}
		if es, _ := p["error_str"].(string); status == "failure" && es == "" {
			t.Errorf("failure message %s: no error_str", id)
		}
		if strings.Contains(b, "sk-provider-secret") || strings.Contains(b, "sqs-secret-value") {
			t.Errorf("message %s carries a secret", id)
		}
	}
}
