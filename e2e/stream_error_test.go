package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// TestPassThroughStreamError (D82): an OpenAI-compatible provider answers
// 200 and then sends `data: {"error": {...}}` inside the stream. Both fast
// paths — the module's response side and the ext_proc mode's Lua — read it
// and count the try as LiteLLM counts it: a failure (its stream wrapper
// raises the OpenAI SDK's APIError and hands it to the failure callbacks;
// "The server had an error processing your request." is its
// InternalServerError, 500) in litellm_deployment_failure_responses_total
// and the failed-requests metric, no success; and no cooldown, even with
// allowed_fails 0 (the SDK's APIError has no status, which LiteLLM's Router
// does not cool down for). The official SDK closes at the error chunk, before
// the provider's end of stream: counted too. No ext_proc stream opens. Before
// D82 both paths counted these streams as successes.
func TestPassThroughStreamError(t *testing.T) {
	const msg = "The server had an error processing your request. Sorry about that!"
	events := []string{
		"data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"hel\"},\"finish_reason\":null}]}\n\n",
		"data: {\"error\":{\"message\":\"" + msg + "\",\"type\":\"server_error\",\"param\":null,\"code\":null}}\n\n",
	}
	url := heldStreamProvider(t, 2*time.Second, func(string) []string { return events })
	cfg := fmt.Sprintf(`
model_list:
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/v1, api_key: sk-oa-se1}
    model_info: {id: se-a}
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/v1, api_key: sk-oa-se2}
    model_info: {id: se-b}
router_settings:
  num_retries: 0
  allowed_fails: 0
litellm_settings:
  callbacks: ["prometheus"]
general_settings:
  master_key: %[2]s
`, url, master)
	mod, ext := moduleAndExtProc(t, cfg)
	r0, a0 := streamsByFilter(t, mod)
	c0 := clusterExtProcStreams(t, ext)
	for _, g := range []*Gateway{mod, ext} {
		// A client that reads the stream to its end gets the event as sent.
		streamErrorClients(t, g, "gpt", "Sorry about that", `data: {"error":{"message":"`+msg)
	}
	if r1, a1 := streamsByFilter(t, mod); r1 != r0 || a1 != a0 {
		t.Errorf("module gateway: ext_proc streams opened: request filter %d, attempt filter %d; want none", r1-r0, a1-a0)
	}
	if c1 := clusterExtProcStreams(t, ext); c1 != c0 {
		t.Errorf("ext_proc gateway: attempt filter streams opened: %d; want none (the fast path serves these)", c1-c0)
	}
	for _, g := range []*Gateway{mod, ext} {
		mb := waitMetric(t, g, "litellm_deployment_failure_responses_total", 2)
		if got := metricSum(mb, "litellm_deployment_failure_responses_total", `exception_status="500"`, `exception_class="Openai.InternalServerError"`); got != 2 {
			t.Errorf("%s: failures = %v, want 2\n%s", g.URL, got, grepLines(string(mb), "litellm_deployment_failure_responses_total"))
		}
		if got := metricSum(mb, "litellm_proxy_failed_requests_metric_total", `exception_status="500"`); got != 2 {
			t.Errorf("%s: failed requests = %v, want 2\n%s", g.URL, got, grepLines(string(mb), "litellm_proxy_failed_requests_metric_total"))
		}
		for _, m := range []string{"litellm_deployment_success_responses_total", "litellm_deployment_cooled_down_total"} {
			if got := metricSum(mb, m); got != 0 {
				t.Errorf("%s: %s = %v, want 0", g.URL, m, got)
			}
		}
	}
}

// streamErrorClients reads a stream of model whose provider sends an error
// event: with the official openai-go client, which raises it (sdkErr in its
// error) and closes at it, then with a client that reads to the end and
// finds body in the 200 answer.
func streamErrorClients(t *testing.T, g *Gateway, model, sdkErr, body string) {
	t.Helper()
	client := openai.NewClient(option.WithBaseURL(g.URL+"/v1"), option.WithAPIKey(master), option.WithMaxRetries(0))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	s := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
	for s.Next() {
	}
	err := s.Err()
	cancel()
	if err == nil || !strings.Contains(err.Error(), sdkErr) {
		t.Errorf("%s: the SDK read no error: %v", g.URL, err)
	}
	code, _, b := do(t, "POST", g.URL+"/v1/chat/completions", master, chatBody(model, "hi", `"stream":true`))
	if code != 200 || !strings.Contains(string(b), body) {
		t.Errorf("%d %s", code, b)
	}
}

// waitMetric reads g's /metrics until the sum of name (over the series with
// the labels given) reaches want, 10 s at most, and returns the last read.
func waitMetric(t *testing.T, g *Gateway, name string, want float64, labels ...string) []byte {
	t.Helper()
	var mb []byte
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		_, _, mb = do(t, "GET", g.URL+"/metrics", master, "")
		if metricSum(mb, name, labels...) >= want {
			break
		}
	}
	return mb
}
