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

// TestModuleTranslatedStreamErrorClass (D71): a translated stream whose
// provider sends an error inside it is reported with the translator's class,
// read from the message as the attempt filter reads it — Anthropic's 400
// "prompt is too long" is a context-window error, not a bad request — on the
// module's path as on the ext_proc one; a stream the official SDK reads (it
// closes its connection at the error chunk, before the provider's end of
// stream) counts too. Before D71 the module's record was classified by its
// status alone (BadRequestError), and the SDK's stream was not counted.
// Since D82 both paths report LiteLLM's exception_status for it, 500.
func TestModuleTranslatedStreamErrorClass(t *testing.T) {
	events := []string{"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_cw\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-3-5-haiku-20241022\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":9,\"output_tokens\":1}}}\n\n" +
		"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"prompt is too long: 210000 tokens > 200000 maximum\"}}\n\n"}
	url := heldStreamProvider(t, 2*time.Second, func(string) []string { return events })
	mod, ext := moduleAndExtProc(t, countedConfig(fmt.Sprintf(`  - model_name: claude
    litellm_params: {model: anthropic/claude-3-5-haiku-20241022, api_base: %s/a, api_key: sk-ant-cw}
    model_info: {id: cw-deployment}`, url)))
	r0, a0 := streamsByFilter(t, mod)
	for _, g := range []*Gateway{mod, ext} {
		// The official SDK: it closes at the error chunk (D76: the ext_proc
		// path counts it too).
		client := openai.NewClient(option.WithBaseURL(g.URL+"/v1"), option.WithAPIKey(master), option.WithMaxRetries(0))
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		s := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "claude",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
		for s.Next() {
		}
		err := s.Err()
		cancel()
		if err == nil || !strings.Contains(err.Error(), "prompt is too long") {
			t.Errorf("%s: the SDK read no error: %v", g.URL, err)
		}
		// A client that reads the stream to its end.
		code, _, b := do(t, "POST", g.URL+"/v1/chat/completions", master, chatBody("claude", "hi", `"stream":true`))
		if code != 200 || !strings.Contains(string(b), "prompt is too long") {
			t.Errorf("%d %s", code, b)
		}
	}
	if r1, a1 := streamsByFilter(t, mod); r1 != r0 || a1 != a0 {
		t.Errorf("ext_proc streams opened: request filter %d, attempt filter %d; want none", r1-r0, a1-a0)
	}
	for _, c := range []struct {
		g    *Gateway
		want float64
	}{{mod, 2}, {ext, 2}} {
		var mb []byte
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			_, _, mb = do(t, "GET", c.g.URL+"/metrics", master, "")
			if metricSum(mb, "litellm_deployment_failure_responses_total", `model_id="cw-deployment"`) >= c.want {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		// exception_status: LiteLLM's (its AnthropicError from a stream is a
		// 500) on both paths (D82; the ext_proc path reported 200, the
		// module 400).
		if got := metricSum(mb, "litellm_deployment_failure_responses_total", `model_id="cw-deployment"`, `exception_class="Anthropic.ContextWindowExceededError"`, `exception_status="500"`); got != c.want {
			t.Errorf("%s: context-window failures = %v, want %v\n%s", c.g.URL, got, c.want, grepLines(string(mb), "litellm_deployment_failure_responses_total"))
		}
	}
}
