package fakeprovider

import (
	"encoding/json"
	"hash/fnv"
	"math"
	"strings"
	"unicode/utf8"
)

// ReplyPrefix starts every echoed reply.
const ReplyPrefix = "fake response to: "

// replyText is the reply for a request whose last user text is lastUser.
func (s *Server) replyText(lastUser string) string {
	text := s.opts.Reply
	if text == "" {
		text = ReplyPrefix + lastUser
	}
	return fitSize(text, s.opts.ReplySize)
}

// fitSize pads text with filler words, or truncates it at a rune boundary,
// to exactly size bytes; size <= 0 leaves it alone.
func fitSize(text string, size int) string {
	if size <= 0 || len(text) == size {
		return text
	}
	if len(text) > size {
		cut := size
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		return text[:cut] + strings.Repeat(" ", size-cut)
	}
	var b strings.Builder
	b.Grow(size)
	b.WriteString(text)
	const filler = " lorem ipsum dolor sit amet"
	for b.Len() < size {
		rest := size - b.Len()
		if rest >= len(filler) {
			b.WriteString(filler)
		} else {
			b.WriteString(filler[:rest])
		}
	}
	return b.String()
}

// countTokens counts whitespace-separated words: the fake's token count.
func countTokens(s string) int {
	n, inWord := 0, false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\n', '\t', '\r', '\v', '\f':
			inWord = false
		default:
			if !inWord {
				n++
				inWord = true
			}
		}
	}
	return n
}

// splitChunks splits text into at most n pieces of near-equal byte length,
// at rune boundaries. An empty text gives no pieces.
func splitChunks(text string, n int) []string {
	if text == "" {
		return nil
	}
	if n < 1 {
		n = 1
	}
	if n > len(text) {
		n = len(text)
	}
	out := make([]string, 0, n)
	start := 0
	for i := 1; i <= n && start < len(text); i++ {
		end := len(text) * i / n
		for end < len(text) && !utf8.RuneStart(text[end]) {
			end++
		}
		if end <= start {
			continue
		}
		out = append(out, text[start:end])
		start = end
	}
	return out
}

// embedding is a deterministic unit vector derived from text.
func embedding(text string, dims int) []float64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(text))
	seed := h.Sum64()
	v := make([]float64, dims)
	var norm float64
	for i := range v {
		// xorshift64*
		seed ^= seed >> 12
		seed ^= seed << 25
		seed ^= seed >> 27
		x := float64((seed*2685821657736338717)>>11)/float64(1<<53)*2 - 1
		v[i] = x
		norm += x * x
	}
	norm = math.Sqrt(norm)
	if norm == 0 {
		norm = 1
	}
	for i := range v {
		// Round so the JSON stays short and float32 round-trips are exact.
		v[i] = float64(float32(v[i] / norm))
	}
	return v
}

// textOf extracts the text of a message content that is either a string
// or an array of parts with "text" fields (OpenAI, Anthropic, Cohere).
func textOf(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '"':
		var s string
		_ = json.Unmarshal(raw, &s)
		return s
	case '[':
		var parts []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}
		_ = json.Unmarshal(raw, &parts)
		var b strings.Builder
		for _, p := range parts {
			if p.Text == "" {
				continue
			}
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(p.Text)
		}
		return b.String()
	}
	return ""
}

// wantsTool reports whether a request with tools asks for a tool call by
// text: the fake calls a tool when the last user text says "call tool".
func wantsTool(lastUser string) bool {
	return strings.Contains(strings.ToLower(lastUser), "call tool")
}

// toolArgFragments splits the tool arguments JSON into stream fragments.
func (s *Server) toolArgFragments() []string {
	return splitChunks(s.opts.ToolArguments, min(s.opts.StreamChunks, 4))
}

// toolInput is the tool arguments as a JSON object value.
func (s *Server) toolInput() json.RawMessage { return json.RawMessage(s.opts.ToolArguments) }
