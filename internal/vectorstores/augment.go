package vectorstores

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
)

// ContextPrefix starts the context message (LiteLLM's
// VectorStorePreCallHook.CONTENT_PREFIX_STRING).
const ContextPrefix = "Context:\n\n"

// Augmented is what Augment did to a chat request.
type Augmented struct {
	// Searched are the ids searched, in order; Results their answers
	// (OpenAI search pages) for the searches that succeeded; Failures
	// LiteLLM's vector_store_search_failures entries.
	Searched []string
	Results  []json.RawMessage
	Failures []Failure
	// Stream: the request asks for a stream.
	Stream bool
}

// Annotate is LiteLLM's post-call deployment hook on a chat completion's
// answer: every choice's message gets provider_specific_fields
// search_results (the search pages) and vector_store_search_failures (when
// a search failed), kept with the fields the message had. nil: unchanged.
func (a *Augmented) Annotate(answer []byte) []byte {
	if a == nil || len(a.Results) == 0 && len(a.Failures) == 0 {
		return nil
	}
	var top map[string]json.RawMessage
	var choices []map[string]json.RawMessage
	if json.Unmarshal(answer, &top) != nil || json.Unmarshal(top["choices"], &choices) != nil || len(choices) == 0 {
		return nil
	}
	for _, c := range choices {
		var msg map[string]json.RawMessage
		if json.Unmarshal(c["message"], &msg) != nil || msg == nil {
			continue
		}
		fields := map[string]any{}
		_ = json.Unmarshal(msg["provider_specific_fields"], &fields)
		if fields == nil {
			fields = map[string]any{}
		}
		if len(a.Results) > 0 {
			fields["search_results"] = a.Results
		}
		if len(a.Failures) > 0 {
			fields["vector_store_search_failures"] = a.Failures
		}
		msg["provider_specific_fields"], _ = json.Marshal(fields)
		c["message"], _ = json.Marshal(msg)
	}
	top["choices"], _ = json.Marshal(choices)
	out, err := json.Marshal(top)
	if err != nil {
		return nil
	}
	return out
}

// Failure is one failed search (LiteLLM's VectorStoreSearchFailure).
type Failure struct {
	VectorStoreID     string `json:"vector_store_id"`
	CustomLLMProvider string `json:"custom_llm_provider"`
	Error             string `json:"error"`
}

// Wanted says whether a chat body names a registered store (in
// vector_store_ids or a tool's vector_store_ids): LiteLLM then runs its
// vector store hook. It only looks; cheap enough for every chat request of a
// config with a registry.
func (s *Searcher) Wanted(body []byte) bool {
	if len(s.cfg.VectorStores) == 0 || !strings.Contains(string(body), "vector_store_ids") {
		return false
	}
	var top struct {
		IDs   json.RawMessage   `json:"vector_store_ids"`
		Tools []json.RawMessage `json:"tools"`
	}
	if json.Unmarshal(body, &top) != nil {
		return false
	}
	for _, id := range stringList(top.IDs) {
		if s.Registered(id) {
			return true
		}
	}
	for _, t := range top.Tools {
		for _, id := range toolStoreIDs(t) {
			if s.Registered(id) {
				return true
			}
		}
	}
	return false
}

// stringList is a JSON list's strings (LiteLLM's listed_vector_store_ids:
// a list only; other items skipped).
func stringList(raw json.RawMessage) []string {
	var items []any
	if json.Unmarshal(raw, &items) != nil {
		return nil
	}
	var out []string
	for _, it := range items {
		if s, ok := it.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// toolStoreIDs is a tool's vector_store_ids (a string or a list of strings).
func toolStoreIDs(tool json.RawMessage) []string {
	var t struct {
		IDs json.RawMessage `json:"vector_store_ids"`
	}
	if json.Unmarshal(tool, &t) != nil || len(t.IDs) == 0 {
		return nil
	}
	var one string
	if json.Unmarshal(t.IDs, &one) == nil {
		return []string{one}
	}
	return stringList(t.IDs)
}

// Augment is LiteLLM's vector store pre-call hook on a chat body that
// names a registered store (Wanted): vector_store_ids is taken out, so is
// every tool all of whose vector_store_ids are registered (its
// filters, max_num_results, ranking_options, rewrite_query kept for the
// search, the entry's own winning); each named store in the registry is
// searched with the last message's text, and each answer with results
// becomes a user message "Context:\n\n{text}\n\n…" put before the last
// message. A failed search is left out (LiteLLM's default "annotate"
// mode). out is the new body (nil: unchanged).
func (s *Searcher) Augment(ctx context.Context, body []byte, log *slog.Logger) (out []byte, aug *Augmented) {
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil {
		return nil, nil
	}
	ids := stringList(top["vector_store_ids"])
	delete(top, "vector_store_ids")
	toolParams := map[string]map[string]any{}
	if raw, ok := top["tools"]; ok {
		var tools []json.RawMessage
		if json.Unmarshal(raw, &tools) == nil {
			kept := tools[:0:0]
			for _, t := range tools {
				tids := toolStoreIDs(t)
				all := len(tids) > 0
				for _, id := range tids {
					all = all && s.Registered(id)
				}
				if !all {
					kept = append(kept, t)
					continue
				}
				ids = append(ids, tids...)
				var tm map[string]any
				_ = json.Unmarshal(t, &tm)
				p := map[string]any{}
				for _, k := range []string{"filters", "max_num_results", "ranking_options", "rewrite_query"} {
					if v, ok := tm[k]; ok {
						p[k] = v
					}
				}
				for _, id := range tids {
					toolParams[id] = p
				}
			}
			if len(kept) == 0 {
				delete(top, "tools") // an empty tools list is a provider's 400
				delete(top, "tool_choice")
			} else {
				top["tools"], _ = json.Marshal(kept)
			}
		}
	}
	aug = &Augmented{}
	_ = json.Unmarshal(top["stream"], &aug.Stream)
	var messages []json.RawMessage
	_ = json.Unmarshal(top["messages"], &messages)
	query := lastText(messages)
	var contexts []json.RawMessage
	if query != "" {
		for _, id := range ids {
			st, ok := s.cfg.VectorStoreByID(id)
			if !ok {
				continue
			}
			aug.Searched = append(aug.Searched, id)
			b, e := s.Search(ctx, id, Request{Query: query, Params: toolParams[id]})
			if e != nil {
				if log != nil {
					log.Warn("vector store search failed, continuing without its context", "vector_store_id", id, "error", e.Message)
				}
				aug.Failures = append(aug.Failures, Failure{VectorStoreID: id, CustomLLMProvider: st.Provider, Error: e.Message})
				continue
			}
			aug.Results = append(aug.Results, b)
			if m := contextMessage(b); m != nil {
				contexts = append(contexts, m)
			}
		}
	}
	if len(contexts) > 0 && len(messages) > 0 {
		last := messages[len(messages)-1]
		messages = append(append(messages[:len(messages)-1:len(messages)-1], contexts...), last)
		top["messages"], _ = json.Marshal(messages)
	}
	out, err := json.Marshal(top)
	if err != nil {
		return nil, aug
	}
	return out, aug
}

// lastText is the last message's content: a string, or the first text
// part of a list (LiteLLM's _extract_query_from_messages).
func lastText(messages []json.RawMessage) string {
	if len(messages) == 0 {
		return ""
	}
	var m struct {
		Content json.RawMessage `json:"content"`
	}
	if json.Unmarshal(messages[len(messages)-1], &m) != nil {
		return ""
	}
	var s string
	if json.Unmarshal(m.Content, &s) == nil {
		return s
	}
	var parts []struct {
		Type string  `json:"type"`
		Text *string `json:"text"`
	}
	if json.Unmarshal(m.Content, &parts) == nil {
		for _, p := range parts {
			if p.Type == "text" && p.Text != nil {
				return *p.Text
			}
		}
	}
	return ""
}

// contextMessage is a search page's context message (nil: no text).
func contextMessage(page []byte) json.RawMessage {
	var p struct {
		Data []struct {
			Content []struct {
				Text string `json:"text"`
			} `json:"content"`
		} `json:"data"`
	}
	if json.Unmarshal(page, &p) != nil {
		return nil
	}
	var b strings.Builder
	for _, r := range p.Data {
		for _, c := range r.Content {
			if c.Text != "" {
				b.WriteString(c.Text)
				b.WriteString("\n\n")
			}
		}
	}
	if b.Len() == 0 {
		return nil
	}
	m, _ := json.Marshal(struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	}{"user", ContextPrefix + b.String()})
	return m
}
