package fakeprovider

import (
	"crypto/sha256"
	"encoding/json"
)

// anthropicPromptCache emulates Anthropic's prompt caching: the prompt up to
// and including the last system or message block that carries
// cache_control is the cached prefix. The first request with a prefix
// writes it (its tokens come back as cache_creation_input_tokens), each
// later one with the same model and prefix reads it
// (cache_read_input_tokens); input_tokens counts the rest. Tokens are
// counted as the fake counts them everywhere (words). Entries never expire.
func (s *Server) anthropicPromptCache(req *anRequest) (read, write int) {
	type block struct {
		Text         string          `json:"text"`
		CacheControl json.RawMessage `json:"cache_control"`
	}
	h := sha256.New()
	h.Write([]byte(req.Model))
	tokens, prefix := 0, 0
	var key [sha256.Size]byte
	walk := func(raw json.RawMessage) {
		var blocks []block
		if len(raw) == 0 || raw[0] != '[' {
			t := textOf(raw)
			tokens += countTokens(t)
			h.Write([]byte(t))
			return
		}
		_ = json.Unmarshal(raw, &blocks)
		for _, b := range blocks {
			tokens += countTokens(b.Text)
			h.Write([]byte{0})
			h.Write([]byte(b.Text))
			if len(b.CacheControl) > 0 && string(b.CacheControl) != "null" {
				prefix = tokens
				h.Sum(key[:0])
			}
		}
	}
	walk(req.System)
	for _, m := range req.Messages {
		h.Write([]byte{1})
		h.Write([]byte(m.Role))
		walk(m.Content)
	}
	if prefix == 0 {
		return 0, 0
	}
	if _, seen := s.promptCache.LoadOrStore(key, true); seen {
		return prefix, 0
	}
	return 0, prefix
}
