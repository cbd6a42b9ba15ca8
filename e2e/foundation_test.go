package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

const master = "sk-master-e2e"

func foundationConfig(fake string) string {
	return fmt.Sprintf(`
model_list:
  - model_name: gpt-x
    litellm_params:
      model: openai/gpt-4o
      api_base: %[1]s/dep-a/v1
      api_key: sk-provider-a
      temperature: 0.25
      extra_headers: {"x-team": "blue"}
      organization: org-123
  - model_name: gpt-x
    litellm_params:
      model: openai/gpt-4o
      api_base: %[1]s/dep-b/v1
      api_key: sk-provider-b
  - model_name: azure-gpt
    litellm_params:
      model: azure/my-deployment
      api_base: %[1]s
      api_key: azure-key
      api_version: "2024-06-01"
  - model_name: embed
    litellm_params:
      model: openai/text-embedding-3-small
      api_base: %[1]s/v1
      api_key: sk-provider-e
  - model_name: groq-llama
    litellm_params:
      model: groq/llama-3.1-8b-instant
      api_base: %[1]s/groq/openai/v1
      api_key: gsk-test
  - model_name: "openai/*"
    litellm_params:
      model: "openai/*"
      api_base: %[1]s/wild/v1
      api_key: sk-wild
  - model_name: mock
    litellm_params:
      model: openai/gpt-4o
      mock_response: "mocked!"
  - model_name: dead
    litellm_params:
      model: openai/gpt-4o
      api_base: http://127.0.0.1:1/v1
      api_key: k
  - model_name: slow
    litellm_params:
      model: openai/gpt-4o
      api_base: %[1]s/slow/v1
      api_key: k
      timeout: 1
router_settings:
  num_retries: 2
  model_group_alias: {"gpt-alias": "gpt-x", "secret-alias": {"model": "gpt-x", "hidden": true}}
general_settings:
  master_key: %[2]s
`, fake, master)
}

func newClient(g *Gateway, key string) openai.Client {
	return openai.NewClient(option.WithBaseURL(g.URL+"/v1"), option.WithAPIKey(key), option.WithMaxRetries(0),
		option.WithRequestTimeout(30*time.Second))
}

func TestFoundation(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, foundationConfig(fake.URL()))
	client := newClient(g, master)
	ctx := context.Background()

	t.Run("chat through envoy with openai-go", func(t *testing.T) {
		fake.Reset()
		var raw *http.Response
		resp, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model:    "gpt-x",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello gateway")},
		}, option.WithResponseInto(&raw))
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.Choices[0].Message.Content; got != fakeprovider.ReplyPrefix+"hello gateway" {
			t.Fatalf("content = %q", got)
		}
		hdr := raw.Header
		if resp.Usage.TotalTokens == 0 {
			t.Errorf("usage missing: %+v", resp.Usage)
		}
		for _, h := range []string{"x-litellm-model-id", "x-litellm-model-group", "x-litellm-call-id", "x-litellm-response-duration-ms", "x-litellm-model-api-base"} {
			if hdr.Get(h) == "" {
				t.Errorf("response header %s missing; headers: %v", h, hdr)
			}
		}
		if hdr.Get("x-litellm-model-group") != "gpt-x" {
			t.Errorf("model group header = %q", hdr.Get("x-litellm-model-group"))
		}
		rec, ok := fake.Last()
		if !ok {
			t.Fatal("fake provider saw no request")
		}
		if !strings.HasSuffix(rec.Path, "/v1/chat/completions") {
			t.Errorf("upstream path = %q", rec.Path)
		}
		auth := rec.Header.Get("Authorization")
		if auth != "Bearer sk-provider-a" && auth != "Bearer sk-provider-b" {
			t.Errorf("upstream Authorization = %q: want the provider key, never the client's", auth)
		}
		if strings.Contains(fmt.Sprint(rec.Header), master) {
			t.Errorf("the client's key reached the provider: %v", rec.Header)
		}
		if rec.Header.Get("X-Llmgate-Ctx") != "" || rec.Header.Get("X-Llmgate-Group") != "" {
			t.Errorf("internal headers leaked upstream: %v", rec.Header)
		}
		var body map[string]any
		if err := json.Unmarshal(rec.Body, &body); err != nil {
			t.Fatal(err)
		}
		if body["model"] != "gpt-4o" {
			t.Errorf("upstream model = %v, want the provider model id", body["model"])
		}
		if strings.HasPrefix(rec.Path, "/dep-a/") {
			if body["temperature"] != 0.25 {
				t.Errorf("deployment default temperature not applied: %v", body["temperature"])
			}
			if rec.Header.Get("X-Team") != "blue" || rec.Header.Get("Openai-Organization") != "org-123" {
				t.Errorf("extra_headers/organization missing: %v", rec.Header)
			}
		}
		// The request went through Envoy: its access log names the deployment's cluster.
		deadline := time.Now().Add(3 * time.Second)
		for !strings.Contains(g.Stdout(), "cluster=dep_") && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if !strings.Contains(g.Stdout(), "cluster=dep_") {
			t.Errorf("access log does not show the upstream cluster:\n%s", g.Stdout())
		}
	})

	t.Run("request value wins over deployment default", func(t *testing.T) {
		fake.Reset()
		for i := 0; i < 6; i++ {
			code, _, b := post(t, g.URL+"/v1/chat/completions", master, `{"model":"gpt-x","temperature":0.9,"messages":[{"role":"user","content":"x"}]}`)
			if code != 200 {
				t.Fatalf("status %d: %s", code, b)
			}
		}
		for _, r := range fake.Requests() {
			var body map[string]any
			_ = json.Unmarshal(r.Body, &body)
			if body["temperature"] != 0.9 {
				t.Errorf("%s: temperature = %v, want the request's 0.9", r.Path, body["temperature"])
			}
		}
	})

	t.Run("streaming with openai-go", func(t *testing.T) {
		stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
			Model:         "gpt-x",
			Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("stream me please")},
			StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
		})
		var acc openai.ChatCompletionAccumulator
		chunks := 0
		for stream.Next() {
			acc.AddChunk(stream.Current())
			chunks++
		}
		if err := stream.Err(); err != nil {
			t.Fatal(err)
		}
		if chunks < 3 {
			t.Errorf("got %d chunks, want a real stream", chunks)
		}
		if got := acc.Choices[0].Message.Content; got != fakeprovider.ReplyPrefix+"stream me please" {
			t.Errorf("streamed content = %q", got)
		}
		if acc.Usage.TotalTokens == 0 {
			t.Errorf("no usage chunk with include_usage")
		}
	})

	t.Run("embeddings", func(t *testing.T) {
		resp, err := client.Embeddings.New(ctx, openai.EmbeddingNewParams{
			Model: "embed",
			Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"a", "b"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Data) != 2 || len(resp.Data[0].Embedding) == 0 {
			t.Fatalf("embeddings = %+v", resp.Data)
		}
	})

	t.Run("azure deployment path, api-version and api-key", func(t *testing.T) {
		fake.Reset()
		resp, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model:    "azure-gpt",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi azure")},
		})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Choices[0].Message.Content == "" {
			t.Fatal("empty content")
		}
		rec, _ := fake.Last()
		if rec.Path != "/openai/deployments/my-deployment/chat/completions" || rec.Query != "api-version=2024-06-01" {
			t.Errorf("azure upstream = %s?%s", rec.Path, rec.Query)
		}
		if rec.Header.Get("Api-Key") != "azure-key" || rec.Header.Get("Authorization") != "" {
			t.Errorf("azure auth headers: api-key=%q authorization=%q", rec.Header.Get("Api-Key"), rec.Header.Get("Authorization"))
		}
	})

	t.Run("azure-style client path", func(t *testing.T) {
		code, _, b := post(t, g.URL+"/openai/deployments/gpt-x/chat/completions?api-version=2024-06-01", master, `{"messages":[{"role":"user","content":"via azure path"}]}`)
		if code != 200 || !strings.Contains(string(b), "via azure path") {
			t.Fatalf("status %d: %s", code, b)
		}
	})

	t.Run("paths without /v1 and completions", func(t *testing.T) {
		code, _, b := post(t, g.URL+"/chat/completions", master, `{"model":"gpt-x","messages":[{"role":"user","content":"no v1"}]}`)
		if code != 200 {
			t.Fatalf("status %d: %s", code, b)
		}
		code, _, b = post(t, g.URL+"/v1/completions", master, `{"model":"gpt-x","prompt":"say hi"}`)
		if code != 200 || !strings.Contains(string(b), "text_completion") {
			t.Fatalf("completions: status %d: %s", code, b)
		}
	})

	t.Run("openai-compatible provider and wildcard", func(t *testing.T) {
		fake.Reset()
		code, _, b := post(t, g.URL+"/v1/chat/completions", master, `{"model":"groq-llama","messages":[{"role":"user","content":"q"}]}`)
		if code != 200 {
			t.Fatalf("status %d: %s", code, b)
		}
		rec, _ := fake.Last()
		if rec.Path != "/groq/openai/v1/chat/completions" || rec.Header.Get("Authorization") != "Bearer gsk-test" {
			t.Errorf("groq upstream %s auth %q", rec.Path, rec.Header.Get("Authorization"))
		}
		code, _, b = post(t, g.URL+"/v1/chat/completions", master, `{"model":"openai/gpt-4.1-nano","messages":[{"role":"user","content":"w"}]}`)
		if code != 200 {
			t.Fatalf("wildcard: status %d: %s", code, b)
		}
		rec, _ = fake.Last()
		var body map[string]any
		_ = json.Unmarshal(rec.Body, &body)
		if rec.Path != "/wild/v1/chat/completions" || body["model"] != "gpt-4.1-nano" {
			t.Errorf("wildcard upstream %s model %v", rec.Path, body["model"])
		}
	})

	t.Run("aliases", func(t *testing.T) {
		for _, m := range []string{"gpt-alias", "secret-alias"} {
			code, h, b := post(t, g.URL+"/v1/chat/completions", master, `{"model":"`+m+`","messages":[{"role":"user","content":"a"}]}`)
			// LiteLLM reports the alias the client used, not its group.
			if code != 200 || h.Get("x-litellm-model-group") != m {
				t.Errorf("%s: status %d group %q: %s", m, code, h.Get("x-litellm-model-group"), b)
			}
		}
	})

	t.Run("mock_response", func(t *testing.T) {
		resp, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model: "mock", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x")},
		})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Choices[0].Message.Content != "mocked!" {
			t.Errorf("mock content = %q", resp.Choices[0].Message.Content)
		}
		stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
			Model: "mock", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x")},
		})
		var acc openai.ChatCompletionAccumulator
		for stream.Next() {
			acc.AddChunk(stream.Current())
		}
		if err := stream.Err(); err != nil || acc.Choices[0].Message.Content != "mocked!" {
			t.Errorf("mock stream: %v %+v", err, acc.Choices)
		}
		// The raw SSE ends with [DONE], as OpenAI's does.
		code, h, b := post(t, g.URL+"/v1/chat/completions", master, `{"model":"gpt-x","stream":true,"messages":[{"role":"user","content":"raw"}]}`)
		ev := sseEvents(b)
		if code != 200 || !strings.HasPrefix(h.Get("content-type"), "text/event-stream") || len(ev) < 3 || ev[len(ev)-1] != "[DONE]" {
			t.Errorf("raw stream: %d %q %q", code, h.Get("content-type"), ev)
		}
	})

	t.Run("auth", func(t *testing.T) {
		bad := newClient(g, "sk-wrong")
		_, err := bad.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model: "gpt-x", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x")},
		})
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 {
			t.Fatalf("wrong key: %v", err)
		}
		code, _, b := post(t, g.URL+"/v1/chat/completions", "", `{"model":"gpt-x","messages":[]}`)
		assertOpenAIError(t, code, b, 401, "No api key passed in")
		// Other LiteLLM key headers.
		for _, hname := range []string{"x-litellm-api-key", "api-key", "x-api-key"} {
			req, _ := http.NewRequest("POST", g.URL+"/v1/chat/completions", strings.NewReader(`{"model":"gpt-x","messages":[{"role":"user","content":"k"}]}`))
			req.Header.Set(hname, master)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("key in %s: status %d", hname, resp.StatusCode)
			}
		}
	})

	t.Run("unknown model is 400", func(t *testing.T) {
		_, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model: "claude-no-such-model", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x")},
		})
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || !strings.Contains(apiErr.Message, "Invalid model name passed in model=claude-no-such-model") {
			t.Fatalf("got %v", err)
		}
	})

	t.Run("every error is OpenAI JSON", func(t *testing.T) {
		code, _, b := post(t, g.URL+"/v1/chat/completions", master, `{"model":"dead","messages":[{"role":"user","content":"x"}]}`)
		assertOpenAIError(t, code, b, 503, "")
		code, _, b = post(t, g.URL+"/v1/nope", master, `{}`)
		assertOpenAIError(t, code, b, 404, "")
		code, _, b = post(t, g.URL+"/v1/chat/completions", master, `{not json`)
		assertOpenAIError(t, code, b, 400, "")
		if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/slow"}, Fault: fakeprovider.Fault{Delay: 5 * time.Second}}); err != nil {
			t.Fatal(err)
		}
		defer fake.ClearRules()
		code, _, b = post(t, g.URL+"/v1/chat/completions", master, `{"model":"slow","num_retries":0,"messages":[{"role":"user","content":"x"}]}`)
		assertOpenAIError(t, code, b, 408, "") // LiteLLM's Timeout
		big := `{"model":"gpt-x","messages":[{"role":"user","content":"` + strings.Repeat("a", 40<<20) + `"}]}`
		code, _, b = post(t, g.URL+"/v1/chat/completions", master, big)
		assertOpenAIError(t, code, b, 413, "")
	})

	t.Run("upstream error keeps status and OpenAI shape", func(t *testing.T) {
		if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{Model: "my-deployment"}, Fault: fakeprovider.Fault{Status: 400, ErrorMessage: "bad thing"}}); err != nil {
			t.Fatal(err)
		}
		defer fake.ClearRules()
		code, _, b := post(t, g.URL+"/v1/chat/completions", master, `{"model":"azure-gpt","messages":[{"role":"user","content":"x"}]}`)
		assertOpenAIError(t, code, b, 400, "bad thing")
	})

	t.Run("retry goes to the other deployment", func(t *testing.T) {
		if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/dep-a"}, Fault: fakeprovider.Fault{Status: 500}}); err != nil {
			t.Fatal(err)
		}
		defer fake.ClearRules()
		for i := 0; i < 20; i++ {
			code, h, b := post(t, g.URL+"/v1/chat/completions", master, `{"model":"gpt-x","messages":[{"role":"user","content":"r"}]}`)
			if code != 200 {
				t.Fatalf("request %d: status %d: %s", i, code, b)
			}
			if !strings.Contains(h.Get("x-litellm-model-api-base"), "/dep-b") {
				t.Fatalf("served by %q", h.Get("x-litellm-model-api-base"))
			}
		}
	})

	t.Run("models and model info", func(t *testing.T) {
		code, _, b := do(t, "GET", g.URL+"/v1/models", master, "")
		if code != 200 {
			t.Fatalf("status %d", code)
		}
		var list struct {
			Data []struct{ ID string } `json:"data"`
		}
		_ = json.Unmarshal(b, &list)
		ids := map[string]bool{}
		for _, m := range list.Data {
			ids[m.ID] = true
		}
		if !ids["gpt-x"] || !ids["azure-gpt"] || !ids["gpt-alias"] || ids["secret-alias"] {
			t.Errorf("/v1/models = %s", b)
		}
		code, _, b = do(t, "GET", g.URL+"/model/info", master, "")
		if code != 200 || !strings.Contains(string(b), "azure/my-deployment") {
			t.Fatalf("model info: %d %s", code, b)
		}
		for _, secret := range []string{"sk-provider-a", "azure-key", "gsk-test", master} {
			if strings.Contains(string(b), secret) {
				t.Errorf("/model/info leaks a credential (%s)", secret)
			}
		}
		code, _, _ = do(t, "GET", g.URL+"/v1/models", "", "")
		if code != 401 {
			t.Errorf("/v1/models without key: %d", code)
		}
		code, _, b = do(t, "GET", g.URL+"/health/liveliness", "", "")
		if code != 200 || !strings.Contains(string(b), "alive") {
			t.Errorf("liveliness: %d %s", code, b)
		}
	})

	t.Run("credentials never in logs", func(t *testing.T) {
		logs := g.Logs()
		for _, secret := range []string{"sk-provider-a", "azure-key", "gsk-test", master} {
			if strings.Contains(logs, secret) {
				t.Errorf("logs contain a credential (%s)", secret)
			}
		}
	})
}

func assertOpenAIError(t *testing.T, code int, body []byte, want int, contains string) {
	t.Helper()
	if code != want {
		t.Errorf("status %d, want %d: %s", code, want, body)
	}
	var e struct {
		Error *struct {
			Message string  `json:"message"`
			Type    string  `json:"type"`
			Param   *string `json:"param"`
			Code    any     `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error == nil || e.Error.Message == "" || e.Error.Type == "" {
		t.Errorf("not OpenAI error JSON (status %d): %q", code, body)
		return
	}
	if contains != "" && !strings.Contains(e.Error.Message, contains) {
		t.Errorf("error message %q does not contain %q", e.Error.Message, contains)
	}
}
