package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

func fallbackConfig(fake string) string {
	return fmt.Sprintf(`
model_list:
  - model_name: azure-group
    litellm_params: {model: azure/gpt4-dep, api_base: %[1]s/az, api_key: az-key, api_version: "2024-06-01"}
  - model_name: claude-group
    litellm_params: {model: anthropic/claude-3-5-sonnet-20241022, api_base: %[1]s, api_key: ant-key}
  - model_name: chain
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/chain/v1, api_key: k}
  - model_name: deep
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/deep/v1, api_key: k}
  - model_name: fb-bad
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/fb-bad/v1, api_key: k}
  - model_name: fb-bad2
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/fb-bad2/v1, api_key: k}
  - model_name: fb-good
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/fb-good/v1, api_key: k}
  - model_name: fb-unused
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/fb-unused/v1, api_key: k}
  - model_name: plain-bad
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/plain-bad/v1, api_key: k}
  - model_name: default-good
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/default-good/v1, api_key: k}
  - model_name: small
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/small/v1, api_key: k}
    model_info: {max_input_tokens: 50}
  - model_name: big
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/big/v1, api_key: k}
router_settings:
  num_retries: 1
  max_fallbacks: 2
  enable_pre_call_checks: true
  fallbacks:
    - {"azure-group": ["claude-group"]}
    - {"chain": ["fb-bad", "fb-good", "fb-unused"]}
    - {"deep": ["fb-bad", "fb-bad2", "fb-good"]}
  default_fallbacks: ["default-good"]
  context_window_fallbacks: [{"small": ["big"]}]
general_settings:
  master_key: %[2]s
`, fake, master)
}

// longPrompt is far over 50 tokens in any tokenizer.
var longPrompt = strings.Repeat("the quick brown fox jumps over the lazy dog ", 40)

// TestRouterFallbacks: fallbacks to other model groups, across wire formats,
// in order, up to max_fallbacks; client-side fallbacks, default_fallbacks,
// and the context-window fallback chosen by the pre-call check.
func TestRouterFallbacks(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, fallbackConfig(fake.URL()))
	fail := func(t *testing.T, prefix string, status int, msg string) {
		t.Helper()
		must(t, fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: prefix}, Fault: fakeprovider.Fault{Status: status, ErrorMessage: msg}}))
	}
	reset := func(t *testing.T) {
		fake.Reset()
		fake.ClearRules()
		t.Cleanup(fake.ClearRules)
	}
	// Anthropic requests reach the fake at /v1/messages (every other
	// deployment has a path prefix).
	const anthropicPath = "/v1/messages"

	t.Run("azure group falls back to the anthropic group", func(t *testing.T) {
		reset(t)
		fail(t, "/az/", 500, "azure is down")
		r := send(g.URL, chatBody("azure-group", "fall back please"))
		if r.err != nil || r.code != 200 {
			t.Fatalf("%s", r)
		}
		var resp struct {
			Object  string `json:"object"`
			Choices []struct {
				Message struct{ Content string } `json:"message"`
			} `json:"choices"`
		}
		if err := json.Unmarshal(r.body, &resp); err != nil || len(resp.Choices) == 0 {
			t.Fatalf("not an OpenAI chat completion: %s", r.body)
		}
		if got := resp.Choices[0].Message.Content; got != fakeprovider.ReplyPrefix+"fall back please" {
			t.Errorf("content = %q, want the Anthropic fake's answer translated", got)
		}
		if got := fake.Count("/az/"); got != 2 {
			t.Errorf("azure deployment got %d calls, want 1 + num_retries (1) = 2", got)
		}
		if got := fake.Count(anthropicPath); got != 1 {
			t.Errorf("anthropic fallback got %d calls, want 1; counts %v", got, fake.Counts())
		}
		if got := r.hdr.Get("x-litellm-model-group"); got != "claude-group" {
			t.Errorf("x-litellm-model-group = %q, want claude-group", got)
		}
		if got := r.hdr.Get("x-litellm-attempted-fallbacks"); got != "1" {
			t.Errorf("x-litellm-attempted-fallbacks = %q, want 1", got)
		}
		// LiteLLM counts retries within the model group call that answered
		// (async_function_with_retries): the fallback answered at its first try.
		if got := r.hdr.Get("x-litellm-attempted-retries"); got != "0" {
			t.Errorf("GATEWAY BUG: x-litellm-attempted-retries = %q on a fallback that answered at its first try, "+
				"want 0 (LiteLLM counts the retries of the group that answered; the gateway counts every Envoy try)", got)
		}
	})

	t.Run("azure group falls back to the anthropic group, streamed, with openai-go", func(t *testing.T) {
		reset(t)
		fail(t, "/az/", 500, "azure is down")
		client := newClient(g, master)
		var raw *http.Response
		stream := client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{
			Model:    "azure-group",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("stream the fallback")},
		}, option.WithResponseInto(&raw))
		var acc openai.ChatCompletionAccumulator
		for stream.Next() {
			acc.AddChunk(stream.Current())
		}
		if err := stream.Err(); err != nil {
			t.Fatalf("stream: %v", err)
		}
		if len(acc.Choices) == 0 || acc.Choices[0].Message.Content != fakeprovider.ReplyPrefix+"stream the fallback" {
			t.Errorf("streamed content = %+v", acc.Choices)
		}
		if fake.Count(anthropicPath) != 1 {
			t.Errorf("anthropic fallback got %d calls; counts %v", fake.Count(anthropicPath), fake.Counts())
		}
		if raw != nil && raw.Header.Get("x-litellm-attempted-fallbacks") != "1" {
			t.Errorf("x-litellm-attempted-fallbacks = %q, want 1", raw.Header.Get("x-litellm-attempted-fallbacks"))
		}
	})

	t.Run("fallbacks are tried in order", func(t *testing.T) {
		reset(t)
		fail(t, "/chain/", 500, "chain down")
		fail(t, "/fb-bad/", 503, "fb-bad down")
		r := send(g.URL, chatBody("chain", "in order"))
		if r.err != nil || r.code != 200 {
			t.Fatalf("%s", r)
		}
		if r.servedBy() != "/fb-good" {
			t.Errorf("served by %q, want /fb-good", r.servedBy())
		}
		if got := r.hdr.Get("x-litellm-attempted-fallbacks"); got != "2" {
			t.Errorf("x-litellm-attempted-fallbacks = %q, want 2", got)
		}
		var order []string
		for _, rec := range fake.Requests() {
			order = append(order, strings.Split(rec.Path, "/")[1])
		}
		want := []string{"chain", "chain", "fb-bad", "fb-bad", "fb-good"}
		if strings.Join(order, ",") != strings.Join(want, ",") {
			t.Errorf("provider saw %v, want %v (each group with 1 + num_retries tries, in the fallbacks' order)", order, want)
		}
	})

	t.Run("max_fallbacks reached: the original group's error reaches the client", func(t *testing.T) {
		reset(t)
		fail(t, "/deep/", 500, "deep original failure")
		fail(t, "/fb-bad/", 503, "fb-bad down")
		fail(t, "/fb-bad2/", 503, "fb-bad2 down")
		r := send(g.URL, chatBody("deep", "too deep"))
		if r.err != nil {
			t.Fatal(r.err)
		}
		if got := fake.Count("/fb-good/"); got != 0 {
			t.Errorf("fb-good (third fallback, beyond max_fallbacks: 2) got %d calls", got)
		}
		if fake.Count("/fb-bad/") == 0 || fake.Count("/fb-bad2/") == 0 {
			t.Errorf("the first two fallbacks were not tried: %v", fake.Counts())
		}
		if r.code != 500 || !strings.Contains(string(r.body), "deep original failure") {
			t.Errorf("GATEWAY BUG: after max_fallbacks the client gets %d %s; LiteLLM returns the original group's error (500 \"deep original failure\")", r.code, r.body)
		}
		assertOpenAIError(t, r.code, r.body, r.code, "")
	})

	t.Run("client-side fallbacks in the request body", func(t *testing.T) {
		reset(t)
		fail(t, "/plain-bad/", 500, "plain down")
		r := send(g.URL, chatBody("plain-bad", "client list", `"fallbacks":["fb-good"]`))
		if r.err != nil || r.code != 200 {
			t.Fatalf("%s", r)
		}
		if r.servedBy() != "/fb-good" {
			t.Errorf("served by %q, want /fb-good (the request's fallbacks win over default_fallbacks)", r.servedBy())
		}
		if got := fake.Count("/default-good/"); got != 0 {
			t.Errorf("default fallback got %d calls although the request named its own", got)
		}
		// The request body's fallbacks do not reach the provider.
		for _, rec := range fake.Requests() {
			if strings.Contains(string(rec.Body), "fallbacks") {
				t.Errorf("%s received the gateway-only field fallbacks: %s", rec.Path, rec.Body)
			}
		}
	})

	t.Run("client-side empty fallbacks turn fallbacks off", func(t *testing.T) {
		reset(t)
		fail(t, "/az/", 500, "azure is down")
		r := send(g.URL, chatBody("azure-group", "no fallback", `"fallbacks":[]`))
		if r.err != nil {
			t.Fatal(r.err)
		}
		assertOpenAIError(t, r.code, r.body, 500, "azure is down")
		if got := fake.Count(anthropicPath); got != 0 {
			t.Errorf("the fallback group got %d calls although the request sent fallbacks: []", got)
		}
	})

	t.Run("default_fallbacks", func(t *testing.T) {
		reset(t)
		fail(t, "/plain-bad/", 500, "plain down")
		r := send(g.URL, chatBody("plain-bad", "default list"))
		if r.err != nil || r.code != 200 {
			t.Fatalf("%s", r)
		}
		if r.servedBy() != "/default-good" {
			t.Errorf("served by %q, want /default-good", r.servedBy())
		}
		if got := r.hdr.Get("x-litellm-attempted-fallbacks"); got != "1" {
			t.Errorf("x-litellm-attempted-fallbacks = %q, want 1", got)
		}
	})

	t.Run("context-window fallback chosen by the pre-call check", func(t *testing.T) {
		reset(t)
		short := send(g.URL, chatBody("small", "short"))
		if short.err != nil || short.code != 200 || short.servedBy() != "/small" {
			t.Fatalf("a short prompt must be served by small: %s (served by %q)", short, short.servedBy())
		}
		if got := short.hdr.Get("x-litellm-attempted-fallbacks"); got != "0" {
			t.Errorf("x-litellm-attempted-fallbacks = %q on a request served by its own group, want 0", got)
		}
		fake.Reset()
		r := send(g.URL, chatBody("small", longPrompt))
		if r.err != nil || r.code != 200 {
			t.Fatalf("%s", r)
		}
		// LiteLLM: a ContextWindowExceededError goes to context_window_fallbacks
		// when the group has them, before the general ones (here the
		// default_fallbacks, which every group has).
		if r.servedBy() != "/big" {
			t.Errorf("GATEWAY BUG: a prompt over small's max_input_tokens was served by %q (%s), want /big from "+
				"context_window_fallbacks; the general/default fallbacks were used instead", r.servedBy(), r.hdr.Get("x-litellm-model-group"))
		}
		if got := fake.Count("/small/"); got != 0 {
			t.Errorf("small (max_input_tokens 50) got %d calls for a long prompt; the pre-call check must skip it", got)
		}
		if got := r.hdr.Get("x-litellm-model-group"); got != "big" {
			t.Errorf("x-litellm-model-group = %q, want big", got)
		}
	})
}
