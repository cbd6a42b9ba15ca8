package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// retryPolicyConfig: one group of two deployments that the test makes fail
// with one error class at a time. num_retries would allow 5 retries; each
// class's retry_policy count is different, so the fake's call count shows
// which count was applied (5xx included: Envoy does not retry a 5xx the
// attempt filter did not mark). Cooldowns are off so that the plan stays a, b, a, …
func retryPolicyConfig(fake string) string {
	return fmt.Sprintf(`
model_list:
  - model_name: rp
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/rp-a/v1, api_key: k}
  - model_name: rp
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/rp-b/v1, api_key: k}
router_settings:
  num_retries: 5
  disable_cooldowns: true
  retry_policy:
    RateLimitErrorRetries: 3
    AuthenticationErrorRetries: 2
    NotFoundErrorRetries: 1
    ContentPolicyViolationErrorRetries: 4
    BadRequestErrorRetries: 0
    InternalServerErrorRetries: 1
    TimeoutErrorRetries: 1
general_settings:
  master_key: %[2]s
`, fake, master)
}

// TestRetryPolicyCallCounts: the provider sees exactly 1 + the class's
// retry_policy count of calls, and the client gets the class's error.
func TestRetryPolicyCallCounts(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, retryPolicyConfig(fake.URL()))
	tests := []struct {
		name    string
		fault   fakeprovider.Fault
		calls   int64
		status  int
		errType string
	}{
		{"429 RateLimitErrorRetries 3", fakeprovider.Fault{Status: 429}, 4, 429, ""},
		{"401 AuthenticationErrorRetries 2", fakeprovider.Fault{Status: 401}, 3, 401, ""},
		{"404 NotFoundErrorRetries 1", fakeprovider.Fault{Status: 404}, 2, 404, ""},
		{"content policy ContentPolicyViolationErrorRetries 4", fakeprovider.Fault{Status: 400, ErrorMessage: "Your request was rejected as a result of our safety system (content_policy_violation)"}, 5, 400, ""},
		{"500 InternalServerErrorRetries 1", fakeprovider.Fault{Status: 500}, 2, 500, ""},
		{"408 TimeoutErrorRetries 1", fakeprovider.Fault{Status: 408}, 2, 408, ""},
		{"400 BadRequestErrorRetries 0", fakeprovider.Fault{Status: 400, ErrorMessage: "Invalid value for 'temperature'"}, 1, 400, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake.Reset()
			fake.ClearRules()
			if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/rp-"}, Fault: tc.fault}); err != nil {
				t.Fatal(err)
			}
			r := send(g.URL, chatBody("rp", "retry policy"))
			if r.err != nil || r.code != tc.status {
				t.Fatalf("client got %v, want status %d", r, tc.status)
			}
			var e struct {
				Error struct {
					Message string `json:"message"`
				} `json:"error"`
			}
			if json.Unmarshal(r.body, &e) != nil || e.Error.Message == "" {
				t.Fatalf("not OpenAI error JSON: %s", r.body)
			}
			a, b := fake.Count("/rp-a"), fake.Count("/rp-b")
			if a+b != tc.calls {
				t.Fatalf("provider calls a=%d b=%d, want %d in all", a, b, tc.calls)
			}
			if tc.calls > 1 && (a == 0 || b == 0) {
				t.Fatalf("retries stayed on one deployment: a=%d b=%d", a, b)
			}
		})
	}
}

// finishConfig: one deployment per provider family on the fake.
func finishConfig(fake string) string {
	return fmt.Sprintf(`
model_list:
  - model_name: oai
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/fin-oai/v1, api_key: k}
  - model_name: claude
    litellm_params: {model: anthropic/claude-3-5-sonnet-20241022, api_base: %[1]s/fin-ant, api_key: k}
  - model_name: bedrock
    litellm_params: {model: bedrock/anthropic.claude-3-haiku-20240307-v1:0, api_base: %[1]s, aws_access_key_id: %[3]s, aws_secret_access_key: %[4]s, aws_region_name: us-east-1}
  - model_name: gemini
    litellm_params: {model: gemini/gemini-2.0-flash, api_base: %[1]s/fin-gem, api_key: k}
  - model_name: cohere
    litellm_params: {model: cohere/command-r-plus, api_base: %[1]s/fin-co, api_key: k}
general_settings:
  master_key: %[2]s
`, fake, master, fakeprovider.DefaultAWSAccessKeyID, fakeprovider.DefaultAWSSecretAccessKey)
}

// streamFinish reads an OpenAI SSE body: the last non-null finish_reason and
// whether it ended with [DONE].
func streamFinish(body []byte) (finish string, done bool) {
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if data == "[DONE]" {
			done = true
			continue
		}
		var c struct {
			Choices []struct {
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
		}
		if json.Unmarshal([]byte(data), &c) == nil {
			for _, ch := range c.Choices {
				if ch.FinishReason != nil {
					finish = *ch.FinishReason
				}
			}
		}
	}
	return finish, done
}

// TestStreamedFinishReason: each provider's stop reason reaches a streaming
// client as OpenAI's finish_reason: length, content_filter (where the
// provider has one: Cohere v2 has none), tool_calls (the model calls a
// tool) and stop.
func TestStreamedFinishReason(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, finishConfig(fake.URL()))
	tools := `"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],"tool_choice":"required"`
	for _, group := range []string{"oai", "claude", "bedrock", "gemini", "cohere"} {
		for _, finish := range []string{"stop", "length", "content_filter", "tool_calls"} {
			if group == "cohere" && finish == "content_filter" {
				continue
			}
			t.Run(group+"/"+finish, func(t *testing.T) {
				fake.ClearRules()
				body := chatBody(group, "finish", `"stream":true`)
				if finish == "tool_calls" {
					body = chatBody(group, "finish", `"stream":true`, tools)
				} else if err := fake.AddRule(fakeprovider.Rule{Fault: fakeprovider.Fault{FinishReason: finish}}); err != nil {
					t.Fatal(err)
				}
				r := send(g.URL, body)
				if r.err != nil || r.code != 200 {
					t.Fatalf("got %v", r)
				}
				got, done := streamFinish(r.body)
				if got != finish || !done {
					t.Fatalf("finish_reason %q (stream ended with [DONE]: %v), want %q:\n%s", got, done, finish, r.body)
				}
			})
		}
	}
}
