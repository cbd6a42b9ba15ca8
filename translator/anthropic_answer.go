package translator

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// The common Anthropic answer translated without encoding/json (D107): a
// Message whose content is text (and thinking) blocks, read by a scanner over
// the validated body and written straight as the OpenAI body that
// anthropicResponseFull writes for it, byte for byte. Anything else — a body
// validJSON (json.Valid) rejects, a tool_use block, an error message, a repeated key, a
// key json would match case-insensitively, an escaped or non-ASCII key, a
// value of an unexpected type, a number that is not a plain integer — goes
// the full way, so that its result and its error stay encoding/json's.

// anthAnswerQuick is what anthropicResponseQuick read: strings as the
// body's bytes when they need no decoding.
type anthAnswerQuick struct {
	id, typ, model, stop []byte
	text, reasoning      []byte
	texts, reasonings    int // blocks read into text and reasoning
	usage                anthUsage
}

// anthTopKeys and anthBlockKeys are anthResponse's and anthBlock's JSON
// names: a key that only case-folds to one of them goes the full way (json
// matches keys case-insensitively).
var (
	anthTopKeys   = []string{"id", "type", "model", "content", "stop_reason", "usage"}
	anthBlockKeys = []string{"type", "text", "source", "id", "name", "input", "tool_use_id", "content", "thinking", "signature", "data"}
	anthUsageKeys = []string{"input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"}
)

// anthropicResponseQuick is Response for the common answer; ok false: the
// caller goes the full way (anthropicResponseFull).
func anthropicResponseQuick(body []byte, t Target) (*Response, bool) {
	if !validJSON(body) {
		return nil, false
	}
	var a anthAnswerQuick
	if !a.read(body) || string(a.typ) == "error" {
		return nil, false
	}
	finish := anthropicFinishReason(string(a.stop))
	u := a.usage.openai()
	b := make([]byte, 0, 192+len(a.id)+len(a.model)+len(t.Model)+len(t.ResponseModel)+len(a.text)+len(a.reasoning))
	b = append(b, `{"id":`...)
	b = appendJSONString(b, a.id)
	b = append(b, `,"object":"chat.completion","created":`...)
	b = strconv.AppendInt(b, t.Created, 10)
	b = append(b, `,"model":`...)
	switch {
	case t.ResponseModel != "":
		b = appendJSONString(b, []byte(t.ResponseModel))
	case len(a.model) > 0:
		b = appendJSONString(b, a.model)
	default:
		b = appendJSONString(b, []byte(t.Model))
	}
	b = append(b, `,"choices":[{"index":0,"message":{"role":"assistant","content":`...)
	if len(a.text) > 0 {
		b = appendJSONString(b, a.text)
	} else {
		b = append(b, "null"...)
	}
	if len(a.reasoning) > 0 {
		b = append(b, `,"reasoning_content":`...)
		b = appendJSONString(b, a.reasoning)
	}
	b = append(b, `},"finish_reason":`...)
	b = appendJSONString(b, []byte(finish))
	b = append(b, `}],"usage":{"prompt_tokens":`...)
	b = strconv.AppendInt(b, int64(u.PromptTokens), 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, int64(u.CompletionTokens), 10)
	b = append(b, `,"total_tokens":`...)
	total := u.TotalTokens // UsageObjectFrom's
	if total == 0 {
		total = u.PromptTokens + u.CompletionTokens
	}
	b = strconv.AppendInt(b, int64(total), 10)
	if u.CachedTokens > 0 || u.CacheCreationTokens > 0 {
		b = append(b, `,"prompt_tokens_details":{"cached_tokens":`...)
		b = strconv.AppendInt(b, int64(u.CachedTokens), 10)
		if u.CacheCreationTokens > 0 {
			b = append(b, `,"cache_creation_tokens":`...)
			b = strconv.AppendInt(b, int64(u.CacheCreationTokens), 10)
		}
		b = append(b, '}')
	}
	b = append(b, "}}"...)
	return &Response{Body: b, Usage: u, FinishReason: finish}, true
}

// read reads the Message's fields.
func (a *anthAnswerQuick) read(body []byte) bool {
	m := members{b: body, i: skipSpace(body, 0)}
	seen := 0
	for m.next() {
		k := exactKey(m.key, anthTopKeys)
		if k < 0 {
			if foldsToKey(m.key, anthTopKeys) {
				return false
			}
			continue
		}
		if seen&(1<<k) != 0 {
			return false // repeated: json keeps the last, the full way does it
		}
		seen |= 1 << k
		ok := false
		switch k {
		case 0:
			a.id, ok = quickString(m.val, false)
		case 1:
			a.typ, ok = quickString(m.val, false)
		case 2:
			a.model, ok = quickString(m.val, false)
		case 3:
			ok = a.blocks(m.val)
		case 4:
			a.stop, ok = quickString(m.val, true)
		case 5:
			ok = a.readUsage(m.val)
		}
		if !ok {
			return false
		}
	}
	return m.ok()
}

// blocks reads the content array: text and thinking blocks only.
func (a *anthAnswerQuick) blocks(v []byte) bool {
	if len(v) == 0 || v[0] != '[' {
		return false // null or another type: the full way
	}
	i := skipSpace(v, 1)
	if i < len(v) && v[i] == ']' {
		return true
	}
	for i < len(v) {
		end, ok := skipValue(v, i)
		if !ok || !a.block(v[i:end]) {
			return false
		}
		i = skipSpace(v, end)
		if i >= len(v) {
			return false
		}
		switch v[i] {
		case ',':
			i = skipSpace(v, i+1)
		case ']':
			return true
		default:
			return false
		}
	}
	return false
}

// block reads one content block: {"type":"text","text":…} or
// {"type":"thinking","thinking":…,"signature":…}.
func (a *anthAnswerQuick) block(v []byte) bool {
	var typ, text, thinking []byte
	var hasText, hasThinking bool
	m := members{b: v}
	seen := 0
	for m.next() {
		k := exactKey(m.key, anthBlockKeys)
		if k < 0 {
			if foldsToKey(m.key, anthBlockKeys) {
				return false
			}
			continue
		}
		if seen&(1<<k) != 0 {
			return false
		}
		seen |= 1 << k
		ok := false
		switch k {
		case 0:
			typ, ok = quickString(m.val, false)
		case 1:
			text, ok = quickString(m.val, false)
			hasText = true
		case 8:
			thinking, ok = quickString(m.val, false)
			hasThinking = true
		case 9:
			_, ok = quickString(m.val, false)
		}
		if !ok {
			return false // any other block field (tool_use, image, …): the full way
		}
	}
	if !m.ok() {
		return false
	}
	switch string(typ) {
	case "text":
		if hasText {
			a.text = joinText(a.text, text, &a.texts)
		}
	case "thinking":
		if hasThinking {
			a.reasoning = joinText(a.reasoning, thinking, &a.reasonings)
		}
	default:
		return false
	}
	return true
}

// joinText appends s to the text of n blocks so far (the first block's text
// is kept as it is: no copy for the common one-block answer).
func joinText(text, s []byte, n *int) []byte {
	*n++
	if *n == 1 {
		return s
	}
	if *n == 2 {
		text = append([]byte(nil), text...)
	}
	return append(text, s...)
}

// readUsage reads the usage object's token counts.
func (a *anthAnswerQuick) readUsage(v []byte) bool {
	m := members{b: v}
	seen := 0
	for m.next() {
		k := exactKey(m.key, anthUsageKeys)
		if k < 0 {
			if foldsToKey(m.key, anthUsageKeys) {
				return false
			}
			continue
		}
		if seen&(1<<k) != 0 {
			return false
		}
		seen |= 1 << k
		n, ok := quickInt(m.val)
		if !ok {
			return false
		}
		switch k {
		case 0:
			a.usage.InputTokens = n
		case 1:
			a.usage.OutputTokens = n
		case 2:
			a.usage.CacheCreationInputTokens = n
		case 3:
			a.usage.CacheReadInputTokens = n
		}
	}
	return m.ok()
}

// members walks the members of the valid JSON object at b[i:]: key and val
// (the value without the whitespace around it) after each next. next false
// at the end, when the object is not one or a key is escaped or not ASCII;
// ok tells those apart.
type members struct {
	b        []byte
	i        int
	key, val []byte
	state    int // 0 before the object, 1 inside, 2 at its end, 3 failed
}

func (m *members) next() bool {
	b, i := m.b, m.i
	switch m.state {
	case 0:
		if i >= len(b) || b[i] != '{' {
			m.state = 3
			return false
		}
		i = skipSpace(b, i+1)
		if i < len(b) && b[i] == '}' {
			m.state = 2
			return false
		}
		m.state = 1
	case 1:
		i = skipSpace(b, i)
		if i >= len(b) {
			m.state = 3
			return false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			m.state = 2
			return false
		default:
			m.state = 3
			return false
		}
	default:
		return false
	}
	if i >= len(b) || b[i] != '"' {
		m.state = 3
		return false
	}
	j := i + 1
	for j < len(b) && b[j] != '"' {
		if b[j] == '\\' || b[j] >= 0x80 {
			m.state = 3
			return false
		}
		j++
	}
	if j >= len(b) {
		m.state = 3
		return false
	}
	m.key = b[i+1 : j]
	i = skipSpace(b, j+1)
	if i >= len(b) || b[i] != ':' {
		m.state = 3
		return false
	}
	i = skipSpace(b, i+1)
	end, ok := skipValue(b, i)
	if !ok {
		m.state = 3
		return false
	}
	m.val, m.i = b[i:end], end
	return true
}

// ok reports whether the walk reached the object's end.
func (m *members) ok() bool { return m.state == 2 }

// exactKey is key's index in keys, -1 when it is none of them.
func exactKey(key []byte, keys []string) int {
	for i, k := range keys {
		if k == string(key) {
			return i
		}
	}
	return -1
}

// foldsToKey reports whether json would match key to one of keys
// case-insensitively (key is ASCII: members sends others the full way).
func foldsToKey(key []byte, keys []string) bool {
	for _, k := range keys {
		if len(k) != len(key) {
			continue
		}
		same := true
		for i := 0; i < len(k) && same; i++ {
			same = lowerASCII(k[i]) == lowerASCII(key[i])
		}
		if same {
			return true
		}
	}
	return false
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// quickString reads a JSON string value: its bytes when they need no
// decoding, else encoding/json's decoding; null is empty when nullOK (json
// leaves the field as it was: empty, the key being read once).
func quickString(v []byte, nullOK bool) ([]byte, bool) {
	if nullOK && string(v) == "null" {
		return nil, true
	}
	if len(v) < 2 || v[0] != '"' {
		return nil, false
	}
	if plainJSONBytes(v) {
		return v[1 : len(v)-1], true
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return nil, false
	}
	return []byte(s), true
}

// plainJSONBytes is plainJSONString without the string.
func plainJSONBytes(b []byte) bool {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return false
	}
	in := b[1 : len(b)-1]
	for _, c := range in {
		if c < 0x20 || c == '"' || c == '\\' {
			return false
		}
	}
	return utf8.Valid(in)
}

// quickInt reads a JSON integer as json decodes it into an int; null is 0
// (the field left as it was). Fractions, exponents and numbers too long to
// be sure of go the full way.
func quickInt(v []byte) (int, bool) {
	if string(v) == "null" {
		return 0, true
	}
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	n, neg := 0, false
	for i, c := range v {
		switch {
		case c >= '0' && c <= '9':
			n = n*10 + int(c-'0')
		case i == 0 && c == '-' && len(v) > 1:
			neg = true
		default:
			return 0, false
		}
	}
	if neg {
		n = -n
	}
	return n, true
}

// appendJSONString appends s as json.Marshal writes a string: plain
// printable ASCII as it is, anything else (escapes, HTML characters,
// non-ASCII) by json.Marshal itself.
func appendJSONString(b, s []byte) []byte {
	for _, c := range s {
		if c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			enc, _ := json.Marshal(string(s))
			return append(b, enc...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// A stream's common events read the same way (D107): a text delta —
// {"type":"content_block_delta","index":…,"delta":{"type":"text_delta","text":…}}
// — written straight as its chunk, a ping skipped; any other event, or one
// with a field the scanner does not take, goes through encoding/json.

// anthEventKeys and anthDeltaKeys are anthStreamEvent's and anthDelta's
// JSON names.
var (
	anthEventKeys = []string{"type", "index", "delta", "message", "content_block", "usage", "error"}
	anthDeltaKeys = []string{"type", "text", "partial_json", "thinking", "stop_reason"}
)

// quickEvent is event for a text delta or a ping; ok false: the full way.
func (s *anthropicStream) quickEvent(out, data []byte) ([]byte, bool) {
	if !validJSON(data) {
		return nil, false
	}
	var typ, delta []byte
	m := members{b: data, i: skipSpace(data, 0)}
	seen := 0
	for m.next() {
		k := exactKey(m.key, anthEventKeys)
		if k < 0 {
			if foldsToKey(m.key, anthEventKeys) {
				return nil, false
			}
			continue
		}
		if seen&(1<<k) != 0 {
			return nil, false
		}
		seen |= 1 << k
		ok := false
		switch k {
		case 0:
			typ, ok = quickString(m.val, false)
		case 1:
			_, ok = quickInt(m.val)
		case 2:
			delta, ok = m.val, true
		}
		if !ok {
			return nil, false // message, content_block, usage, error: the full way
		}
	}
	if !m.ok() {
		return nil, false
	}
	switch string(typ) {
	case "ping":
		return out, delta == nil
	case "content_block_delta":
	default:
		return nil, false
	}
	if delta == nil {
		return nil, false
	}
	var dtyp, text []byte
	m = members{b: delta}
	seen = 0
	for m.next() {
		k := exactKey(m.key, anthDeltaKeys)
		if k < 0 {
			if foldsToKey(m.key, anthDeltaKeys) {
				return nil, false
			}
			continue
		}
		if seen&(1<<k) != 0 {
			return nil, false
		}
		seen |= 1 << k
		ok := false
		switch k {
		case 0:
			dtyp, ok = quickString(m.val, false)
		case 1:
			text, ok = quickString(m.val, false)
		}
		if !ok {
			return nil, false
		}
	}
	if !m.ok() || string(dtyp) != "text_delta" {
		return nil, false
	}
	return s.textChunk(out, text), true
}

// textChunk appends the chunk of a text delta as chunk writes it.
func (s *anthropicStream) textChunk(out, text []byte) []byte {
	out = append(out, `data: {"id":`...)
	out = appendJSONString(out, []byte(s.id))
	out = append(out, `,"object":"chat.completion.chunk","created":`...)
	out = strconv.AppendInt(out, s.created, 10)
	out = append(out, `,"model":`...)
	out = appendJSONString(out, []byte(s.chunkModel()))
	out = append(out, `,"choices":[{"index":0,"delta":{"content":`...)
	out = appendJSONString(out, text)
	return append(out, "},\"finish_reason\":null}]}\n\n"...)
}
