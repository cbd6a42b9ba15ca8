package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// TestModuleStreamClientClosesAtDone (D71): the official OpenAI SDK closes
// its connection as soon as it reads `data: [DONE]`; when the provider's end
// of stream reaches Envoy after that close (it came a few milliseconds late
// under load: TestModuleTranslated's "usage in the outcomes" flake), Envoy
// resets the request and the stream never ends in the module's response
// side. The answer was whole for the client, so its outcome is a success
// with its usage — a translated (Anthropic) stream and a pass-through
// (OpenAI) one, whose providers here hold their end of stream 3 s after the
// last event, so that the client always closes first. Before D71 the
// record had no usage and no answering try: no tokens in /metrics.
func TestModuleStreamClientClosesAtDone(t *testing.T) {
	anthropic := []string{
		"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_cc1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-3-5-haiku-20241022\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":9,\"output_tokens\":1}}}\n\n",
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"hello\"}}\n\n",
		"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
		"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":5}}\n\n",
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
	}
	openaiEvents := []string{
		`data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":"hello"},"finish_reason":null}]}` + "\n\n",
		`data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}` + "\n\n",
		`data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}` + "\n\n",
		"data: [DONE]\n\n",
	}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		events := openaiEvents
		if strings.HasSuffix(r.URL.Path, "/v1/messages") {
			events = anthropic
		}
		w.Header().Set("content-type", "text/event-stream")
		w.WriteHeader(200)
		f := w.(http.Flusher)
		for _, ev := range events {
			_, _ = io.WriteString(w, ev)
			f.Flush()
		}
		// The end of stream comes late: the client has closed by then.
		select {
		case <-r.Context().Done():
		case <-time.After(3 * time.Second):
		}
	}))
	defer up.Close()
	cfg := fmt.Sprintf(`
model_list:
  - model_name: claude
    litellm_params: {model: anthropic/claude-3-5-haiku-20241022, api_base: %[1]s/a, api_key: sk-ant-cc}
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/v1, api_key: sk-oa-cc}
router_settings:
  num_retries: 0
  allowed_fails: 1000
litellm_settings:
  callbacks: ["prometheus"]
general_settings:
  master_key: %[2]s
`, up.URL, master)
	mod := startGatewayArgs(t, cfg, moduleArgs)
	waitLog(t, mod, "llmgate module: config")
	client := openai.NewClient(option.WithBaseURL(mod.URL+"/v1"), option.WithAPIKey(master), option.WithMaxRetries(0))
	const n = 3
	r0, a0 := streamsByFilter(t, mod)
	for i := 0; i < n; i++ {
		for _, model := range []string{"claude", "gpt"} {
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
		}
	}
	if r1, a1 := streamsByFilter(t, mod); r1 != r0 || a1 != a0 {
		t.Errorf("ext_proc streams opened: request filter %d, attempt filter %d; want none (the module serves these)", r1-r0, a1-a0)
	}
	var mb []byte
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		_, _, mb = do(t, "GET", mod.URL+"/metrics", master, "")
		if metricSum(mb, "litellm_output_tokens_metric_total") >= n*(5+3) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got, want := metricSum(mb, "litellm_input_tokens_metric_total"), float64(n*(9+7)); got != want {
		t.Errorf("litellm_input_tokens_metric_total = %v, want %v", got, want)
	}
	if got, want := metricSum(mb, "litellm_output_tokens_metric_total"), float64(n*(5+3)); got != want {
		t.Errorf("litellm_output_tokens_metric_total = %v, want %v", got, want)
	}
	if got, want := metricSum(mb, "litellm_deployment_success_responses_total"), float64(2*n); got != want {
		t.Errorf("litellm_deployment_success_responses_total = %v, want %v", got, want)
	}
	for _, m := range []string{"litellm_deployment_failure_responses_total", "litellm_proxy_failed_requests_metric_total", "litellm_deployment_cooled_down_total"} {
		if got := metricSum(mb, m); got != 0 {
			t.Errorf("%s = %v, want 0: a whole answer is a success", m, got)
		}
	}
}
