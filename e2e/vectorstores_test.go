package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/llmgate/llmgate/internal/fakevectors"
)

const (
	vsOpenAIKey = "sk-vector-provider"
	vsAWSID     = "AKIAFAKEKNOWLEDGE000"
	vsAWSSecret = "kb-secret-access-key"
)

var (
	vsPolicy = fakevectors.Doc{FileID: "file-policy", Filename: "policy.md", Text: "Refunds are accepted within 30 days of purchase."}
	vsSizes  = fakevectors.Doc{FileID: "file-sizes", Filename: "sizes.md", Text: "Refunds for shoes follow the sizes guide."}
	vsKB     = fakevectors.Doc{FileID: "kb-1", Filename: "handbook.pdf", Text: "Employees get refunds for travel expenses."}
)

func vectorStoresConfig(fake, vs string) string {
	return fmt.Sprintf(`
model_list:
  - model_name: gpt
    litellm_params: {model: openai/gpt, api_base: %[1]s/v1, api_key: k}
general_settings:
  master_key: %[3]s
environment_variables:
  OPENAI_API_KEY: %[4]s
  OPENAI_API_BASE: %[2]s/v1
vector_store_registry:
  - vector_store_name: docs
    litellm_params:
      vector_store_id: vs_docs
      custom_llm_provider: openai
      vector_store_description: the shop's documents
  - vector_store_name: handbook
    litellm_params:
      vector_store_id: KB12345678
      custom_llm_provider: bedrock
      aws_access_key_id: %[5]s
      aws_secret_access_key: %[6]s
      aws_region_name: eu-west-1
      api_base: %[2]s
  - vector_store_name: gone
    litellm_params:
      vector_store_id: vs_gone
      custom_llm_provider: openai
      api_key: %[4]s
      api_base: %[2]s/v1
`, fake, vs, master, vsOpenAIKey, vsAWSID, vsAWSSecret)
}

// TestVectorStores (D150): LiteLLM's vector_store_registry through the real
// Envoy: /v1/vector_stores/{id}/search with openai-go's VectorStores.Search
// against OpenAI's vector store API and a Bedrock knowledge base (SigV4),
// and chat completions naming a store (vector_store_ids, a file_search
// tool) getting LiteLLM's context message before their last message.
func TestVectorStores(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	vs := fakevectors.StartT(t, fakevectors.Options{
		OpenAIKey:      vsOpenAIKey,
		OpenAIStores:   map[string][]fakevectors.Doc{"vs_docs": {vsPolicy, vsSizes}, "vs_other": {vsSizes}},
		KnowledgeBases: map[string][]fakevectors.Doc{"KB12345678": {vsKB}},
		AWSAccessKeyID: vsAWSID, AWSSecretAccessKey: vsAWSSecret, AWSRegion: "eu-west-1",
	})
	g := startGateway(t, vectorStoresConfig(fake.URL(), vs.URL))
	client := newClient(g, master)
	ctx := context.Background()
	noSecrets := func(t *testing.T, b []byte) {
		t.Helper()
		for _, s := range []string{vsOpenAIKey, vsAWSSecret, vsAWSID} {
			if strings.Contains(string(b), s) {
				t.Errorf("an answer holds a provider credential: %s", b)
			}
		}
	}

	t.Run("openai search", func(t *testing.T) {
		vs.Reset()
		page, err := client.VectorStores.Search(ctx, "vs_docs", openai.VectorStoreSearchParams{
			Query:         openai.VectorStoreSearchParamsQueryUnion{OfString: openai.String("what about refunds?")},
			MaxNumResults: openai.Int(1),
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Data) != 1 || page.Data[0].Filename != "policy.md" || page.Data[0].FileID != "file-policy" ||
			len(page.Data[0].Content) != 1 || page.Data[0].Content[0].Text != vsPolicy.Text {
			t.Fatalf("search page %s", page.RawJSON())
		}
		noSecrets(t, []byte(page.RawJSON()))
		reqs := vs.Requests()
		if len(reqs) != 1 {
			t.Fatalf("%d requests reached the vector store, want 1", len(reqs))
		}
		r := reqs[0]
		if r.Path != "/v1/vector_stores/vs_docs/search" || r.Header.Get("Authorization") != "Bearer "+vsOpenAIKey || r.Header.Get("OpenAI-Beta") != "assistants=v2" {
			t.Errorf("the store got %s with Authorization %q, OpenAI-Beta %q", r.Path, r.Header.Get("Authorization"), r.Header.Get("OpenAI-Beta"))
		}
		if r.Body["query"] != "what about refunds?" || r.Body["max_num_results"] != float64(1) {
			t.Errorf("the store's body %v", r.Body)
		}
		// LiteLLM's alias without /v1.
		code, _, b := do(t, "POST", g.URL+"/vector_stores/vs_docs/search", master, `{"query":"refunds"}`)
		if code != 200 || !strings.Contains(string(b), `"vector_store.search_results.page"`) || !strings.Contains(string(b), "sizes.md") {
			t.Errorf("/vector_stores/vs_docs/search: %d %s", code, b)
		}
	})

	t.Run("bedrock knowledge base search", func(t *testing.T) {
		vs.Reset()
		page, err := client.VectorStores.Search(ctx, "KB12345678", openai.VectorStoreSearchParams{
			Query:         openai.VectorStoreSearchParamsQueryUnion{OfString: openai.String("travel refunds")},
			MaxNumResults: openai.Int(3),
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Data) != 1 || page.Data[0].Content[0].Text != vsKB.Text || page.Data[0].Filename != "handbook.pdf" ||
			page.Data[0].FileID != "s3://kb-bucket/docs/handbook.pdf" || page.Data[0].Score != 0.8 {
			t.Fatalf("search page %s", page.RawJSON())
		}
		var raw map[string]any
		_ = json.Unmarshal([]byte(page.RawJSON()), &raw)
		if raw["object"] != "vector_store.search_results.page" || raw["search_query"] != "travel refunds" {
			t.Errorf("page %s", page.RawJSON())
		}
		noSecrets(t, []byte(page.RawJSON()))
		reqs := vs.Requests()
		if len(reqs) != 1 || reqs[0].Path != "/knowledgebases/KB12345678/retrieve" {
			t.Fatalf("requests %v", reqs)
		}
		b, _ := json.Marshal(reqs[0].Body)
		if string(b) != `{"retrievalConfiguration":{"vectorSearchConfiguration":{"numberOfResults":3}},"retrievalQuery":{"text":"travel refunds"}}` {
			t.Errorf("Retrieve body %s", b)
		}
	})

	t.Run("errors", func(t *testing.T) {
		vs.Reset()
		// An id no entry names goes to OpenAI with the environment's key
		// (LiteLLM's default): the store's 404 comes back.
		_, err := client.VectorStores.Search(ctx, "vs_unknown", openai.VectorStoreSearchParams{
			Query: openai.VectorStoreSearchParamsQueryUnion{OfString: openai.String("refunds")},
		})
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || !strings.Contains(apiErr.Message, "No vector store found with id 'vs_unknown'") {
			t.Errorf("an unknown store: %v", err)
		}
		if n := len(vs.Requests()); n != 1 {
			t.Errorf("%d requests for the unknown store, want 1 (to OpenAI)", n)
		}
		vs.Reset()
		code, _, b := do(t, "POST", g.URL+"/v1/vector_stores/vs_docs/search", "sk-wrong", `{"query":"refunds"}`)
		if code != 401 || !strings.Contains(string(b), `"error"`) {
			t.Errorf("a wrong key: %d %s", code, b)
		}
		code, _, b = do(t, "POST", g.URL+"/v1/vector_stores/vs_docs/search", master, `{"max_num_results":2}`)
		if code != 400 || !strings.Contains(string(b), "query") {
			t.Errorf("no query: %d %s", code, b)
		}
		code, _, b = do(t, "GET", g.URL+"/v1/vector_stores/vs_docs/search", master, ``)
		if code != 405 {
			t.Errorf("GET search: %d %s", code, b)
		}
		if n := len(vs.Requests()); n != 0 {
			t.Errorf("refused requests reached the store (%d)", n)
		}
	})

	t.Run("a virtual key", func(t *testing.T) {
		code, _, body := do(t, "POST", g.URL+"/key/generate", master, `{}`)
		var k struct {
			Key string `json:"key"`
		}
		if code != 200 || json.Unmarshal(body, &k) != nil || k.Key == "" {
			t.Fatalf("/key/generate: %d %s", code, body)
		}
		vc := newClient(g, k.Key)
		page, err := vc.VectorStores.Search(ctx, "vs_docs", openai.VectorStoreSearchParams{
			Query: openai.VectorStoreSearchParamsQueryUnion{OfString: openai.String("refunds")},
		})
		if err != nil || len(page.Data) != 2 {
			t.Errorf("a virtual key's search: %v", err)
		}
	})

	// lastChat is the chat body the provider got.
	lastChat := func(t *testing.T) map[string]any {
		t.Helper()
		var body map[string]any
		for _, r := range fake.Requests() {
			if strings.HasSuffix(r.Path, "/chat/completions") {
				body = nil
				_ = json.Unmarshal(r.Body, &body)
			}
		}
		if body == nil {
			t.Fatal("no chat request reached the provider")
		}
		return body
	}
	messagesOf := func(body map[string]any) []map[string]any {
		var out []map[string]any
		list, _ := body["messages"].([]any)
		for _, m := range list {
			mm, _ := m.(map[string]any)
			out = append(out, mm)
		}
		return out
	}
	contextOf := func(docs ...fakevectors.Doc) string {
		s := "Context:\n\n"
		for _, d := range docs {
			s += d.Text + "\n\n"
		}
		return s
	}

	t.Run("chat with vector_store_ids", func(t *testing.T) {
		fake.Reset()
		vs.Reset()
		resp, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model: "gpt",
			Messages: []openai.ChatCompletionMessageParamUnion{
				openai.SystemMessage("you are a shop assistant"),
				openai.UserMessage("what is the policy on refunds?"),
			},
		}, option.WithJSONSet("vector_store_ids", []string{"vs_docs", "KB12345678"}))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(resp.Choices[0].Message.Content, "what is the policy on refunds?") {
			t.Errorf("answer %q", resp.Choices[0].Message.Content)
		}
		body := lastChat(t)
		if _, ok := body["vector_store_ids"]; ok {
			t.Errorf("vector_store_ids reached the provider")
		}
		msgs := messagesOf(body)
		want := []map[string]any{
			{"role": "system", "content": "you are a shop assistant"},
			{"role": "user", "content": contextOf(vsPolicy, vsSizes)},
			{"role": "user", "content": contextOf(vsKB)},
			{"role": "user", "content": "what is the policy on refunds?"},
		}
		if fmt.Sprint(msgs) != fmt.Sprint(want) {
			t.Errorf("the provider's messages\n%v\nwant\n%v", msgs, want)
		}
		if n := len(vs.Requests()); n != 2 {
			t.Errorf("%d searches, want 2", n)
		}
		// LiteLLM's post-call hook: the pages in the message's
		// provider_specific_fields.search_results.
		var m struct {
			Fields struct {
				Results []struct {
					Object string `json:"object"`
					Data   []struct {
						Filename string `json:"filename"`
					} `json:"data"`
				} `json:"search_results"`
				Failures []any `json:"vector_store_search_failures"`
			} `json:"provider_specific_fields"`
		}
		if err := json.Unmarshal([]byte(resp.Choices[0].Message.RawJSON()), &m); err != nil {
			t.Fatal(err)
		}
		r := m.Fields.Results
		if len(r) != 2 || r[0].Object != "vector_store.search_results.page" || len(r[0].Data) != 2 || r[0].Data[0].Filename != "policy.md" ||
			len(r[1].Data) != 1 || r[1].Data[0].Filename != "handbook.pdf" || m.Fields.Failures != nil {
			t.Errorf("the answer's message %s", resp.Choices[0].Message.RawJSON())
		}
	})

	t.Run("a streamed chat with vector_store_ids", func(t *testing.T) {
		fake.Reset()
		st := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
			Model:    "gpt",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("refunds for shoes?")},
		}, option.WithJSONSet("vector_store_ids", []string{"vs_docs"}))
		var text string
		for st.Next() {
			if c := st.Current(); len(c.Choices) > 0 {
				text += c.Choices[0].Delta.Content
			}
		}
		if err := st.Err(); err != nil || !strings.Contains(text, "refunds for shoes?") {
			t.Fatalf("stream: %v %q", err, text)
		}
		if msgs := messagesOf(lastChat(t)); len(msgs) != 2 || msgs[0]["content"] != contextOf(vsPolicy, vsSizes) {
			t.Errorf("the provider's messages %v", msgs)
		}
	})

	t.Run("chat with a file_search tool", func(t *testing.T) {
		fake.Reset()
		vs.Reset()
		_, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model:    "gpt",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("refunds?")},
		}, option.WithJSONSet("tools", []map[string]any{{"type": "file_search", "vector_store_ids": []string{"vs_docs"}, "max_num_results": 1}}))
		if err != nil {
			t.Fatal(err)
		}
		body := lastChat(t)
		if _, ok := body["tools"]; ok {
			t.Errorf("the file_search tool reached the provider: %v", body["tools"])
		}
		msgs := messagesOf(body)
		if len(msgs) != 2 || msgs[0]["content"] != contextOf(vsPolicy) || msgs[1]["content"] != "refunds?" {
			t.Errorf("the provider's messages %v", msgs)
		}
		reqs := vs.Requests()
		if len(reqs) != 1 || reqs[0].Body["max_num_results"] != float64(1) || reqs[0].Body["query"] != "refunds?" {
			t.Errorf("the search %v", reqs)
		}
	})

	t.Run("chat when a search fails", func(t *testing.T) {
		fake.Reset()
		vs.Reset()
		// vs_gone is registered but the store does not know it: LiteLLM's
		// default failure mode goes on without its context.
		resp, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model:    "gpt",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("refunds?")},
		}, option.WithJSONSet("vector_store_ids", []string{"vs_gone"}))
		if err != nil || resp.Choices[0].Message.Content == "" {
			t.Fatalf("chat: %v", err)
		}
		msgs := messagesOf(lastChat(t))
		if len(msgs) != 1 || msgs[0]["content"] != "refunds?" {
			t.Errorf("the provider's messages %v", msgs)
		}
		if n := len(vs.Requests()); n != 1 {
			t.Errorf("%d searches, want 1", n)
		}
		var m struct {
			Fields struct {
				Results  []any `json:"search_results"`
				Failures []struct {
					ID       string `json:"vector_store_id"`
					Provider string `json:"custom_llm_provider"`
					Error    string `json:"error"`
				} `json:"vector_store_search_failures"`
			} `json:"provider_specific_fields"`
		}
		_ = json.Unmarshal([]byte(resp.Choices[0].Message.RawJSON()), &m)
		if f := m.Fields.Failures; len(f) != 1 || f[0].ID != "vs_gone" || f[0].Provider != "openai" || !strings.Contains(f[0].Error, "No vector store found") || m.Fields.Results != nil {
			t.Errorf("the answer's message %s", resp.Choices[0].Message.RawJSON())
		}
	})

	t.Run("chat naming no registered store", func(t *testing.T) {
		fake.Reset()
		vs.Reset()
		_, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model:    "gpt",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("refunds?")},
		})
		if err != nil {
			t.Fatal(err)
		}
		if n := len(vs.Requests()); n != 0 {
			t.Errorf("%d searches for a chat naming no store", n)
		}
		if msgs := messagesOf(lastChat(t)); len(msgs) != 1 {
			t.Errorf("messages %v", msgs)
		}
	})
}
