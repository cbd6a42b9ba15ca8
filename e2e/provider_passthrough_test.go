package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	ooption "github.com/openai/openai-go/v3/option"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestProviderPassThrough (D122): LiteLLM's provider pass-through routes.
// With ANTHROPIC_API_KEY and ANTHROPIC_API_BASE set, anthropic-sdk-go
// pointed at <gateway>/anthropic with the gateway's key reaches the
// provider's /v1/messages in its own format, streamed or not, with the
// provider's key and without the gateway's; a wrong key is a 401 JSON that
// never reaches the provider. A cohere deployment with use_in_pass_through
// lends its api_key and api_base to /cohere/*. No mistral credential: no
// /mistral route.
func TestProviderPassThrough(t *testing.T) {
	const antKey, coKey, oaiKey = "sk-ant-provider-secret", "co-provider-secret", "sk-openai-provider-secret"
	fake := fakeprovider.StartT(t, fakeprovider.Options{APIKeys: []string{antKey, coKey, oaiKey}})
	g := startGateway(t, fmt.Sprintf(`
model_list:
  - model_name: gpt-x
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/v1, api_key: %[2]s}
  - model_name: co
    litellm_params: {model: cohere/command-r, api_base: %[1]s/ignored/path, api_key: %[3]s, use_in_pass_through: true}
general_settings:
  master_key: %[4]s
`, fake.URL(), antKey, coKey, master), "ANTHROPIC_API_KEY="+antKey, "ANTHROPIC_API_BASE="+fake.URL(),
		"OPENAI_API_KEY="+oaiKey, "OPENAI_API_BASE="+fake.URL())

	// noGatewayKey fails the test when the gateway's key reached the
	// provider in any header.
	noGatewayKey := func(h http.Header) {
		t.Helper()
		for name, vs := range h {
			for _, v := range vs {
				if strings.Contains(v, master) {
					t.Errorf("the gateway's key reached the provider in %s", name)
				}
			}
		}
	}

	client := anthropic.NewClient(option.WithBaseURL(g.URL+"/anthropic"), option.WithAPIKey(master), option.WithMaxRetries(0))
	params := anthropic.MessageNewParams{Model: "claude-3-5-sonnet-20241022", MaxTokens: 64,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hello pass-through"))}}
	msg, err := client.Messages.New(context.Background(), params)
	if err != nil {
		t.Fatalf("anthropic-sdk-go through /anthropic: %v\n%s", err, g.Logs())
	}
	if len(msg.Content) == 0 || !strings.Contains(msg.Content[0].Text, "hello pass-through") || msg.Model != "claude-3-5-sonnet-20241022" {
		t.Errorf("the provider's own answer: %+v", msg)
	}
	last, ok := fake.Last()
	if !ok || last.Path != "/v1/messages" || last.Header.Get("X-Api-Key") != antKey || last.Header.Get("Anthropic-Version") == "" {
		t.Errorf("the provider got %s with x-api-key %q, anthropic-version %q; want /v1/messages with the provider's key and the client's version",
			last.Path, last.Header.Get("X-Api-Key"), last.Header.Get("Anthropic-Version"))
	}
	noGatewayKey(last.Header)

	stream := client.Messages.NewStreaming(context.Background(), params)
	var text strings.Builder
	for stream.Next() {
		if ev := stream.Current(); ev.Type == "content_block_delta" {
			text.WriteString(ev.Delta.Text)
		}
	}
	if err := stream.Err(); err != nil || !strings.Contains(text.String(), "hello pass-through") {
		t.Errorf("a stream through /anthropic: %q, %v", text.String(), err)
	}
	last, _ = fake.Last()
	noGatewayKey(last.Header)

	before := fake.Count("/v1/messages")
	code, _, b := do(t, "POST", g.URL+"/anthropic/v1/messages", "sk-wrong", `{"model":"claude-3-5-sonnet-20241022","max_tokens":8,"messages":[{"role":"user","content":"x"}]}`)
	if code != 401 || !strings.Contains(string(b), `"error"`) {
		t.Errorf("a wrong key: %d %s, want a 401 OpenAI error", code, b)
	}
	if n := fake.Count("/v1/messages"); n != before {
		t.Errorf("a refused request reached the provider (%d → %d)", before, n)
	}

	// The cohere deployment's credential; the api_base's path is replaced
	// by the client's, as LiteLLM's route does.
	code, _, b = do(t, "POST", g.URL+"/cohere/v2/chat", master, `{"model":"command-r","messages":[{"role":"user","content":"hi cohere"}]}`)
	if code != 200 {
		t.Fatalf("/cohere/v2/chat: %d %s", code, b)
	}
	last, _ = fake.Last()
	if last.Path != "/v2/chat" || last.Header.Get("Authorization") != "bearer "+coKey {
		t.Errorf("cohere got %s with authorization %q, want /v2/chat with the deployment's key", last.Path, last.Header.Get("Authorization"))
	}
	noGatewayKey(last.Header)

	// /openai/*: openai-go with base URL <gateway>/openai reaches the
	// provider's /v1/chat/completions (LiteLLM puts /v1 in front of a path
	// without one) with OPENAI_API_KEY as bearer and api-key; /openai/v1/…
	// is not doubled; the Azure-style /openai/deployments/{model}/… stays
	// the gateway's LLM route, served by the deployment with its own key.
	oc := openai.NewClient(ooption.WithBaseURL(g.URL+"/openai"), ooption.WithAPIKey(master), ooption.WithMaxRetries(0))
	cc, err := oc.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "gpt-4o-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello openai pass-through")}})
	if err != nil {
		t.Fatalf("openai-go through /openai: %v\n%s", err, g.Logs())
	}
	last, _ = fake.Last()
	if last.Path != "/v1/chat/completions" || last.Header.Get("Authorization") != "Bearer "+oaiKey || last.Header.Get("Api-Key") != oaiKey || cc.Model != "gpt-4o-mini" {
		t.Errorf("/openai/chat/completions reached %s with authorization %q, api-key %q (answer model %q); want /v1/chat/completions with OPENAI_API_KEY",
			last.Path, last.Header.Get("Authorization"), last.Header.Get("Api-Key"), cc.Model)
	}
	noGatewayKey(last.Header)
	if code, _, b := do(t, "POST", g.URL+"/openai/v1/chat/completions", master, chatBody("gpt-4o-mini", "v1 given")); code != 200 {
		t.Errorf("/openai/v1/chat/completions: %d %s", code, b)
	} else if last, _ = fake.Last(); last.Path != "/v1/chat/completions" {
		t.Errorf("/openai/v1/chat/completions reached %s, want /v1/chat/completions", last.Path)
	}
	if code, h, b := do(t, "POST", g.URL+"/openai/deployments/gpt-x/chat/completions", master, chatBody("ignored", "azure style")); code != 200 || h.Get("x-litellm-model-group") != "gpt-x" {
		t.Errorf("the Azure-style route under /openai: %d group %q %s", code, h.Get("x-litellm-model-group"), b)
	} else if last, _ = fake.Last(); last.Header.Get("Authorization") != "Bearer "+antKey {
		t.Errorf("the Azure-style route reached the provider with %q, want the deployment's key", last.Header.Get("Authorization"))
	}
	if code, _, _ := do(t, "POST", g.URL+"/openai/chat/completions", "sk-wrong", chatBody("gpt-4o-mini", "x")); code != 401 {
		t.Errorf("/openai with a wrong key: %d, want 401", code)
	}

	if code, _, b := do(t, "POST", g.URL+"/mistral/v1/chat/completions", master, chatBody("x", "y")); code != 404 {
		t.Errorf("/mistral without a credential: %d %s, want 404", code, b)
	}
}
