package search

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/translator"
)

// Timeout bounds one search.
const Timeout = 30 * time.Second

const maxAnswer = 16 << 20

// unified are LiteLLM's Perplexity-spec parameters (a provider maps them).
var unified = map[string]bool{"max_results": true, "search_domain_filter": true, "country": true, "max_tokens_per_page": true}

// gatewayFields are request fields LiteLLM reads itself, never sent on.
var gatewayFields = map[string]bool{"search_tool_name": true, "model": true, "query": true}

// Searcher calls the config's search tools.
type Searcher struct {
	cfg *config.Config
	hc  *http.Client
}

// New is the searcher of cfg's search_tools.
func New(cfg *config.Config) *Searcher {
	return &Searcher{cfg: cfg, hc: &http.Client{Timeout: Timeout}}
}

// Result is a search's answer: LiteLLM's SearchResponse JSON and its
// price, with the tool that answered.
type Result struct {
	Body     []byte
	Cost     float64
	Provider string
}

// Search runs request body (a JSON object with query) on the tool name.
func (s *Searcher) Search(ctx context.Context, name string, req map[string]any) (*Result, *translator.Error) {
	tools := s.cfg.SearchToolsNamed(name)
	if len(tools) == 0 {
		return nil, translator.NewError(400, "invalid_request_error", "Search tool '"+name+"' not found in router.search_tools", "search_tool_name")
	}
	t := tools[rand.IntN(len(tools))] // LiteLLM: random.choice
	q := req["query"]
	if !ValidQuery(q) {
		return nil, translator.NewError(400, "invalid_request_error", "query must be a string or list of strings", "query")
	}
	params := map[string]any{}
	for k, v := range t.Params {
		params[k] = v
	}
	for k, v := range req {
		if !gatewayFields[k] && !translator.IsLiteLLMOnly(k) && v != nil {
			params[k] = v
		}
	}
	var body map[string]any
	switch t.Provider {
	case "tavily":
		body = tavilyRequest(q, params)
	default:
		body = map[string]any{}
		for k, v := range params {
			body[k] = v
		}
		body["query"] = q
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, translator.NewError(400, "invalid_request_error", err.Error(), "")
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	r, err := http.NewRequestWithContext(ctx, "POST", strings.TrimRight(t.APIBase, "/")+"/search", bytes.NewReader(b))
	if err != nil {
		return nil, translator.NewError(500, "internal_server_error", "search: bad api_base", "")
	}
	r.Header.Set("Content-Type", "application/json")
	if t.APIKey != "" {
		r.Header.Set("Authorization", "Bearer "+t.APIKey)
	}
	resp, err := s.hc.Do(r)
	if err != nil {
		return nil, translator.NewError(500, "internal_server_error", providerName(t.Provider)+" search failed: "+err.Error(), "")
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, translator.NewError(500, "internal_server_error", err.Error(), "")
	}
	if resp.StatusCode/100 != 2 {
		return nil, providerError(resp.StatusCode, raw, t.Provider)
	}
	out, err := transformAnswer(t.Provider, raw)
	if err != nil {
		return nil, translator.NewError(500, "internal_server_error", providerName(t.Provider)+" search: "+err.Error(), "")
	}
	return &Result{Body: out, Cost: cost(t, params), Provider: t.Provider}, nil
}

// ValidQuery reports whether q is a query LiteLLM's search and vector
// store routes take: a non-empty string or a non-empty list of strings.
func ValidQuery(q any) bool {
	switch v := q.(type) {
	case string:
		return v != ""
	case []any:
		for _, x := range v {
			if _, ok := x.(string); !ok {
				return false
			}
		}
		return len(v) > 0
	}
	return false
}

func providerName(p string) string {
	switch p {
	case "tavily":
		return "Tavily"
	case "perplexity":
		return "Perplexity"
	}
	return p
}

// cost is one query's price: the entry's input_cost_per_query, else
// LiteLLM's price list (Tavily's per search_depth).
func cost(t config.SearchTool, params map[string]any) float64 {
	if t.InputCostPerQuery != nil {
		return *t.InputCostPerQuery
	}
	switch t.Provider {
	case "tavily":
		if params["search_depth"] == "advanced" {
			return 0.016 // tavily/search-advanced
		}
		return 0.008 // tavily/search
	case "perplexity":
		return 0.005 // perplexity/search
	}
	return 0
}

// tavilyRequest is LiteLLM's TavilySearchConfig.transform_search_request:
// a list query joined by spaces, search_domain_filter as include_domains,
// country in lower case, max_tokens_per_page dropped, other fields as sent.
func tavilyRequest(q any, params map[string]any) map[string]any {
	if l, ok := q.([]any); ok {
		parts := make([]string, 0, len(l))
		for _, x := range l {
			parts = append(parts, x.(string))
		}
		q = strings.Join(parts, " ")
	}
	out := map[string]any{"query": q}
	if v, ok := params["max_results"]; ok {
		out["max_results"] = v
	}
	if v, ok := params["search_domain_filter"]; ok {
		out["include_domains"] = v
	}
	if v, ok := params["country"].(string); ok {
		out["country"] = strings.ToLower(v)
	}
	for k, v := range params {
		if _, set := out[k]; !unified[k] && !set {
			out[k] = v
		}
	}
	return out
}

// result is LiteLLM's SearchResult.
type result struct {
	Title       string `json:"title"`
	URL         string `json:"url"`
	Snippet     string `json:"snippet"`
	Date        any    `json:"date"`
	LastUpdated any    `json:"last_updated"`
	// Tavily's extras, each only when Tavily sent it.
	RawContent json.RawMessage `json:"raw_content,omitempty"`
	Score      json.RawMessage `json:"score,omitempty"`
	Favicon    json.RawMessage `json:"favicon,omitempty"`
}

// transformAnswer is LiteLLM's transform_search_response.
func transformAnswer(provider string, raw []byte) ([]byte, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, err
	}
	var items []map[string]json.RawMessage
	if r, ok := top["results"]; ok && string(r) != "null" {
		if err := json.Unmarshal(r, &items); err != nil {
			return nil, err
		}
	}
	str := func(m map[string]json.RawMessage, k string) string {
		var s string
		_ = json.Unmarshal(m[k], &s)
		return s
	}
	opt := func(m map[string]json.RawMessage, k string) any {
		var v any
		_ = json.Unmarshal(m[k], &v)
		return v
	}
	results := make([]result, 0, len(items))
	for _, it := range items {
		r := result{Title: str(it, "title"), URL: str(it, "url")}
		if provider == "tavily" {
			r.Snippet = str(it, "content")
			r.RawContent, r.Score, r.Favicon = it["raw_content"], it["score"], it["favicon"]
		} else {
			r.Snippet, r.Date, r.LastUpdated = str(it, "snippet"), opt(it, "date"), opt(it, "last_updated")
		}
		results = append(results, r)
	}
	if provider != "tavily" {
		return json.Marshal(struct {
			Results []result `json:"results"`
			Object  string   `json:"object"`
		}{results, "search"})
	}
	meta := map[string]json.RawMessage{}
	for k, v := range top {
		if k != "results" {
			meta[k] = v
		}
	}
	return json.Marshal(struct {
		Results  []result                   `json:"results"`
		Object   string                     `json:"object"`
		Metadata map[string]json.RawMessage `json:"provider_metadata"`
	}{results, "search", meta})
}

// providerError is a provider's failure: its status and message.
func providerError(status int, b []byte, provider string) *translator.Error {
	msg := strings.TrimSpace(string(b))
	var e struct {
		Detail any `json:"detail"`
		Error  any `json:"error"`
	}
	if json.Unmarshal(b, &e) == nil {
		for _, v := range []any{e.Detail, e.Error} {
			switch x := v.(type) {
			case string:
				msg = x
			case map[string]any:
				if m, ok := x["error"].(string); ok {
					msg = m
				} else if m, ok := x["message"].(string); ok {
					msg = m
				}
			}
		}
	}
	if len(msg) > 2000 {
		msg = msg[:2000]
	}
	typ := "invalid_request_error"
	switch {
	case status == 401:
		typ = "authentication_error"
	case status == 429:
		typ = "rate_limit_error"
	case status >= 500:
		typ = "internal_server_error"
	}
	return &translator.Error{Status: status, Type: typ, Message: "litellm." + providerName(provider) + "Exception - " + msg}
}
