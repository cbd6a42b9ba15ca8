package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/llmgate/llmgate/internal/fakevectors"
)

var searchPages = []fakevectors.Page{
	{Title: "Envoy", URL: "https://envoyproxy.io", Text: "Envoy is an edge and service proxy.", Date: "2024-05-01"},
	{Title: "LiteLLM", URL: "https://litellm.ai", Text: "LiteLLM is a proxy for LLM APIs.", Date: "2025-01-02"},
}

// TestSearchTools (D150): LiteLLM's search_tools at /v1/search/{tool}
// through the real Envoy (the module on: the config has no vector store):
// a Tavily tool and a Perplexity tool answered in LiteLLM's SearchResponse
// from their own wire formats, their prices, /v1/search/tools, the errors,
// and a virtual key's spend.
func TestSearchTools(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	tav := fakevectors.StartT(t, fakevectors.Options{SearchProvider: "tavily", SearchKey: "tvly-secret", Pages: searchPages})
	px := fakevectors.StartT(t, fakevectors.Options{SearchProvider: "perplexity", SearchKey: "pplx-secret", Pages: searchPages})
	g := startGateway(t, fmt.Sprintf(`
model_list:
  - model_name: gpt
    litellm_params: {model: openai/gpt, api_base: %s/v1, api_key: k}
general_settings:
  master_key: %s
search_tools:
  - search_tool_name: web
    litellm_params:
      search_provider: tavily
      api_key: os.environ/TAVILY_API_KEY
      api_base: %s
    search_tool_info:
      description: Tavily web search
  - search_tool_name: px
    litellm_params:
      search_provider: perplexity
      api_key: pplx-secret
      api_base: %s
      max_tokens_per_page: 512
`, fake.URL(), master, tav.URL, px.URL), "TAVILY_API_KEY=tvly-secret")
	noSecret := func(t *testing.T, b []byte) {
		t.Helper()
		if strings.Contains(string(b), "tvly-secret") || strings.Contains(string(b), "pplx-secret") {
			t.Errorf("an answer holds a provider key: %s", b)
		}
	}

	t.Run("tavily", func(t *testing.T) {
		tav.Reset()
		code, h, b := do(t, "POST", g.URL+"/v1/search/web", master, `{"query":"which proxy for LLM","max_results":2,"search_domain_filter":["litellm.ai"],"country":"US","search_depth":"advanced","max_tokens_per_page":100}`)
		if code != 200 {
			t.Fatalf("%d %s", code, b)
		}
		noSecret(t, b)
		want := `{"results":[{"title":"Envoy","url":"https://envoyproxy.io","snippet":"Envoy is an edge and service proxy.","date":null,"last_updated":null,"raw_content":null,"score":0.9},` +
			`{"title":"LiteLLM","url":"https://litellm.ai","snippet":"LiteLLM is a proxy for LLM APIs.","date":null,"last_updated":null,"raw_content":null,"score":0.8}],"object":"search",` +
			`"provider_metadata":{"answer":null,"follow_up_questions":null,"images":[],"query":"which proxy for LLM","request_id":"req-tavily-1","response_time":0.52}}`
		if string(b) != want {
			t.Errorf("answer\n%s\nwant\n%s", b, want)
		}
		if c := h.Get("x-litellm-response-cost"); c != "0.016" {
			t.Errorf("x-litellm-response-cost %q, want 0.016 (tavily/search-advanced)", c)
		}
		reqs := tav.Requests()
		if len(reqs) != 1 || reqs[0].Path != "/search" || reqs[0].Header.Get("Authorization") != "Bearer tvly-secret" {
			t.Fatalf("requests %v", reqs)
		}
		sent, _ := json.Marshal(reqs[0].Body)
		if string(sent) != `{"country":"us","include_domains":["litellm.ai"],"max_results":2,"query":"which proxy for LLM","search_depth":"advanced"}` {
			t.Errorf("Tavily got %s", sent)
		}
	})

	t.Run("perplexity, the tool named in the body", func(t *testing.T) {
		px.Reset()
		code, h, b := do(t, "POST", g.URL+"/search", master, `{"search_tool_name":"px","query":["envoy edge"],"max_results":5}`)
		if code != 200 {
			t.Fatalf("%d %s", code, b)
		}
		want := `{"results":[{"title":"Envoy","url":"https://envoyproxy.io","snippet":"Envoy is an edge and service proxy.","date":"2024-05-01","last_updated":"2024-05-01"}],"object":"search"}`
		if string(b) != want {
			t.Errorf("answer\n%s\nwant\n%s", b, want)
		}
		if c := h.Get("x-litellm-response-cost"); c != "0.005" {
			t.Errorf("x-litellm-response-cost %q", c)
		}
		reqs := px.Requests()
		sent, _ := json.Marshal(reqs[0].Body)
		if len(reqs) != 1 || string(sent) != `{"max_results":5,"max_tokens_per_page":512,"query":["envoy edge"]}` || reqs[0].Header.Get("Authorization") != "Bearer pplx-secret" {
			t.Errorf("Perplexity got %s %v", sent, reqs[0].Header)
		}
	})

	t.Run("tools list", func(t *testing.T) {
		code, _, b := do(t, "GET", g.URL+"/v1/search/tools", master, "")
		want := `{"object":"list","data":[{"search_tool_name":"web","search_provider":"tavily","description":"Tavily web search"},{"search_tool_name":"px","search_provider":"perplexity"}]}`
		if code != 200 || string(b) != want {
			t.Errorf("%d %s", code, b)
		}
	})

	t.Run("errors", func(t *testing.T) {
		tav.Reset()
		for _, c := range []struct {
			path, key, body string
			status          int
			msg             string
		}{
			{"/v1/search/nope", master, `{"query":"x"}`, 400, "Search tool 'nope' not found in router.search_tools"},
			{"/v1/search/web", "sk-wrong", `{"query":"x"}`, 401, ""},
			{"/v1/search/web", master, `{"max_results":1}`, 400, "query must be a string or list of strings"},
			{"/v1/search", master, `{"query":"x"}`, 400, "Missing required parameter 'search_tool_name'"},
		} {
			code, _, b := do(t, "POST", g.URL+c.path, c.key, c.body)
			if code != c.status || !strings.Contains(string(b), c.msg) || !strings.Contains(string(b), `"error"`) {
				t.Errorf("%s %s: %d %s", c.path, c.body, code, b)
			}
		}
		if n := len(tav.Requests()); n != 0 {
			t.Errorf("%d refused searches reached Tavily", n)
		}
	})

	t.Run("a virtual key's spend", func(t *testing.T) {
		k := keyAPI{t, g}
		key, _ := k.generate(`{}`)
		for i := 0; i < 2; i++ {
			if code, _, b := do(t, "POST", g.URL+"/v1/search/web", key, `{"query":"envoy"}`); code != 200 {
				t.Fatalf("%d %s", code, b)
			}
		}
		deadline := time.Now().Add(10 * time.Second)
		for math.Abs(k.spend(key)-0.016) > 1e-9 && time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
		}
		if s := k.spend(key); math.Abs(s-0.016) > 1e-9 {
			t.Errorf("the key's spend %v, want 0.016 (two tavily/search queries at 0.008)", s)
		}
	})
}
