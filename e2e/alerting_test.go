package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestSlackAlerting: general_settings.alerting: ["slack"] posts LiteLLM's
// alerts as Slack messages to SLACK_WEBHOOK_URL, and outage alerts to
// their own alert_to_webhook_url: a request that fails for the client
// raises llm_exceptions with its call id, a response slower than
// alerting_threshold raises llm_too_slow, and the third failure of one
// deployment within outage_alert_ttl raises a minor outage — all while the
// requests themselves are answered as usual.
func TestSlackAlerting(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/bad/"}, Fault: fakeprovider.Fault{Status: 500}}); err != nil {
		t.Fatal(err)
	}
	if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/slow/"}, Fault: fakeprovider.Fault{Delay: 600 * time.Millisecond}}); err != nil {
		t.Fatal(err)
	}
	hook := newSlackReceiver(t)
	cfg := fmt.Sprintf(`
model_list:
  - model_name: bad
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/bad/v1, api_key: sk-fake}
    model_info: {id: bad-deployment}
  - model_name: slow
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/slow/v1, api_key: sk-fake}
router_settings:
  num_retries: 0
  allowed_fails: 100
general_settings:
  master_key: %[2]s
  alerting: ["slack"]
  alerting_threshold: 0.3
  alert_to_webhook_url:
    outage_alerts: %[3]s/outage
  alerting_args:
    outage_alert_ttl: 600
    minor_outage_alert_threshold: 3
`, fake.URL(), master, hook.URL)
	g := startGateway(t, cfg, "SLACK_WEBHOOK_URL="+hook.URL+"/slack")

	client := openai.NewClient(option.WithBaseURL(g.URL+"/v1"), option.WithAPIKey(master), option.WithMaxRetries(0))
	msgs := []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}
	var callIDs []string
	for i := 0; i < 3; i++ {
		var resp *http.Response
		_, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "bad", Messages: msgs}, option.WithResponseInto(&resp))
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 500 {
			t.Fatalf("bad %d: %v, want 500", i, err)
		}
		callIDs = append(callIDs, apiErr.Response.Header.Get("x-litellm-call-id"))
	}
	if _, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "slow", Messages: msgs}); err != nil {
		t.Fatalf("slow: %v", err)
	}

	deadline := time.Now().Add(20 * time.Second)
	for {
		slack, outage := hook.texts("/slack"), hook.texts("/outage")
		var problems []string
		for _, id := range callIDs {
			n := 0
			for _, m := range slack {
				if strings.Contains(m, "LLM API call failed: `litellm.InternalServerError") && strings.Contains(m, id) && strings.HasPrefix(m, "Level: `High`") {
					n++
				}
			}
			if id == "" || n != 1 {
				problems = append(problems, fmt.Sprintf("call %q: %d llm_exceptions alerts, want 1", id, n))
			}
		}
		slow := 0
		for _, m := range slack {
			if strings.Contains(m, "Responses are slow - ") && strings.Contains(m, "> Alerting threshold: 0.3s") && strings.Contains(m, "Model: `slow`") {
				slow++
			}
		}
		if slow != 1 {
			problems = append(problems, fmt.Sprintf("%d llm_too_slow alerts, want 1", slow))
		}
		if len(outage) != 1 || !strings.Contains(outage[0], "Minor Service Outage: 3 errors") || !strings.Contains(outage[0], "bad-deployment") {
			problems = append(problems, fmt.Sprintf("outage webhook got %q, want one minor outage of bad-deployment", outage))
		}
		for _, m := range outage {
			if strings.Contains(m, "LLM API call failed") {
				problems = append(problems, "an llm_exceptions alert went to the outage webhook")
			}
		}
		if len(problems) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alerts:\n%s\nslack messages:\n%s", strings.Join(problems, "\n"), strings.Join(slack, "\n---\n"))
		}
		time.Sleep(200 * time.Millisecond)
	}

	// LiteLLM's test of the integration: one test alert per alert type on,
	// each to its own webhook; behind the key; other services are refused.
	if code, _, b := do(t, "GET", g.URL+"/health/services?service=slack", "", ""); code != 401 {
		t.Errorf("/health/services without a key: %d %s", code, b)
	}
	code, _, b := do(t, "GET", g.URL+"/health/services?service=slack", master, "")
	var hs struct {
		Status     string   `json:"status"`
		AlertTypes []string `json:"alert_types"`
		Message    string   `json:"message"`
	}
	if err := json.Unmarshal(b, &hs); code != 200 || err != nil || hs.Status != "success" || !slices.Contains(hs.AlertTypes, "llm_exceptions") ||
		!strings.HasPrefix(hs.Message, "Mock Slack Alert sent") {
		t.Fatalf("/health/services?service=slack: %d %s", code, b)
	}
	if code, _, b := do(t, "GET", g.URL+"/health/services?service=datadog", master, ""); code != 422 || !strings.Contains(string(b), `"error"`) {
		t.Errorf("/health/services?service=datadog: %d %s, want 422 OpenAI error JSON", code, b)
	}
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		slack, outage := strings.Join(hook.texts("/slack"), "\n"), strings.Join(hook.texts("/outage"), "\n")
		if strings.Contains(slack, "Message: LLM Exception test alert") && strings.Contains(outage, "Message: Outage Alert Exception test alert") &&
			!strings.Contains(slack, "Outage Alert Exception test alert") {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("test alerts not delivered as routed:\nslack: %s\noutage: %s", slack, outage)
		}
	}
}

// slackReceiver is a Slack incoming-webhook receiver on 127.0.0.1 that
// keeps each message's text by path (a message without text fails the test).
type slackReceiver struct {
	*httptest.Server
	mu  sync.Mutex
	got map[string][]string
}

func newSlackReceiver(t *testing.T) *slackReceiver {
	s := &slackReceiver{got: map[string][]string{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil || m["text"] == "" {
			t.Errorf("webhook got %s, want a Slack message", b)
		}
		s.mu.Lock()
		s.got[r.URL.Path] = append(s.got[r.URL.Path], m["text"])
		s.mu.Unlock()
	}))
	t.Cleanup(s.Close)
	return s
}

// texts are the messages posted to path so far.
func (s *slackReceiver) texts(path string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.got[path]...)
}
