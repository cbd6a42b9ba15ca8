package translator

import (
	"math"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// The common chat request written as its Anthropic request without
// encoding/json (D116): a body whose top-level fields are model, messages
// (system, developer, user and assistant messages with string or null
// content), max_tokens, max_completion_tokens, temperature, top_p, stream and
// stream_options is read by a strict scanner — it validates every byte it
// takes, so it needs no json.Valid — and the request anthropicRequestFull
// would marshal is appended straight, byte for byte. Anything else — another
// field, a repeated or escaped key, a key json would only match
// case-insensitively, a value of another type, a number json would not decode
// into the field, a request anthropicMessages refuses, additional_drop_params
// — goes the full way, so its result and its error stay encoding/json's.

// quickReq is what anthropicRequestQuick read: strings as the body's literal
// bytes (between the quotes, still escaped).
type quickReq struct {
	model               []byte
	msgs                []quickMsg
	maxTokens, maxCompl int
	hasMax, hasCompl    bool
	temperature, topP   float64
	hasTemp, hasTopP    bool
	stream              bool
	seen                uint16
	msgBuf              [8]quickMsg
	stops               [][]byte // literals of plain ASCII (stop: a string or an array of strings)
	hasStop             bool
	stopBuf             [4][]byte
	user                []byte // a literal of plain ASCII
}

// quickMsg is one message: its role and its content literal (nil: null or
// absent, or empty).
type quickMsg struct {
	role    byte // 's' system/developer, 'u' user, 'a' assistant
	content []byte
}

// anthQuickKeys are the top-level fields the quick way takes.
var anthQuickKeys = []string{"model", "messages", "max_tokens", "max_completion_tokens", "temperature", "top_p", "stream", "stream_options", "stop", "user"}

// anthropicRequestQuick is Request's body for the common chat request; ok
// false: the caller goes the full way (anthropicRequestFull).
func anthropicRequestQuick(body []byte, t Target) (out []byte, stream bool, ok bool) {
	if len(t.AdditionalDropParams) > 0 {
		return nil, false, false
	}
	var r quickReq
	r.msgs, r.stops = r.msgBuf[:0], r.stopBuf[:0]
	if !r.read(body) {
		return nil, false, false
	}
	userMax := 0
	switch {
	case r.hasMax:
		userMax = r.maxTokens
	case r.hasCompl:
		userMax = r.maxCompl
	}
	maxTokens := userMax
	if maxTokens == 0 {
		maxTokens = t.MaxTokensDefault
	}
	if maxTokens == 0 {
		maxTokens = anthropicDefaultMaxTokens
	}
	stream = t.Stream || r.stream

	n := 96 + len(t.Model) + len(r.model)
	for _, m := range r.msgs {
		n += 48 + len(m.content)
	}
	b := make([]byte, 0, n)
	b = append(b, `{"model":`...)
	if t.Model != "" {
		b = appendMarshalString(b, t.Model)
	} else {
		b = appendLiteralString(b, r.model)
	}
	b = append(b, `,"messages":[`...)
	// anthropicMessages: system messages lifted, consecutive messages of the
	// same role merged. A user or assistant content that is empty, null or
	// may be blank goes the full way: LiteLLM's placeholder (D148).
	var last byte
	for _, m := range r.msgs {
		if m.role == 's' {
			continue
		}
		if quickMaybeBlank(m.content) {
			return nil, false, false
		}
		if m.role == last {
			b = append(b, ',')
		} else {
			if last != 0 {
				b = append(b, "]},"...)
			}
			if m.role == 'u' {
				b = append(b, `{"role":"user","content":[`...)
			} else {
				b = append(b, `{"role":"assistant","content":[`...)
			}
			last = m.role
		}
		b = append(b, `{"type":"text","text":`...)
		b = appendLiteralString(b, m.content)
		b = append(b, '}')
	}
	if last == 0 {
		return nil, false, false // no user or assistant message: the full way's error
	}
	b = append(b, "]}]"...)
	sys := false
	for _, m := range r.msgs {
		if m.role != 's' || len(m.content) == 0 {
			continue
		}
		if !sys {
			b = append(b, `,"system":[`...)
			sys = true
		} else {
			b = append(b, ',')
		}
		b = append(b, `{"type":"text","text":`...)
		b = appendLiteralString(b, m.content)
		b = append(b, '}')
	}
	if sys {
		b = append(b, ']')
	}
	b = append(b, `,"max_tokens":`...)
	b = strconv.AppendInt(b, int64(maxTokens), 10)
	if r.hasTemp {
		b = append(b, `,"temperature":`...)
		b = appendMarshalFloat(b, r.temperature)
	}
	if r.hasTopP {
		b = append(b, `,"top_p":`...)
		b = appendMarshalFloat(b, r.topP)
	}
	if r.hasStop {
		n := 0
		for _, st := range r.stops {
			if t.DropParams && plainBlank(st) {
				continue // Anthropic rejects whitespace-only stop sequences
			}
			if n == 0 {
				b = append(b, `,"stop_sequences":[`...)
			} else {
				b = append(b, ',')
			}
			b = appendLiteralString(b, st)
			n++
		}
		if n > 0 {
			b = append(b, ']')
		}
	}
	if stream {
		b = append(b, `,"stream":true`...)
	}
	if len(r.user) > 0 && !anthEmailRe.Match(r.user) && !anthPhoneRe.Match(r.user) {
		b = append(b, `,"metadata":{"user_id":`...)
		b = appendLiteralString(b, r.user)
		b = append(b, '}')
	}
	return append(b, '}'), stream, true
}

// quickMaybeBlank: a content literal that is empty or may be blank to
// Python's strip() — it begins with whitespace, an escape or a byte outside
// ASCII — and so may need LiteLLM's placeholder.
func quickMaybeBlank(lit []byte) bool {
	if len(lit) == 0 {
		return true
	}
	c := lit[0]
	return c <= ' ' || c == '\\' || c >= 0x80
}

// read scans the body; false for anything the quick way does not take.
func (r *quickReq) read(body []byte) bool {
	s := jsonScan{b: body}
	if !s.open('{') {
		return false
	}
	if s.close('}') {
		return false // no messages: the full way's error
	}
	for {
		key, ok := s.key()
		if !ok {
			return false
		}
		k := exactKey(key, anthQuickKeys)
		if k < 0 || r.seen&(1<<k) != 0 {
			return false // another field, or a repeated one
		}
		r.seen |= 1 << k
		null := s.null()
		switch k {
		case 0: // model
			if null {
				return false
			}
			if r.model, ok = s.str(); !ok {
				return false
			}
		case 1: // messages
			if null || !r.readMessages(&s) {
				return false
			}
		case 2, 3: // max_tokens, max_completion_tokens
			if !null {
				n, ok := s.integer()
				if !ok {
					return false
				}
				if k == 2 {
					r.maxTokens, r.hasMax = n, true
				} else {
					r.maxCompl, r.hasCompl = n, true
				}
			}
		case 4, 5: // temperature, top_p
			if !null {
				f, ok := s.float()
				if !ok {
					return false
				}
				if k == 4 {
					r.temperature, r.hasTemp = f, true
				} else {
					r.topP, r.hasTopP = f, true
				}
			}
		case 6: // stream
			if !null {
				v, ok := s.boolean()
				if !ok {
					return false
				}
				r.stream = v
			}
		case 7: // stream_options: {} or {"include_usage": bool}
			if !null && !readStreamOptions(&s) {
				return false
			}
		case 8: // stop: a string or an array of strings
			if !null {
				if r.stops, ok = readStops(&s, r.stops); !ok {
					return false
				}
				r.hasStop = true
			}
		case 9: // user
			if !null {
				v, ok := s.str()
				if !ok || !plainASCII(v) {
					return false
				}
				r.user = v
			}
		}
		if s.close('}') {
			break
		}
		if !s.open(',') {
			return false
		}
	}
	s.space()
	return s.i == len(s.b) && r.seen&2 != 0
}

func (r *quickReq) readMessages(s *jsonScan) bool {
	if !s.open('[') {
		return false
	}
	if s.close(']') {
		return false // no messages: the full way's error
	}
	for {
		if !s.open('{') || s.close('}') {
			return false
		}
		var m quickMsg
		var seen int
		for {
			key, ok := s.key()
			if !ok {
				return false
			}
			switch string(key) {
			case "role":
				if seen&1 != 0 || s.null() {
					return false
				}
				seen |= 1
				v, ok := s.str()
				if !ok {
					return false
				}
				switch string(v) {
				case "system", "developer":
					m.role = 's'
				case "user":
					m.role = 'u'
				case "assistant":
					m.role = 'a'
				default:
					return false
				}
			case "content":
				if seen&2 != 0 {
					return false
				}
				seen |= 2
				if !s.null() {
					v, ok := s.str()
					if !ok {
						return false
					}
					m.content = v
				}
			default:
				return false
			}
			if s.close('}') {
				break
			}
			if !s.open(',') {
				return false
			}
		}
		if seen&1 == 0 {
			return false
		}
		r.msgs = append(r.msgs, m)
		if s.close(']') {
			return true
		}
		if !s.open(',') {
			return false
		}
	}
}

// readStops reads stop (not null) into stops: plain ASCII strings only (a
// blank one is then all spaces, as strings.TrimSpace sees it).
func readStops(s *jsonScan, stops [][]byte) ([][]byte, bool) {
	if !s.open('[') {
		v, ok := s.str()
		if !ok || !plainASCII(v) {
			return nil, false
		}
		return append(stops, v), true
	}
	if s.close(']') {
		return stops, true
	}
	for {
		v, ok := s.str()
		if !ok || !plainASCII(v) {
			return nil, false
		}
		stops = append(stops, v)
		if s.close(']') {
			return stops, true
		}
		if !s.open(',') {
			return nil, false
		}
	}
}

// plainASCII: a string literal of printable ASCII without escapes (its
// bytes are its value).
func plainASCII(lit []byte) bool {
	for _, c := range lit {
		if c < 0x20 || c >= 0x7f || c == '\\' {
			return false
		}
	}
	return true
}

// plainBlank: a plain ASCII value strings.TrimSpace makes empty.
func plainBlank(lit []byte) bool {
	for _, c := range lit {
		if c != ' ' {
			return false
		}
	}
	return true
}

func readStreamOptions(s *jsonScan) bool {
	if !s.open('{') {
		return false
	}
	if s.close('}') {
		return true
	}
	key, ok := s.key()
	if !ok || string(key) != "include_usage" {
		return false
	}
	if !s.null() {
		if _, ok := s.boolean(); !ok {
			return false
		}
	}
	return s.close('}')
}

// jsonScan is a strict JSON scanner over b from i: each method takes one
// token (after whitespace) and reports whether it was there and valid.
type jsonScan struct {
	b []byte
	i int
}

func (s *jsonScan) space() { s.i = skipSpace(s.b, s.i) }

// open takes the byte c (a structural character).
func (s *jsonScan) open(c byte) bool {
	s.space()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// close is open for a closing character.
func (s *jsonScan) close(c byte) bool { return s.open(c) }

// null takes a null literal.
func (s *jsonScan) null() bool {
	s.space()
	if len(s.b)-s.i >= 4 && string(s.b[s.i:s.i+4]) == "null" {
		s.i += 4
		return true
	}
	return false
}

func (s *jsonScan) boolean() (bool, bool) {
	s.space()
	switch {
	case len(s.b)-s.i >= 4 && string(s.b[s.i:s.i+4]) == "true":
		s.i += 4
		return true, true
	case len(s.b)-s.i >= 5 && string(s.b[s.i:s.i+5]) == "false":
		s.i += 5
		return false, true
	}
	return false, false
}

// key takes a member's key and its colon: a key of plain ASCII only (an
// escaped or non-ASCII key goes the full way).
func (s *jsonScan) key() ([]byte, bool) {
	s.space()
	b, i := s.b, s.i
	if i >= len(b) || b[i] != '"' {
		return nil, false
	}
	j := i + 1
	for j < len(b) && b[j] != '"' {
		if b[j] == '\\' || b[j] < 0x20 || b[j] >= 0x80 {
			return nil, false
		}
		j++
	}
	if j >= len(b) {
		return nil, false
	}
	s.i = j + 1
	if !s.open(':') {
		return nil, false
	}
	return b[i+1 : j], true
}

// str takes a valid JSON string: its literal bytes between the quotes.
func (s *jsonScan) str() ([]byte, bool) {
	s.space()
	b, i := s.b, s.i
	if i >= len(b) || b[i] != '"' {
		return nil, false
	}
	j := i + 1
	for j < len(b) {
		c := b[j]
		switch {
		case c == '"':
			s.i = j + 1
			return b[i+1 : j], true
		case c < 0x20:
			return nil, false
		case c == '\\':
			if j+1 >= len(b) {
				return nil, false
			}
			switch b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j += 2
			case 'u':
				if hex4(b[j+2:]) < 0 {
					return nil, false
				}
				j += 6
			default:
				return nil, false
			}
		default:
			j++
		}
	}
	return nil, false
}

// number takes a JSON number: its literal, and whether it is an integer.
func (s *jsonScan) number() ([]byte, bool, bool) {
	s.space()
	b, i := s.b, s.i
	j := i
	if j < len(b) && b[j] == '-' {
		j++
	}
	switch {
	case j < len(b) && b[j] == '0':
		j++
	case j < len(b) && b[j] >= '1' && b[j] <= '9':
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
	default:
		return nil, false, false
	}
	integer := true
	if j < len(b) && b[j] == '.' {
		integer = false
		j++
		k := j
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if j == k {
			return nil, false, false
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		integer = false
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		k := j
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		if j == k {
			return nil, false, false
		}
	}
	s.i = j
	return b[i:j], integer, true
}

// integer takes a number json decodes into an int: no fraction or
// exponent, at most 18 digits (sure to fit).
func (s *jsonScan) integer() (int, bool) {
	lit, integer, ok := s.number()
	if !ok || !integer || len(lit) > 18 {
		return 0, false
	}
	n, err := strconv.Atoi(string(lit))
	return n, err == nil
}

// float takes a number json decodes into a float64 (in range).
func (s *jsonScan) float() (float64, bool) {
	lit, _, ok := s.number()
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(lit), 64)
	return f, err == nil
}

// hex4 is the value of the \uXXXX escape at the start of b, -1 if none.
func hex4(b []byte) rune {
	if len(b) < 4 {
		return -1
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// appendMarshalFloat appends f as json.Marshal writes a float64.
func appendMarshalFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const lowerHex = "0123456789abcdef"

// appendMarshalString appends s as json.Marshal writes a string (HTML
// characters escaped, invalid UTF-8 as \ufffd).
func appendMarshalString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			b = appendMarshalASCII(b, c)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', lowerHex[r&0xF])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// appendMarshalASCII appends one ASCII character as json.Marshal writes it
// inside a string.
func appendMarshalASCII(b []byte, c byte) []byte {
	switch {
	case c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&':
		return append(b, c)
	case c == '"' || c == '\\':
		return append(b, '\\', c)
	case c == '\b':
		return append(b, '\\', 'b')
	case c == '\f':
		return append(b, '\\', 'f')
	case c == '\n':
		return append(b, '\\', 'n')
	case c == '\r':
		return append(b, '\\', 'r')
	case c == '\t':
		return append(b, '\\', 't')
	}
	return append(b, '\\', 'u', '0', '0', lowerHex[c>>4], lowerHex[c&0xF])
}

// appendLiteralString appends the string whose JSON literal (between the
// quotes, valid: jsonScan.str) is lit as json.Marshal writes the string json
// decodes from it: escapes decoded as encoding/json decodes them (a lone
// surrogate, like invalid UTF-8, is U+FFFD) and written again as it writes
// them.
func appendLiteralString(b, lit []byte) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(lit); {
		c := lit[i]
		if c >= 0x20 && c < utf8.RuneSelf && c != '\\' && c != '<' && c != '>' && c != '&' {
			i++
			continue
		}
		b = append(b, lit[start:i]...)
		switch {
		case c < utf8.RuneSelf && c != '\\':
			b = appendMarshalASCII(b, c)
			i++
		case c == '\\':
			var r rune
			r, i = literalEscape(lit, i)
			switch {
			case r < utf8.RuneSelf:
				b = appendMarshalASCII(b, byte(r))
			case r == '\u2028' || r == '\u2029':
				b = append(b, '\\', 'u', '2', '0', '2', lowerHex[r&0xF])
			default:
				b = utf8.AppendRune(b, r)
			}
		default:
			r, size := utf8.DecodeRune(lit[i:])
			switch {
			case r == utf8.RuneError && size == 1:
				b = utf8.AppendRune(b, utf8.RuneError) // decoded as U+FFFD, written as it
			case r == '\u2028' || r == '\u2029':
				b = append(b, '\\', 'u', '2', '0', '2', lowerHex[r&0xF])
			default:
				b = append(b, lit[i:i+size]...)
			}
			i += size
		}
		start = i
	}
	b = append(b, lit[start:]...)
	return append(b, '"')
}

// literalEscape decodes the escape at lit[i] (a backslash of a valid
// literal) as encoding/json does: the rune and the index after it.
func literalEscape(lit []byte, i int) (rune, int) {
	switch lit[i+1] {
	case 'b':
		return '\b', i + 2
	case 'f':
		return '\f', i + 2
	case 'n':
		return '\n', i + 2
	case 'r':
		return '\r', i + 2
	case 't':
		return '\t', i + 2
	case 'u':
		r := hex4(lit[i+2:])
		i += 6
		if utf16.IsSurrogate(r) {
			var r1 rune = -1
			if i+1 < len(lit) && lit[i] == '\\' && lit[i+1] == 'u' {
				r1 = hex4(lit[i+2:])
			}
			if d := utf16.DecodeRune(r, r1); d != utf8.RuneError {
				return d, i + 6
			}
			return utf8.RuneError, i
		}
		return r, i
	}
	return rune(lit[i+1]), i + 2 // " \ /
}

// validJSON reports what json.Valid reports, without its state machine's
// call per byte (D116: json.Valid was half the quick answer's time).
func validJSON(b []byte) bool {
	s := jsonScan{b: b}
	if !s.value(0) {
		return false
	}
	s.space()
	return s.i == len(b)
}

// value takes one valid JSON value nested depth deep (json's scanner
// refuses more than 10,000 levels).
func (s *jsonScan) value(depth int) bool {
	s.space()
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '"':
		_, ok := s.str()
		return ok
	case c == '{' || c == '[':
		if depth >= 10000 {
			return false
		}
		s.i++
		end := byte(']')
		if c == '{' {
			end = '}'
		}
		if s.close(end) {
			return true
		}
		for {
			if c == '{' {
				if _, ok := s.member(); !ok {
					return false
				}
			}
			if !s.value(depth + 1) {
				return false
			}
			if s.close(end) {
				return true
			}
			if !s.open(',') {
				return false
			}
		}
	case c == 't' || c == 'f':
		_, ok := s.boolean()
		return ok
	case c == 'n':
		return s.null()
	}
	_, _, ok := s.number()
	return ok
}

// member takes any valid key and its colon.
func (s *jsonScan) member() ([]byte, bool) {
	k, ok := s.str()
	return k, ok && s.open(':')
}
