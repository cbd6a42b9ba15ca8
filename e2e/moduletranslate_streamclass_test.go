package e2e

import (
	"fmt"
	"testing"
	"time"
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
		// The official SDK closes at the error chunk (D76: the ext_proc
		// path counts it too); then a client that reads to the end.
		streamErrorClients(t, g, "claude", "prompt is too long", "prompt is too long")
	}
	if r1, a1 := streamsByFilter(t, mod); r1 != r0 || a1 != a0 {
		t.Errorf("ext_proc streams opened: request filter %d, attempt filter %d; want none", r1-r0, a1-a0)
	}
	for _, c := range []struct {
		g    *Gateway
		want float64
	}{{mod, 2}, {ext, 2}} {
		mb := waitMetric(t, c.g, "litellm_deployment_failure_responses_total", c.want, `model_id="cw-deployment"`)
		// exception_status: LiteLLM's (its AnthropicError from a stream is a
		// 500) on both paths (D82; the ext_proc path reported 200, the
		// module 400).
		if got := metricSum(mb, "litellm_deployment_failure_responses_total", `model_id="cw-deployment"`, `exception_class="Anthropic.ContextWindowExceededError"`, `exception_status="500"`); got != c.want {
			t.Errorf("%s: context-window failures = %v, want %v\n%s", c.g.URL, got, c.want, grepLines(string(mb), "litellm_deployment_failure_responses_total"))
		}
	}
}
