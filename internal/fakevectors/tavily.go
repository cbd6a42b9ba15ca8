package fakevectors

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// search is Tavily's or Perplexity's POST /search.
func (s *Server) search(w http.ResponseWriter, r *http.Request, body map[string]any) {
	if r.Header.Get("Authorization") != "Bearer "+s.opts.SearchKey {
		w.WriteHeader(401)
		if s.opts.SearchProvider == "tavily" {
			_ = json.NewEncoder(w).Encode(map[string]any{"detail": map[string]string{"error": "Unauthorized: missing or invalid API key."}})
		} else {
			_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": "Invalid API key", "type": "invalid_api_key", "code": 401}})
		}
		return
	}
	var q string
	switch v := body["query"].(type) {
	case string:
		q = v
	case []any:
		for _, x := range v {
			q += fmt.Sprint(x) + " "
		}
	}
	n := intOr(body["max_results"], 10)
	var found []Page
	for _, p := range s.opts.Pages {
		for _, word := range strings.Fields(strings.ToLower(q)) {
			if len(word) > 3 && strings.Contains(strings.ToLower(p.Text), word) {
				found = append(found, p)
				break
			}
		}
		if len(found) == n {
			break
		}
	}
	if s.opts.SearchProvider == "tavily" {
		results := []map[string]any{}
		for i, p := range found {
			results = append(results, map[string]any{"title": p.Title, "url": p.URL, "content": p.Text, "score": 0.9 - 0.1*float64(i), "raw_content": nil})
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"query": q, "follow_up_questions": nil, "answer": nil, "images": []any{}, "results": results, "response_time": 0.52, "request_id": "req-tavily-1"})
		return
	}
	results := []map[string]any{}
	for _, p := range found {
		results = append(results, map[string]any{"title": p.Title, "url": p.URL, "snippet": p.Text, "date": p.Date, "last_updated": p.Date})
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"results": results, "id": "search-1"})
}
