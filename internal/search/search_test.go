package search

import (
	"encoding/json"
	"testing"

	"github.com/llmgate/llmgate/config"
)

// TestTavilyRequest: LiteLLM's TavilySearchConfig.transform_search_request.
func TestTavilyRequest(t *testing.T) {
	got, _ := json.Marshal(tavilyRequest([]any{"a", "b"}, map[string]any{"max_results": 3, "search_domain_filter": []string{"x.io"},
		"country": "GB", "max_tokens_per_page": 9, "topic": "news"}))
	if string(got) != `{"country":"gb","include_domains":["x.io"],"max_results":3,"query":"a b","topic":"news"}` {
		t.Errorf("%s", got)
	}
}

// TestTransformAnswer: Tavily's and Perplexity's answers as LiteLLM's SearchResponse.
func TestTransformAnswer(t *testing.T) {
	for _, c := range []struct{ provider, in, want string }{
		{"tavily", `{"query":"q","results":[{"title":"T","url":"u","content":"c","favicon":"f"}]}`,
			`{"results":[{"title":"T","url":"u","snippet":"c","date":null,"last_updated":null,"favicon":"f"}],"object":"search","provider_metadata":{"query":"q"}}`},
		{"perplexity", `{"results":[{"title":"T","url":"u","snippet":"s","date":"2024-01-01"}],"id":"x"}`,
			`{"results":[{"title":"T","url":"u","snippet":"s","date":"2024-01-01","last_updated":null}],"object":"search"}`},
		{"perplexity", `{}`, `{"results":[],"object":"search"}`},
	} {
		got, err := transformAnswer(c.provider, []byte(c.in))
		if err != nil || string(got) != c.want {
			t.Errorf("%s %s:\n%s (%v)\nwant\n%s", c.provider, c.in, got, err, c.want)
		}
	}
}

func TestCost(t *testing.T) {
	p := 0.5
	for _, c := range []struct {
		tool   config.SearchTool
		params map[string]any
		want   float64
	}{
		{config.SearchTool{Provider: "tavily"}, nil, 0.008},
		{config.SearchTool{Provider: "tavily"}, map[string]any{"search_depth": "advanced"}, 0.016},
		{config.SearchTool{Provider: "perplexity"}, nil, 0.005},
		{config.SearchTool{Provider: "tavily", InputCostPerQuery: &p}, nil, 0.5},
	} {
		if got := cost(c.tool, c.params); got != c.want {
			t.Errorf("%+v %v: %v, want %v", c.tool, c.params, got, c.want)
		}
	}
}
