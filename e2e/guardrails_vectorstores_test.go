package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/llmgate/llmgate/internal/fakevectors"
)

// TestGuardrailsVectorStores (D157): a chat completion that names a
// registered vector store and runs a guardrail gets both, as in LiteLLM:
// the guardrails read the request, the store's context goes to the
// provider, and the answer carries the search results
// (provider_specific_fields.search_results) whether or not a post_call
// guardrail reads it too; a post_call block still wins.
func TestGuardrailsVectorStores(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	fg := startFakeGuardrails(t)
	vs := fakevectors.StartT(t, fakevectors.Options{
		OpenAIKey:    vsOpenAIKey,
		OpenAIStores: map[string][]fakevectors.Doc{"vs_docs": {vsPolicy, vsSizes}},
	})
	g := startGateway(t, fmt.Sprintf(`
model_list:
  - model_name: gpt
    litellm_params: {model: openai/gpt, api_base: %[1]s/v1, api_key: k}
general_settings:
  master_key: %[3]s
vector_store_registry:
  - vector_store_name: docs
    litellm_params:
      vector_store_id: vs_docs
      custom_llm_provider: openai
      api_key: %[4]s
      api_base: %[2]s/v1
guardrails:
  - guardrail_name: words-pre
    litellm_params:
      guardrail: generic_guardrail_api
      mode: pre_call
      api_base: %[5]s
      default_on: true
  - guardrail_name: words-post
    litellm_params:
      guardrail: generic_guardrail_api
      mode: post_call
      api_base: %[5]s
`, fake.URL(), vs.URL, master, vsOpenAIKey, fg.generic.URL))
	client := newClient(g, master)
	ctx := context.Background()
	chat := func(text string, opts ...option.RequestOption) (*openai.ChatCompletion, error) {
		return client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model:    "gpt",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(text)},
		}, append(opts, option.WithJSONSet("vector_store_ids", []string{"vs_docs"}))...)
	}
	// annotated says whether the answer's message carries the store's page.
	annotated := func(t *testing.T, resp *openai.ChatCompletion) {
		t.Helper()
		var m struct {
			Fields struct {
				Results []struct {
					Object string `json:"object"`
					Data   []struct {
						Filename string `json:"filename"`
					} `json:"data"`
				} `json:"search_results"`
			} `json:"provider_specific_fields"`
		}
		if err := json.Unmarshal([]byte(resp.Choices[0].Message.RawJSON()), &m); err != nil {
			t.Fatal(err)
		}
		r := m.Fields.Results
		if len(r) != 1 || r[0].Object != "vector_store.search_results.page" || len(r[0].Data) != 2 || r[0].Data[0].Filename != "policy.md" {
			t.Errorf("the answer's message %s, want search_results with the store's page", resp.Choices[0].Message.RawJSON())
		}
	}
	// provided says whether the provider got the store's context.
	provided := func(t *testing.T, question string) {
		t.Helper()
		var body struct {
			Messages []map[string]any `json:"messages"`
		}
		for _, r := range fake.Requests() {
			if strings.HasSuffix(r.Path, "/chat/completions") {
				_ = json.Unmarshal(r.Body, &body)
			}
		}
		want := "Context:\n\n" + vsPolicy.Text + "\n\n" + vsSizes.Text + "\n\n"
		if len(body.Messages) != 2 || body.Messages[0]["content"] != want || body.Messages[1]["content"] != question {
			t.Errorf("the provider's messages %v, want the context then %q", body.Messages, question)
		}
	}

	t.Run("pre_call guardrail", func(t *testing.T) {
		fake.Reset()
		fg.reset()
		vs.Reset()
		var raw *http.Response
		resp, err := chat("what about refunds?", option.WithResponseInto(&raw))
		if err != nil {
			t.Fatal(err)
		}
		provided(t, "what about refunds?")
		annotated(t, resp)
		if got := raw.Header.Get("x-litellm-applied-guardrails"); got != "words-pre" {
			t.Errorf("x-litellm-applied-guardrails %q, want words-pre", got)
		}
		// The guardrail read the client's request, before the context
		// (LiteLLM's pre_call hooks run before its vector store hook).
		if got := fg.inputTypes(); len(got) != 1 || got[0] != "request" {
			t.Fatalf("guardrail calls %v", got)
		}
		fg.mu.Lock()
		texts := fmt.Sprint(fg.calls[0]["texts"])
		fg.mu.Unlock()
		if texts != "[what about refunds?]" {
			t.Errorf("the guardrail read %s", texts)
		}
		if n := len(vs.Requests()); n != 1 {
			t.Errorf("%d searches, want 1", n)
		}
	})

	t.Run("post_call guardrail", func(t *testing.T) {
		fake.Reset()
		fg.reset()
		var raw *http.Response
		resp, err := chat("refunds for shoes?", option.WithResponseInto(&raw), option.WithJSONSet("guardrails", []string{"words-post"}))
		if err != nil {
			t.Fatal(err)
		}
		provided(t, "refunds for shoes?")
		annotated(t, resp)
		if got := raw.Header.Get("x-litellm-applied-guardrails"); got != "words-pre,words-post" {
			t.Errorf("x-litellm-applied-guardrails %q, want words-pre,words-post", got)
		}
		if got := fg.inputTypes(); fmt.Sprint(got) != "[request response]" {
			t.Errorf("guardrail calls %v, want [request response]", got)
		}
		if !strings.Contains(resp.Choices[0].Message.Content, "refunds for shoes?") {
			t.Errorf("answer %q", resp.Choices[0].Message.Content)
		}
	})

	t.Run("post_call block", func(t *testing.T) {
		fake.Reset()
		fg.reset()
		_, err := chat("refunds? say secret-answer", option.WithJSONSet("guardrails", []string{"words-post"}))
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Message != "no forbidden words" {
			t.Fatalf("want the post_call block (400), got %v", err)
		}
		provided(t, "refunds? say secret-answer")
	})
}
