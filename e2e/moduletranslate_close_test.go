package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// closeAtDoneAnthropic and closeAtDoneOpenAI are the provider streams of the
// close-at-[DONE] tests: an Anthropic stream of 9 + 5 tokens and an OpenAI
// one of 7 + 3 with its usage chunk.
var (
	closeAtDoneAnthropic = []string{
		"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_cc1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-3-5-haiku-20241022\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":9,\"output_tokens\":1}}}\n\n",
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"hello\"}}\n\n",
		"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
		"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":5}}\n\n",
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
	}
	closeAtDoneOpenAI = []string{
		`data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":"hello"},"finish_reason":null}]}` + "\n\n",
		`data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\n",
		`data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}` + "\n\n",
		"data: [DONE]\n\n",
	}
)

// heldStreamProvider is a provider that answers every request with the
// SSE events of events(path) and then holds its end of stream for hold (or
// until the client is gone): a client that closes at [DONE] or at an error
// chunk always closes first.
func heldStreamProvider(t *testing.T, hold time.Duration, events func(path string) []string) string {
	t.Helper()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		w.Header().Set("content-type", "text/event-stream")
		w.WriteHeader(200)
		f := w.(http.Flusher)
		for _, ev := range events(r.URL.Path) {
			_, _ = io.WriteString(w, ev)
			f.Flush()
		}
		select {
		case <-r.Context().Done():
		case <-time.After(hold):
		}
	}))
	t.Cleanup(up.Close)
	return up.URL
}

// countedConfig is a config of the deployments of modelList with no
// retries, no cooldown and the Prometheus metrics the tests read.
func countedConfig(modelList string) string {
	return fmt.Sprintf(`
model_list:
%s
router_settings:
  num_retries: 0
  allowed_fails: 1000
litellm_settings:
  callbacks: ["prometheus"]
general_settings:
  master_key: %s
`, modelList, master)
}

// closeAtDoneSetup starts a provider whose streams hold their end of stream
// 3 s after the last event and returns a config with an Anthropic
// deployment (claude) and an OpenAI one (gpt) on it.
func closeAtDoneSetup(t *testing.T) (cfg string) {
	t.Helper()
	url := heldStreamProvider(t, 3*time.Second, func(path string) []string {
		if strings.HasSuffix(path, "/v1/messages") {
			return closeAtDoneAnthropic
		}
		return closeAtDoneOpenAI
	})
	return countedConfig(fmt.Sprintf(`  - model_name: claude
    litellm_params: {model: anthropic/claude-3-5-haiku-20241022, api_base: %[1]s/a, api_key: sk-ant-cc}
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/v1, api_key: sk-oa-cc}`, url))
}

// streamClosingAtDone reads n streams of each model with the official
// openai-go client (which closes at [DONE]), calls streamed, and then checks
// /metrics: each stream's tokens (claude 9 + 5, gpt 7 + 3) and one success
// each, no failure, no cooldown.
func streamClosingAtDone(t *testing.T, g *Gateway, n int, streamed func(), models ...string) {
	t.Helper()
	client := openai.NewClient(option.WithBaseURL(g.URL+"/v1"), option.WithAPIKey(master), option.WithMaxRetries(0))
	var in, out float64
	for i := 0; i < n; i++ {
		for _, model := range models {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			s := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: model,
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
			var acc openai.ChatCompletionAccumulator
			for s.Next() {
				acc.AddChunk(s.Current())
			}
			if err := s.Err(); err != nil || len(acc.Choices) != 1 || acc.Choices[0].Message.Content != "hello" || acc.Choices[0].FinishReason != "stop" {
				t.Fatalf("%s: stream %+v, %v", model, acc.Choices, err)
			}
			cancel()
			if model == "claude" {
				in, out = in+9, out+5
			} else {
				in, out = in+7, out+3
			}
		}
	}
	streamed() // before /metrics: its GETs go through the request filter
	var mb []byte
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		_, _, mb = do(t, "GET", g.URL+"/metrics", master, "")
		if metricSum(mb, "litellm_output_tokens_metric_total") >= out {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := metricSum(mb, "litellm_input_tokens_metric_total"); got != in {
		t.Errorf("litellm_input_tokens_metric_total = %v, want %v", got, in)
	}
	if got := metricSum(mb, "litellm_output_tokens_metric_total"); got != out {
		t.Errorf("litellm_output_tokens_metric_total = %v, want %v", got, out)
	}
	if got, want := metricSum(mb, "litellm_deployment_success_responses_total"), float64(len(models)*n); got != want {
		t.Errorf("litellm_deployment_success_responses_total = %v, want %v", got, want)
	}
	for _, m := range []string{"litellm_deployment_failure_responses_total", "litellm_proxy_failed_requests_metric_total", "litellm_deployment_cooled_down_total"} {
		if got := metricSum(mb, m); got != 0 {
			t.Errorf("%s = %v, want 0: a whole answer is a success", m, got)
		}
	}
}

// TestModuleStreamClientClosesAtDone (D71): the official OpenAI SDK closes
// its connection as soon as it reads `data: [DONE]`; when the provider's end
// of stream reaches Envoy after that close (it came a few milliseconds late
// under load: TestModuleTranslated's "usage in the outcomes" flake), Envoy
// resets the request and the stream never ends in the module's response
// side. The answer was whole for the client, so its outcome is a success
// with its usage — a translated (Anthropic) stream and a pass-through
// (OpenAI) one. Before D71 the record had no usage and no answering try: no
// tokens in /metrics.
func TestModuleStreamClientClosesAtDone(t *testing.T) {
	mod := startGatewayArgs(t, closeAtDoneSetup(t), moduleArgs)
	waitLog(t, mod, "llmgate module: config")
	r0, a0 := streamsByFilter(t, mod)
	streamClosingAtDone(t, mod, 3, func() {
		if r1, a1 := streamsByFilter(t, mod); r1 != r0 || a1 != a0 {
			t.Errorf("ext_proc streams opened: request filter %d, attempt filter %d; want none (the module serves these)", r1-r0, a1-a0)
		}
	}, "claude", "gpt")
}

// TestExtProcStreamClientClosesAtDone (D76): the same race on the ext_proc
// mode's fast path, whose response side is the listener's Lua filter
// (xds.FastPathLua): a pass-through stream the official SDK closes at
// [DONE] before the provider's end of stream. The Lua now records the usage
// and marks the answer whole when [DONE] passes, and the outcome log reports
// the try as answered; before D76 the request's entry had no usage and its
// try, cut by the client (DC), was not reported: no tokens, no success.
func TestExtProcStreamClientClosesAtDone(t *testing.T) {
	ext := startGatewayArgs(t, closeAtDoneSetup(t), extProcArgs)
	a0 := clusterExtProcStreams(t, ext)
	streamClosingAtDone(t, ext, 3, func() {
		if a1 := clusterExtProcStreams(t, ext); a1 != a0 {
			t.Errorf("attempt filter streams opened: %d; want none (the fast path serves these)", a1-a0)
		}
	}, "gpt")
}

// clusterExtProcStreams is the ext_proc streams the clusters' attempt
// filters started (the ext_proc mode's per-cluster filters).
func clusterExtProcStreams(t *testing.T, g *Gateway) int {
	t.Helper()
	n := 0
	for _, m := range regexp.MustCompile(`cluster\.\S+\.ext_proc\.streams_started: (\d+)`).FindAllStringSubmatch(adminGet(t, g, "/stats?filter=ext_proc.*streams_started"), -1) {
		v, _ := strconv.Atoi(m[1])
		n += v
	}
	return n
}
