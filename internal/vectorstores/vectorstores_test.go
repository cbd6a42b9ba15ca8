package vectorstores

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/fakevectors"
)

func searcher(t *testing.T, fake *fakevectors.Server) *Searcher {
	t.Helper()
	yaml := fmt.Sprintf(`
model_list:
  - model_name: gpt
    litellm_params: {model: openai/gpt, api_key: k}
vector_store_registry:
  - vector_store_name: docs
    litellm_params: {vector_store_id: vs_docs, custom_llm_provider: openai, api_key: sk-p, api_base: %[1]s/v1}
  - vector_store_name: capped
    litellm_params: {vector_store_id: vs_capped, custom_llm_provider: openai, api_key: sk-p, api_base: %[1]s/v1, max_num_results: 1}
`, fake.URL)
	cfg, err := config.Parse([]byte(yaml), "c.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return New(cfg)
}

var docs = []fakevectors.Doc{{FileID: "f1", Filename: "a.md", Text: "alpha refunds"}, {FileID: "f2", Filename: "b.md", Text: "beta refunds"}}

// TestAugment: LiteLLM's pop_vector_stores_to_run and context message.
func TestAugment(t *testing.T) {
	fake := fakevectors.StartT(t, fakevectors.Options{OpenAIKey: "sk-p", OpenAIStores: map[string][]fakevectors.Doc{"vs_docs": docs, "vs_capped": docs}})
	s := searcher(t, fake)
	ctx := context.Background()
	for _, c := range []struct {
		name, body string
		want       string // the new body; "" unchanged
		searches   int
	}{
		{"no store named", `{"model":"gpt","messages":[{"role":"user","content":"refunds"}]}`, "", 0},
		{"an unregistered id only", `{"model":"gpt","vector_store_ids":["vs_x"],"messages":[{"role":"user","content":"refunds"}]}`, "", 0},
		{"vector_store_ids", `{"model":"gpt","vector_store_ids":["vs_docs","vs_x"],"messages":[{"role":"user","content":"refunds"}]}`,
			`{"messages":[{"role":"user","content":"Context:\n\nalpha refunds\n\nbeta refunds\n\n"},{"role":"user","content":"refunds"}],"model":"gpt"}`, 1},
		{"a text part of the last message", `{"model":"gpt","vector_store_ids":["vs_docs"],"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}},{"type":"text","text":"alpha"}]}]}`,
			`{"messages":[{"role":"user","content":"Context:\n\nalpha refunds\n\n"},{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}},{"type":"text","text":"alpha"}]}],"model":"gpt"}`, 1},
		{"tools: registered removed, others kept; the entry's max_num_results wins", `{"model":"gpt","tools":[{"type":"file_search","vector_store_ids":["vs_capped"],"max_num_results":5},{"type":"file_search","vector_store_ids":["vs_docs","vs_x"]},{"type":"function","function":{"name":"f"}}],"messages":[{"role":"user","content":"refunds"}]}`,
			`{"messages":[{"role":"user","content":"Context:\n\nalpha refunds\n\n"},{"role":"user","content":"refunds"}],"model":"gpt","tools":[{"type":"file_search","vector_store_ids":["vs_docs","vs_x"]},{"type":"function","function":{"name":"f"}}]}`, 1},
		{"no query: taken out, nothing searched", `{"model":"gpt","vector_store_ids":["vs_docs"],"tools":[{"type":"file_search","vector_store_ids":["vs_docs"]}],"tool_choice":"auto","messages":[{"role":"user","content":""}]}`,
			`{"messages":[{"role":"user","content":""}],"model":"gpt"}`, 0},
		{"no result: no context message", `{"model":"gpt","vector_store_ids":["vs_docs"],"messages":[{"role":"user","content":"nothing matches"}]}`,
			`{"messages":[{"role":"user","content":"nothing matches"}],"model":"gpt"}`, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			fake.Reset()
			wanted := s.Wanted([]byte(c.body))
			if wanted != (c.want != "") {
				t.Fatalf("Wanted = %v", wanted)
			}
			if !wanted {
				return
			}
			out, aug := s.Augment(ctx, []byte(c.body), nil)
			if string(out) != c.want {
				t.Errorf("body\n%s\nwant\n%s", out, c.want)
			}
			if n := len(fake.Requests()); n != c.searches || len(aug.Searched) != c.searches {
				t.Errorf("%d searches (%v), want %d", n, aug.Searched, c.searches)
			}
		})
	}
	fake.Reset()
	body := `{"model":"gpt","tools":[{"type":"file_search","vector_store_ids":["vs_capped"],"max_num_results":5,"rewrite_query":true}],"messages":[{"role":"user","content":"refunds"}]}`
	s.Augment(ctx, []byte(body), nil)
	if r := fake.Requests(); len(r) != 1 || r[0].Body["max_num_results"] != float64(1) || r[0].Body["rewrite_query"] != true {
		t.Errorf("the search's parameters %v", r)
	}
}

func TestBedrockFilter(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`{"key":"year","value":2024,"operator":"gte"}`, `{"greaterThanOrEquals":{"key":"year","value":2024}}`},
		{`{"and":[{"key":"a","value":"x","operator":"eq"}]}`, `{"equals":{"key":"a","value":"x"}}`},
		{`{"or":[{"key":"a","value":"x","operator":"eq"},{"key":"b","value":["y"],"operator":"nin"}]}`, `{"orAll":[{"equals":{"key":"a","value":"x"}},{"notIn":{"key":"b","value":["y"]}}]}`},
		{`{"equals":{"key":"a","value":"x"}}`, `{"equals":{"key":"a","value":"x"}}`},
	} {
		var in any
		_ = json.Unmarshal([]byte(c.in), &in)
		got, _ := json.Marshal(bedrockFilter(in))
		if string(got) != c.want {
			t.Errorf("%s → %s, want %s", c.in, got, c.want)
		}
	}
}

func TestKBNames(t *testing.T) {
	for _, c := range []struct {
		meta           map[string]any
		fileID, fileNm string
	}{
		{map[string]any{"x-amz-bedrock-kb-source-uri": "s3://b/docs/x.pdf"}, "s3://b/docs/x.pdf", "x.pdf"},
		{map[string]any{"x-amz-bedrock-kb-source-uri": "https://example.com/"}, "https://example.com/", "example.com"},
		{map[string]any{"x-amz-bedrock-kb-chunk-id": "c1", "x-amz-bedrock-kb-data-source-id": "DS"}, "bedrock-kb-c1", "bedrock-kb-document-DS"},
		{nil, "bedrock-kb-unknown", "bedrock-kb-document-unknown"},
	} {
		if id, nm := kbFileID(c.meta), kbFilename(c.meta); id != c.fileID || nm != c.fileNm {
			t.Errorf("%v: %q %q, want %q %q", c.meta, id, nm, c.fileID, c.fileNm)
		}
	}
}

// TestAnnotate: LiteLLM's post-call hook adds the pages and failures to
// every choice's provider_specific_fields, keeping the fields there.
func TestAnnotate(t *testing.T) {
	a := &Augmented{Results: []json.RawMessage{json.RawMessage(`{"object":"vector_store.search_results.page","data":[]}`)},
		Failures: []Failure{{VectorStoreID: "v", CustomLLMProvider: "openai", Error: "e"}}}
	in := `{"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":"hi","provider_specific_fields":{"x":1}}}]}`
	want := `{"choices":[{"index":0,"message":{"content":"hi","provider_specific_fields":{"search_results":[{"object":"vector_store.search_results.page","data":[]}],"vector_store_search_failures":[{"vector_store_id":"v","custom_llm_provider":"openai","error":"e"}],"x":1},"role":"assistant"}}],"id":"c"}`
	if got := a.Annotate([]byte(in)); string(got) != want {
		t.Errorf("\n%s\nwant\n%s", got, want)
	}
	if (&Augmented{}).Annotate([]byte(in)) != nil || a.Annotate([]byte(`{"error":{}}`)) != nil {
		t.Error("an answer changed with nothing to add, or without choices")
	}
}
