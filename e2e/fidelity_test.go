package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// fidelityConfig: an OpenAI group, an alias of it, an Anthropic wildcard,
// an embeddings group, and a group that falls back to another.
func fidelityConfig(fake string) string {
	return fmt.Sprintf(`
model_list:
  - model_name: smart
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: %[1]s/v1
      api_key: k
  - model_name: "anthropic/*"
    litellm_params:
      model: "anthropic/*"
      api_base: %[1]s
      api_key: ant-key
  - model_name: embedder
    litellm_params:
      model: openai/text-embedding-3-small
      api_base: %[1]s/v1
      api_key: k
  - model_name: legacy
    litellm_params:
      model: text-completion-openai/gpt-3.5-turbo-instruct
      api_base: %[1]s/v1
      api_key: k
  - model_name: primary
    litellm_params:
      model: openai/broken-model
      api_base: %[1]s/v1
      api_key: k
  - model_name: backup
    litellm_params:
      model: openai/backup-model
      api_base: %[1]s/v1
      api_key: k
router_settings:
  num_retries: 0
  model_group_alias: {"smart-alias": "smart"}
  fallbacks: [{"primary": ["backup"]}]
`, fake)
}

// TestResponseModelName: the response's "model" and x-litellm-model-group
// are the names the client asked for, as LiteLLM's proxy returns them — in
// chat, stream chunks, embeddings and completions; the alias, not its group;
// the concrete model of a wildcard; and after a fallback the model that
// answered (non-stream) or the requested name (stream chunks).
func TestResponseModelName(t *testing.T) {
	needEnvoy(t)
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, fidelityConfig(fake.URL()))
	client := openai.NewClient(option.WithBaseURL(g.URL+"/v1"), option.WithAPIKey("any"), option.WithMaxRetries(0),
		option.WithRequestTimeout(30*time.Second))
	ctx := context.Background()
	msgs := []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello")}

	for _, tc := range []struct{ model, group string }{
		{"smart", "smart"},
		{"smart-alias", "smart-alias"},
		{"anthropic/claude-3-haiku-20240307", "anthropic/claude-3-haiku-20240307"},
	} {
		var raw *http.Response
		resp, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: tc.model, Messages: msgs}, option.WithResponseInto(&raw))
		if err != nil {
			t.Fatalf("%s: %v", tc.model, err)
		}
		if resp.Model != tc.model {
			t.Errorf("chat %s: response model %q, want %q", tc.model, resp.Model, tc.model)
		}
		if got := raw.Header.Get("x-litellm-model-group"); got != tc.group {
			t.Errorf("chat %s: x-litellm-model-group %q, want %q", tc.model, got, tc.group)
		}

		stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: tc.model, Messages: msgs})
		n := 0
		for stream.Next() {
			c := stream.Current()
			n++
			if c.Model != tc.model {
				t.Errorf("stream %s: chunk %d model %q", tc.model, n, c.Model)
			}
			if c.JSON.Usage.Valid() || len(c.Choices) == 0 {
				t.Errorf("stream %s: client did not ask for usage but chunk %d carries it: %s", tc.model, n, c.RawJSON())
			}
		}
		if err := stream.Err(); err != nil || n == 0 {
			t.Fatalf("stream %s: %v after %d chunks", tc.model, err, n)
		}
	}

	emb, err := client.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "embedder",
		Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"a"}}})
	if err != nil || emb.Model != "embedder" {
		t.Errorf("embeddings: model %q, err %v", emb.Model, err)
	}
	comp, err := client.Completions.New(ctx, openai.CompletionNewParams{Model: "legacy",
		Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("say hi")}})
	if err != nil || comp.Model != "legacy" {
		t.Errorf("completions: model %q, err %v", comp.Model, err)
	}

	// After a fallback LiteLLM keeps the model that answered (non-stream),
	// and the header names the fallback group.
	if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{Model: "broken-model"}, Fault: fakeprovider.Fault{Status: 500}}); err != nil {
		t.Fatal(err)
	}
	var raw *http.Response
	resp, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "primary", Messages: msgs}, option.WithResponseInto(&raw))
	if err != nil {
		t.Fatalf("fallback: %v", err)
	}
	if resp.Model != "backup-model" || raw.Header.Get("x-litellm-model-group") != "backup" {
		t.Errorf("fallback: model %q group %q, want the model that answered and group backup", resp.Model, raw.Header.Get("x-litellm-model-group"))
	}
	stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "primary", Messages: msgs})
	for stream.Next() {
		if m := stream.Current().Model; m != "primary" {
			t.Errorf("fallback stream: chunk model %q, want primary", m)
			break
		}
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("fallback stream: %v", err)
	}
}

// TestStreamUsage: the gateway asks OpenAI-compatible providers for
// stream_options.include_usage on every stream (as LiteLLM does), counts
// the streamed tokens (tpm), and strips the usage chunk when the client did
// not ask for it; a client that asked gets it.
func TestStreamUsage(t *testing.T) {
	needEnvoy(t)
	fake := fakeprovider.StartT(t, fakeprovider.Options{Reply: strings.Repeat("word ", 40)})
	g := startGateway(t, fmt.Sprintf(`
model_list:
  - model_name: metered
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: %[1]s/v1
      api_key: k
      tpm: 60
router_settings:
  routing_strategy: usage-based-routing-v2
  num_retries: 0
`, fake.URL()))
	body := `{"model":"metered","stream":true,"messages":[{"role":"user","content":"hi"}]}`
	code, _, b := post(t, g.URL+"/v1/chat/completions", "", body)
	if code != 200 {
		t.Fatalf("status %d: %s", code, b)
	}
	rec, _ := fake.Last()
	var sent struct {
		StreamOptions struct {
			IncludeUsage bool `json:"include_usage"`
		} `json:"stream_options"`
	}
	_ = json.Unmarshal(rec.Body, &sent)
	if !sent.StreamOptions.IncludeUsage {
		t.Errorf("upstream request did not ask for usage: %s", rec.Body)
	}
	for _, ev := range sseEvents(b) {
		if strings.Contains(ev, `"usage"`) {
			t.Errorf("client did not ask for usage, got: %s", ev)
		}
	}

	// The client that asks gets the usage chunk.
	code, _, b = post(t, g.URL+"/v1/chat/completions", "", `{"model":"metered","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}`)
	if code != 200 || !strings.Contains(string(b), `"prompt_tokens"`) {
		t.Errorf("include_usage: status %d, no usage chunk: %s", code, b)
	}

	// Both streams counted their tokens (~45 each) against tpm: 60, so the
	// deployment is now over its limit.
	code, _, b = post(t, g.URL+"/v1/chat/completions", "", body)
	if code != 429 {
		t.Errorf("after two counted streams: status %d, want 429 (tpm used): %s", code, b)
	}
}

// TestErrorTypes: provider errors reach the client as LiteLLM's exception
// mapping reports them, for every provider family: its OpenAI type
// (429 → throttling_error, 5xx → internal_server_error, 401 →
// authentication_error, …), the status as the code, and the message
// prefixed with the exception class and provider.
func TestErrorTypes(t *testing.T) {
	needEnvoy(t)
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, fmt.Sprintf(`
model_list:
  - model_name: oai
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/v1, api_key: k}
  - model_name: groq
    litellm_params: {model: groq/llama-3.1-8b, api_base: %[1]s/v1, api_key: k}
  - model_name: az
    litellm_params: {model: azure/my-deployment, api_base: %[1]s, api_key: k, api_version: "2024-06-01"}
  - model_name: claude
    litellm_params: {model: anthropic/claude-3-5-sonnet-20241022, api_base: %[1]s, api_key: k}
  - model_name: br
    litellm_params: {model: bedrock/anthropic.claude-3-haiku-20240307-v1:0, api_base: %[1]s, aws_access_key_id: %[2]s, aws_secret_access_key: %[3]s, aws_region_name: us-east-1}
  - model_name: gem
    litellm_params: {model: gemini/gemini-2.0-flash, api_base: %[1]s, api_key: k}
  - model_name: co
    litellm_params: {model: cohere/command-r-plus, api_base: %[1]s, api_key: k}
  - model_name: ol
    litellm_params: {model: ollama_chat/llama3.1, api_base: %[1]s}
router_settings:
  num_retries: 0
`, fake.URL(), fakeprovider.DefaultAWSAccessKeyID, fakeprovider.DefaultAWSSecretAccessKey))
	client := openai.NewClient(option.WithBaseURL(g.URL+"/v1"), option.WithAPIKey("any"), option.WithMaxRetries(0),
		option.WithRequestTimeout(30*time.Second))
	upstream := map[string]string{"oai": "gpt-4o-mini", "groq": "llama-3.1-8b", "az": "my-deployment", "claude": "claude-3-5-sonnet-20241022",
		"br": "anthropic.claude-3-haiku-20240307-v1:0", "gem": "gemini-2.0-flash", "co": "command-r-plus", "ol": "llama3.1"}
	prefix := map[string]string{"oai": "OpenAIException", "groq": "GroqException", "az": "AzureException", "claude": "AnthropicException",
		"br": "BedrockException", "gem": "GeminiException", "co": "CohereException", "ol": "OllamaException"}
	family := map[string]bool{"oai": true, "groq": true, "az": true}
	for _, tc := range []struct {
		status             int
		class, typ, reason string
	}{
		{429, "RateLimitError", "throttling_error", ""},
		{500, "InternalServerError", "internal_server_error", ""},
		{503, "ServiceUnavailableError", "internal_server_error", ""},
		{401, "AuthenticationError", "authentication_error", ""},
		{404, "NotFoundError", "not_found_error", ""},
		{400, "BadRequestError", "invalid_request_error", ""},
		{400, "ContextWindowExceededError", "invalid_request_error", "This model's maximum context length is 8192 tokens"},
	} {
		for group, model := range upstream {
			fake.ClearRules()
			if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{Model: model}, Fault: fakeprovider.Fault{Status: tc.status, ErrorMessage: tc.reason}}); err != nil {
				t.Fatal(err)
			}
			_, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
				Model: group, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x")}})
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) {
				t.Errorf("%s %d: want an API error, got %v", group, tc.status, err)
				continue
			}
			want := "litellm." + tc.class + ": "
			if family[group] {
				want += tc.class + ": "
			}
			want += prefix[group] + " - "
			if apiErr.StatusCode != tc.status || apiErr.Type != tc.typ || apiErr.Code != strconv.Itoa(tc.status) ||
				!strings.HasPrefix(apiErr.Message, want) || !strings.Contains(apiErr.Message, "Received Model Group="+group) {
				t.Errorf("%s %d (%s): got status %d type %q code %q message %q; want type %q, message starting %q",
					group, tc.status, tc.class, apiErr.StatusCode, apiErr.Type, apiErr.Code, apiErr.Message, tc.typ, want)
			}
		}
	}
}

// TestTimeout408: a request whose tries all time out gets LiteLLM's answer,
// 408 with its Timeout type and message, after the group's retries (each try
// bounded by the deployment's timeout).
func TestTimeout408(t *testing.T) {
	needEnvoy(t)
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, fmt.Sprintf(`
model_list:
  - model_name: sleepy
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/sleepy/v1, api_key: k, timeout: 1}
router_settings:
  num_retries: 1
`, fake.URL()))
	if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/sleepy/"}, Fault: fakeprovider.Fault{Delay: 4 * time.Second}}); err != nil {
		t.Fatal(err)
	}
	client := openai.NewClient(option.WithBaseURL(g.URL+"/v1"), option.WithAPIKey("any"), option.WithMaxRetries(0),
		option.WithRequestTimeout(30*time.Second))
	_, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: "sleepy", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x")}})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		t.Fatalf("want an API error, got %v", err)
	}
	if apiErr.StatusCode != 408 || apiErr.Type != "timeout_error" || apiErr.Code != "408" ||
		!strings.HasPrefix(apiErr.Message, "litellm.Timeout: ") || !strings.Contains(apiErr.Message, "Received Model Group=sleepy") {
		t.Errorf("got status %d type %q code %q message %q; want LiteLLM's 408 timeout_error", apiErr.StatusCode, apiErr.Type, apiErr.Code, apiErr.Message)
	}
	if n := fake.Count("/sleepy/"); n != 2 {
		t.Errorf("the provider saw %d tries, want 2 (num_retries: 1)", n)
	}
}
