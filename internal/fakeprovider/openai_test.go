package fakeprovider

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
)

func newOpenAIClient(baseURL string, opts ...option.RequestOption) openai.Client {
	all := append([]option.RequestOption{
		option.WithBaseURL(baseURL),
		option.WithAPIKey("sk-test-key-0001"),
		option.WithMaxRetries(0),
	}, opts...)
	return openai.NewClient(all...)
}

// azureOptions point an openai-go client at the fake's Azure endpoint the
// way Azure's REST API is addressed: deployment in the path, api-version
// query, api-key header.
func azureOptions(base, deployment, apiVersion, key string) []option.RequestOption {
	return []option.RequestOption{
		option.WithBaseURL(base + "/openai/deployments/" + deployment + "/"),
		option.WithQuery("api-version", apiVersion),
		option.WithHeader("api-key", key),
		option.WithMaxRetries(0),
	}
}

func weatherTool() openai.ChatCompletionToolUnionParam {
	return openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
		Name:       "get_weather",
		Parameters: shared.FunctionParameters{"type": "object", "properties": map[string]any{"query": map[string]any{"type": "string"}}},
	})
}

func TestOpenAIChat(t *testing.T) {
	s := StartT(t, Options{})
	ctx := context.Background()
	tests := []struct {
		name    string
		client  openai.Client
		model   string
		path    string
		wantMod string
	}{
		{"openai v1", newOpenAIClient(s.URL() + "/v1"), "gpt-4o", "/v1/chat/completions", "gpt-4o"},
		{"openai no v1", newOpenAIClient(s.URL()), "gpt-4o", "/chat/completions", "gpt-4o"},
		{"openai prefixed api_base", newOpenAIClient(s.URL() + "/dep-a/v1"), "gpt-4o", "/dep-a/v1/chat/completions", "gpt-4o"},
		{"azure", openai.NewClient(azureOptions(s.URL(), "my-dep", "2024-10-21", "azure-key")...), "gpt-4o", "/openai/deployments/my-dep/chat/completions", "gpt-4o"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.Reset()
			resp, err := tt.client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
				Model:    tt.model,
				Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("be brief"), openai.UserMessage("hello there")},
			})
			if err != nil {
				t.Fatalf("chat: %v", err)
			}
			if got, want := resp.Choices[0].Message.Content, "fake response to: hello there"; got != want {
				t.Errorf("content = %q, want %q", got, want)
			}
			if resp.Choices[0].FinishReason != "stop" {
				t.Errorf("finish_reason = %q", resp.Choices[0].FinishReason)
			}
			if !strings.HasPrefix(resp.ID, "chatcmpl-") || resp.Object != "chat.completion" || resp.Created == 0 {
				t.Errorf("id/object/created = %q %q %d", resp.ID, resp.Object, resp.Created)
			}
			if resp.Model != tt.wantMod {
				t.Errorf("model = %q, want %q", resp.Model, tt.wantMod)
			}
			// "be brief" + "hello there" = 4 words; reply is 5 words.
			if resp.Usage.PromptTokens != 4 || resp.Usage.CompletionTokens != 5 || resp.Usage.TotalTokens != 9 {
				t.Errorf("usage = %+v", resp.Usage)
			}
			last, ok := s.Last()
			if !ok || last.Path != tt.path || last.Method != http.MethodPost {
				t.Fatalf("recorded = %+v", last)
			}
			if got := s.Count(tt.path); got != 1 {
				t.Errorf("Count(%q) = %d, want 1", tt.path, got)
			}
		})
	}
}

func TestOpenAIChatStream(t *testing.T) {
	s := StartT(t, Options{Reply: "one two three four five six seven eight nine ten eleven twelve", StreamChunks: 4})
	ctx := context.Background()
	for _, tt := range []struct {
		name   string
		client openai.Client
	}{
		{"openai", newOpenAIClient(s.URL() + "/v1")},
		{"azure", openai.NewClient(azureOptions(s.URL(), "dep", "2024-10-21", "k")...)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			stream := tt.client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
				Model:         "gpt-4o",
				Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
				StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
			})
			acc := openai.ChatCompletionAccumulator{}
			n := 0
			var lastChunk openai.ChatCompletionChunk
			for stream.Next() {
				chunk := stream.Current()
				acc.AddChunk(chunk)
				lastChunk = chunk
				n++
			}
			if err := stream.Err(); err != nil {
				t.Fatalf("stream: %v", err)
			}
			// role chunk + 4 content chunks + finish chunk + usage chunk
			if n != 7 {
				t.Errorf("chunks = %d, want 7", n)
			}
			if len(lastChunk.Choices) != 0 || lastChunk.Usage.TotalTokens != 13 {
				t.Errorf("last chunk = %s", lastChunk.RawJSON())
			}
			if got := acc.Choices[0].Message.Content; got != s.opts.Reply {
				t.Errorf("content = %q", got)
			}
			if acc.Choices[0].FinishReason != "stop" || acc.Usage.CompletionTokens != 12 || acc.Usage.PromptTokens != 1 {
				t.Errorf("finish = %q usage = %+v", acc.Choices[0].FinishReason, acc.Usage)
			}
		})
	}
}

func TestOpenAIToolCall(t *testing.T) {
	s := StartT(t, Options{})
	client := newOpenAIClient(s.URL() + "/v1")
	ctx := context.Background()
	forced := openai.ToolChoiceOptionFunctionToolChoice(openai.ChatCompletionNamedToolChoiceFunctionParam{Name: "get_weather"})
	tests := []struct {
		name     string
		text     string
		choice   openai.ChatCompletionToolChoiceOptionUnionParam
		wantTool bool
	}{
		{"asked by text", "please call tool now", openai.ChatCompletionToolChoiceOptionUnionParam{}, true},
		{"forced by tool_choice", "weather?", forced, true},
		{"auto without ask", "weather?", openai.ChatCompletionToolChoiceOptionUnionParam{}, false},
	}
	for _, tt := range tests {
		for _, stream := range []bool{false, true} {
			name := tt.name
			if stream {
				name += " stream"
			}
			t.Run(name, func(t *testing.T) {
				params := openai.ChatCompletionNewParams{
					Model:      "gpt-4o",
					Messages:   []openai.ChatCompletionMessageParamUnion{openai.UserMessage(tt.text)},
					Tools:      []openai.ChatCompletionToolUnionParam{weatherTool()},
					ToolChoice: tt.choice,
				}
				var msg openai.ChatCompletionMessage
				var finish string
				if stream {
					st := client.Chat.Completions.NewStreaming(ctx, params)
					acc := openai.ChatCompletionAccumulator{}
					for st.Next() {
						acc.AddChunk(st.Current())
					}
					if err := st.Err(); err != nil {
						t.Fatalf("stream: %v", err)
					}
					msg, finish = acc.Choices[0].Message, acc.Choices[0].FinishReason
				} else {
					resp, err := client.Chat.Completions.New(ctx, params)
					if err != nil {
						t.Fatalf("chat: %v", err)
					}
					msg, finish = resp.Choices[0].Message, resp.Choices[0].FinishReason
				}
				if !tt.wantTool {
					if len(msg.ToolCalls) != 0 || finish != "stop" {
						t.Fatalf("unexpected tool call: %+v finish %q", msg.ToolCalls, finish)
					}
					return
				}
				if len(msg.ToolCalls) != 1 {
					t.Fatalf("tool calls = %+v", msg.ToolCalls)
				}
				tc := msg.ToolCalls[0]
				if tc.Function.Name != "get_weather" || tc.Function.Arguments != `{"query":"fake"}` || !strings.HasPrefix(tc.ID, "call_") {
					t.Errorf("tool call = %+v", tc)
				}
				if finish != "tool_calls" {
					t.Errorf("finish = %q", finish)
				}
			})
		}
	}
}

func TestOpenAICompletionsEmbeddingsModels(t *testing.T) {
	s := StartT(t, Options{EmbeddingDims: 4})
	ctx := context.Background()
	for _, tt := range []struct {
		name   string
		client openai.Client
	}{
		{"openai", newOpenAIClient(s.URL() + "/v1")},
		{"azure", openai.NewClient(azureOptions(s.URL(), "emb", "2024-10-21", "k")...)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			comp, err := tt.client.Completions.New(ctx, openai.CompletionNewParams{
				Model:  "gpt-3.5-turbo-instruct",
				Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("say this")},
			})
			if err != nil {
				t.Fatalf("completions: %v", err)
			}
			if comp.Choices[0].Text != "fake response to: say this" || comp.Object != "text_completion" || comp.Usage.PromptTokens != 2 {
				t.Errorf("completion = %s", comp.RawJSON())
			}
			st := tt.client.Completions.NewStreaming(ctx, openai.CompletionNewParams{
				Model:  "gpt-3.5-turbo-instruct",
				Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("say this")},
			})
			var text strings.Builder
			var finish string
			for st.Next() {
				ch := st.Current()
				text.WriteString(ch.Choices[0].Text)
				if ch.Choices[0].FinishReason != "" {
					finish = string(ch.Choices[0].FinishReason)
				}
			}
			if err := st.Err(); err != nil || text.String() != "fake response to: say this" || finish != "stop" {
				t.Errorf("completion stream = %q finish %q err %v", text.String(), finish, err)
			}

			for _, format := range []openai.EmbeddingNewParamsEncodingFormat{openai.EmbeddingNewParamsEncodingFormatFloat, openai.EmbeddingNewParamsEncodingFormatBase64} {
				emb, err := tt.client.Embeddings.New(ctx, openai.EmbeddingNewParams{
					Model:          "text-embedding-3-small",
					Input:          openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"a b", "c"}},
					EncodingFormat: format,
				})
				if err != nil {
					t.Fatalf("embeddings %s: %v", format, err)
				}
				if len(emb.Data) != 2 || len(emb.Data[0].Embedding) != 4 || emb.Usage.PromptTokens != 3 {
					t.Fatalf("embeddings %s = %s", format, emb.RawJSON())
				}
				want := embedding("a b", 4)
				for i := range want {
					if emb.Data[0].Embedding[i] != want[i] {
						t.Errorf("%s: embedding[%d] = %v, want %v", format, i, emb.Data[0].Embedding[i], want[i])
					}
				}
			}
		})
	}
	mc := newOpenAIClient(s.URL() + "/v1")
	models, err := mc.Models.List(ctx)
	if err != nil || len(models.Data) != 3 || models.Data[0].ID != "gpt-4o" {
		t.Fatalf("models = %+v, err %v", models, err)
	}
}

func TestOpenAIAuth(t *testing.T) {
	s := StartT(t, Options{APIKeys: []string{"sk-good-key-123"}})
	ctx := context.Background()
	params := openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x")}}
	tests := []struct {
		name       string
		client     openai.Client
		wantStatus int
		wantCode   string
	}{
		{"openai good key", newOpenAIClient(s.URL(), option.WithAPIKey("sk-good-key-123")), 200, ""},
		{"openai bad key", newOpenAIClient(s.URL(), option.WithAPIKey("sk-bad-key-456")), 401, "invalid_api_key"},
		{"azure good key", openai.NewClient(azureOptions(s.URL(), "d", "2024-10-21", "sk-good-key-123")...), 200, ""},
		{"azure bad key", openai.NewClient(azureOptions(s.URL(), "d", "2024-10-21", "nope")...), 401, "401"},
		{"azure no api-version", openai.NewClient(azureOptions(s.URL(), "d", "", "sk-good-key-123")...), 400, "MissingApiVersionParameter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.client.Chat.Completions.New(ctx, params)
			if tt.wantStatus == 200 {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("err = %v, want *openai.Error", err)
			}
			if apiErr.StatusCode != tt.wantStatus || apiErr.Code != tt.wantCode {
				t.Errorf("status %d code %q, want %d %q (%s)", apiErr.StatusCode, apiErr.Code, tt.wantStatus, tt.wantCode, apiErr.RawJSON())
			}
			if strings.Contains(apiErr.RawJSON(), "sk-bad-key-456") {
				t.Errorf("error echoes the whole key: %s", apiErr.RawJSON())
			}
		})
	}
}

func TestOpenAIErrorShapes(t *testing.T) {
	s := StartT(t, Options{})
	tests := []struct {
		name       string
		path       string
		headers    map[string]string
		wantStatus int
		wantType   string
		wantCode   any
	}{
		{"500", "/v1/chat/completions", map[string]string{"x-fake-status": "500"}, 500, "server_error", nil},
		{"429", "/v1/chat/completions", map[string]string{"x-fake-status": "429", "x-fake-retry-after": "2"}, 429, "requests", "rate_limit_exceeded"},
		{"context window", "/v1/chat/completions", map[string]string{"x-fake-error-message": "This model's maximum context length is 8192 tokens."}, 400, "invalid_request_error", "context_length_exceeded"},
		{"content policy", "/v1/chat/completions", map[string]string{"x-fake-status": "400", "x-fake-error-message": "Your request was rejected as a result of our content policy."}, 400, "invalid_request_error", "content_policy_violation"},
		{"azure content filter", "/openai/deployments/d/chat/completions?api-version=2024-10-21", map[string]string{"x-fake-status": "400", "x-fake-error-message": "The response was filtered due to the prompt triggering Azure OpenAI's content management policy."}, 400, "invalid_request_error", "content_filter"},
		{"azure 500", "/openai/deployments/d/chat/completions?api-version=2024-10-21", map[string]string{"x-fake-status": "503"}, 503, "server_error", "503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := post(t, s.URL()+tt.path, `{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}`, tt.headers)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d: %s", resp.StatusCode, tt.wantStatus, body)
			}
			var e struct {
				Error struct {
					Message string `json:"message"`
					Type    string `json:"type"`
					Code    any    `json:"code"`
				} `json:"error"`
			}
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("decode %s: %v", body, err)
			}
			if e.Error.Type != tt.wantType || e.Error.Code != tt.wantCode || e.Error.Message == "" {
				t.Errorf("error = %+v, want type %q code %v", e.Error, tt.wantType, tt.wantCode)
			}
			if ra := tt.headers["x-fake-retry-after"]; ra != "" && resp.Header.Get("Retry-After") != ra {
				t.Errorf("Retry-After = %q, want %q", resp.Header.Get("Retry-After"), ra)
			}
		})
	}
}

// post sends a JSON POST with extra headers over plain HTTP/1.1.
func post(t *testing.T, url, body string, headers map[string]string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	return resp
}
