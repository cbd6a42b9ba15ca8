package e2e

import (
	"net/http"
	"strconv"

	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"github.com/openai/openai-go/v3/option"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/shared"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// providersFakeOptions: the fake checks each Bedrock deployment's signature
// against the region providersConfig gives it (bedrock-llama us-west-2, the
// others us-east-1), so a signer that uses another region fails.
func providersFakeOptions() fakeprovider.Options {
	return fakeprovider.Options{AWSRegion: "us-east-1", AWSModelRegions: map[string]string{"meta.llama3-1-8b-instruct-v1:0": "us-west-2"}}
}

func providersConfig(fake string) string {
	return fmt.Sprintf(`
model_list:
  - model_name: claude
    litellm_params:
      model: anthropic/claude-3-5-sonnet-20241022
      api_base: %[1]s
      api_key: ant-key
  - model_name: bedrock-claude
    litellm_params:
      model: bedrock/anthropic.claude-3-haiku-20240307-v1:0
      api_base: %[1]s
      aws_access_key_id: %[2]s
      aws_secret_access_key: %[3]s
      aws_region_name: us-east-1
  - model_name: bedrock-llama
    litellm_params:
      model: bedrock/meta.llama3-1-8b-instruct-v1:0
      api_base: %[1]s
      aws_access_key_id: %[2]s
      aws_secret_access_key: %[3]s
      aws_region_name: us-west-2
  - model_name: gemini
    litellm_params:
      model: gemini/gemini-2.0-flash
      api_base: %[1]s
      api_key: g-key
  - model_name: cohere
    litellm_params:
      model: cohere/command-r-plus
      api_base: %[1]s
      api_key: co-key
  - model_name: ollama
    litellm_params:
      model: ollama_chat/llama3.1
      api_base: %[1]s
  - model_name: hf
    litellm_params:
      model: huggingface/meta-llama/Llama-3.1-8B-Instruct
      api_base: %[1]s/hf
      api_key: hf-key
  - model_name: emb-gemini
    litellm_params: {model: gemini/text-embedding-004, api_base: %[1]s, api_key: g-key}
  - model_name: emb-cohere
    litellm_params: {model: cohere/embed-english-v3.0, api_base: %[1]s, api_key: co-key}
  - model_name: emb-ollama
    litellm_params: {model: ollama/nomic-embed-text, api_base: %[1]s}
  - model_name: emb-titan
    litellm_params: {model: bedrock/amazon.titan-embed-text-v2:0, api_base: %[1]s, aws_access_key_id: %[2]s, aws_secret_access_key: %[3]s, aws_region_name: us-east-1}
  - model_name: emb-bedrock-cohere
    litellm_params: {model: bedrock/cohere.embed-english-v3, api_base: %[1]s, aws_access_key_id: %[2]s, aws_secret_access_key: %[3]s, aws_region_name: us-east-1}
  - model_name: vertex
    litellm_params:
      model: vertex_ai/gemini-1.5-pro
      api_base: %[1]s
      vertex_project: my-project
      vertex_location: us-central1
      vertex_credentials: '%[5]s'
general_settings:
  master_key: %[4]s
`, fake, fakeprovider.DefaultAWSAccessKeyID, fakeprovider.DefaultAWSSecretAccessKey, master, serviceAccountJSON(fake))
}

var weatherTool = openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
	Name:        "get_weather",
	Description: openai.String("weather in a city"),
	Parameters:  shared.FunctionParameters{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}},
})

// TestProviders drives every translated provider through Envoy with openai-go:
// chat, streaming, tool calls (streamed and not) and a provider error.
func TestProviders(t *testing.T) {
	fake := fakeprovider.StartT(t, providersFakeOptions())
	g := startGateway(t, providersConfig(fake.URL()))
	client := newClient(g, master)
	ctx := context.Background()
	for _, model := range []string{"claude", "bedrock-claude", "bedrock-llama", "gemini", "cohere", "ollama", "hf", "vertex"} {
		t.Run(model, func(t *testing.T) {
			prompt := "hello " + model
			resp, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
				Model:    model,
				Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("be brief"), openai.UserMessage(prompt)},
			})
			if err != nil {
				t.Fatalf("chat: %v", err)
			}
			if got := resp.Choices[0].Message.Content; !strings.Contains(got, prompt) {
				t.Errorf("chat content = %q, want the fake's echo of %q", got, prompt)
			}
			if resp.Created == 0 {
				t.Errorf("created is 0")
			}
			if model == "claude" {
				// A translated answer carries its cost (built-in price of claude-3-5-sonnet).
				var raw *http.Response
				if _, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
					Model: model, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("cost")},
				}, option.WithResponseInto(&raw)); err != nil {
					t.Fatal(err)
				}
				if c, err := strconv.ParseFloat(raw.Header.Get("x-litellm-response-cost"), 64); err != nil || c <= 0 {
					t.Errorf("x-litellm-response-cost = %q", raw.Header.Get("x-litellm-response-cost"))
				}
			}
			if resp.Choices[0].FinishReason != "stop" {
				t.Errorf("finish_reason = %q", resp.Choices[0].FinishReason)
			}
			if resp.Usage.PromptTokens == 0 || resp.Usage.CompletionTokens == 0 {
				t.Errorf("usage = %+v", resp.Usage)
			}

			stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
				Model:         model,
				Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompt)},
				StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
			})
			var acc openai.ChatCompletionAccumulator
			n := 0
			created := map[int64]int{} // every chunk of a stream carries one non-zero time
			for stream.Next() {
				acc.AddChunk(stream.Current())
				created[stream.Current().Created]++
				n++
			}
			if _, zero := created[0]; zero || len(created) != 1 {
				t.Errorf("stream chunks' created: %v, want one non-zero time for all", created)
			}
			if err := stream.Err(); err != nil {
				t.Fatalf("stream: %v", err)
			}
			if n < 3 || len(acc.Choices) == 0 || !strings.Contains(acc.Choices[0].Message.Content, prompt) {
				t.Errorf("stream: %d chunks, content %+v", n, acc.Choices)
			}
			if acc.Usage.TotalTokens == 0 {
				t.Errorf("stream: no usage with include_usage")
			}

			tools := openai.ChatCompletionNewParams{
				Model:    model,
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("please call tool for Paris")},
				Tools:    []openai.ChatCompletionToolUnionParam{weatherTool},
			}
			resp, err = client.Chat.Completions.New(ctx, tools)
			if err != nil {
				t.Fatalf("tools: %v", err)
			}
			calls := resp.Choices[0].Message.ToolCalls
			if len(calls) != 1 || calls[0].Function.Name != "get_weather" || calls[0].ID == "" || resp.Choices[0].FinishReason != "tool_calls" {
				t.Errorf("tool call = %+v finish %q", calls, resp.Choices[0].FinishReason)
			}
			ts := client.Chat.Completions.NewStreaming(ctx, tools)
			var tacc openai.ChatCompletionAccumulator
			for ts.Next() {
				tacc.AddChunk(ts.Current())
			}
			if err := ts.Err(); err != nil {
				t.Fatalf("tool stream: %v", err)
			}
			if len(tacc.Choices) == 0 || len(tacc.Choices[0].Message.ToolCalls) != 1 || tacc.Choices[0].Message.ToolCalls[0].Function.Name != "get_weather" {
				t.Errorf("streamed tool call = %+v", tacc.Choices)
			}

			// A provider error comes back in OpenAI shape with the provider's status.
			if err := fake.AddRule(fakeprovider.Rule{Fault: fakeprovider.Fault{Status: 400, ErrorMessage: "bad request from " + model}}); err != nil {
				t.Fatal(err)
			}
			_, err = client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
				Model: model, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x")},
			})
			fake.ClearRules()
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || !strings.Contains(apiErr.Message, "bad request from "+model) {
				t.Errorf("provider error: %v", err)
			}
		})
	}
}

// serviceAccountJSON is a Google service-account key whose token_uri is the
// fake provider's OAuth endpoint, with a fresh RSA key.
func serviceAccountJSON(fake string) string {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	b, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "my-project", "private_key_id": "k1",
		"private_key": string(pemKey), "client_email": "gw@my-project.iam.gserviceaccount.com",
		"token_uri": fake + "/token",
	})
	return string(b)
}

// TestProviderEmbeddings: embeddings through each provider that has them.
func TestProviderEmbeddings(t *testing.T) {
	opts := providersFakeOptions()
	opts.EmbeddingDims = 16
	fake := fakeprovider.StartT(t, opts)
	g := startGateway(t, providersConfig(fake.URL()))
	client := newClient(g, master)
	for _, tc := range []struct {
		model  string
		inputs []string
	}{
		{"emb-gemini", []string{"a", "b"}},
		{"emb-cohere", []string{"a", "b"}},
		{"emb-ollama", []string{"a", "b"}},
		{"emb-titan", []string{"only one"}},
		{"emb-bedrock-cohere", []string{"a", "b"}},
	} {
		t.Run(tc.model, func(t *testing.T) {
			resp, err := client.Embeddings.New(context.Background(), openai.EmbeddingNewParams{
				Model: openai.EmbeddingModel(tc.model),
				Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: tc.inputs},
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Data) != len(tc.inputs) {
				t.Fatalf("%d embeddings for %d inputs", len(resp.Data), len(tc.inputs))
			}
			for i, d := range resp.Data {
				if int(d.Index) != i || len(d.Embedding) == 0 {
					t.Errorf("embedding %d: index %d, %d dims", i, d.Index, len(d.Embedding))
				}
			}
		})
	}
}
