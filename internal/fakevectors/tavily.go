package fakevectors

import (
	"encoding/json"
	"net/http"
)

// tavily is Tavily's POST /search (filled in with the search tools).
func (s *Server) tavily(w http.ResponseWriter, r *http.Request, body map[string]any) {
	if r.Header.Get("Authorization") != "Bearer "+s.opts.TavilyKey {
		w.WriteHeader(401)
		_ = json.NewEncoder(w).Encode(map[string]any{"detail": map[string]string{"error": "Unauthorized: missing or invalid API key."}})
		return
	}
	q, _ := body["query"].(string)
	_ = json.NewEncoder(w).Encode(map[string]any{"query": q, "follow_up_questions": nil, "answer": nil, "images": []any{}, "results": []any{}, "response_time": 0.5})
}
