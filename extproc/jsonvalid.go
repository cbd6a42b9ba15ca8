package extproc

import (
	"encoding/binary"
	"math/bits"
)

// validJSON reports what json.Valid reports, in one pass without the
// standard scanner's call per byte (D134: json.Valid was ≈ 0.5 µs of the
// module's Serve on a short chat body). The grammar is encoding/json's: one
// value between optional whitespace (space, tab, CR, LF); strings with no
// byte below 0x20 and only the escapes \" \\ \/ \b \f \n \r \t \uXXXX, any
// other byte taken as it is (json.Valid does not check UTF-8); numbers
// -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?; true, false, null; at most
// 10,000 objects and arrays open at once (the scanner's maxNestingDepth).
// TestValidJSONIsJSONValid compares them.
func validJSON(b []byte) bool {
	v := jsonValidator{b: b}
	i, ok := v.value(skipWS(b, 0), 0)
	return ok && skipWS(b, i) == len(b)
}

// jsonMaxDepth is encoding/json's maxNestingDepth.
const jsonMaxDepth = 10000

type jsonValidator struct{ b []byte }

// value checks the value at b[i] (depth objects and arrays around it) and
// returns the index after it.
func (v *jsonValidator) value(i, depth int) (int, bool) {
	b := v.b
	if i >= len(b) {
		return i, false
	}
	switch c := b[i]; {
	case c == '"':
		return v.str(i)
	case c == '{':
		if depth+1 > jsonMaxDepth {
			return i, false
		}
		i = skipWS(b, i+1)
		if i < len(b) && b[i] == '}' {
			return i + 1, true
		}
		for {
			if i >= len(b) || b[i] != '"' {
				return i, false
			}
			var ok bool
			if i, ok = v.str(i); !ok {
				return i, false
			}
			i = skipWS(b, i)
			if i >= len(b) || b[i] != ':' {
				return i, false
			}
			if i, ok = v.value(skipWS(b, i+1), depth+1); !ok {
				return i, false
			}
			i = skipWS(b, i)
			if i >= len(b) {
				return i, false
			}
			if b[i] == '}' {
				return i + 1, true
			}
			if b[i] != ',' {
				return i, false
			}
			i = skipWS(b, i+1)
		}
	case c == '[':
		if depth+1 > jsonMaxDepth {
			return i, false
		}
		i = skipWS(b, i+1)
		if i < len(b) && b[i] == ']' {
			return i + 1, true
		}
		for {
			var ok bool
			if i, ok = v.value(i, depth+1); !ok {
				return i, false
			}
			i = skipWS(b, i)
			if i >= len(b) {
				return i, false
			}
			if b[i] == ']' {
				return i + 1, true
			}
			if b[i] != ',' {
				return i, false
			}
			i = skipWS(b, i+1)
		}
	case c == '-' || c >= '0' && c <= '9':
		return v.number(i)
	case c == 't':
		return v.literal(i, "true")
	case c == 'f':
		return v.literal(i, "false")
	case c == 'n':
		return v.literal(i, "null")
	}
	return i, false
}

// str checks the string whose opening quote is at b[i].
func (v *jsonValidator) str(i int) (int, bool) {
	b := v.b
	for i++; ; i++ {
		if i = strStop(b, i); i >= len(b) {
			return i, false
		}
		switch b[i] {
		case '"':
			return i + 1, true
		case '\\':
			i++
			if i >= len(b) {
				return i, false
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(b) {
					return i, false
				}
				for _, h := range b[i+1 : i+5] {
					if !(h >= '0' && h <= '9' || h >= 'a' && h <= 'f' || h >= 'A' && h <= 'F') {
						return i, false
					}
				}
				i += 4
			default:
				return i, false
			}
		default: // a control byte
			return i, false
		}
	}
}

// Eight bytes at a time (D175): each byte of a word.
const (
	ones8 = 0x0101010101010101
	high8 = 0x8080808080808080
)

// strStop is the index of the first byte at or after i that ends a run of a
// JSON string's plain bytes — '"', '\\' or a control byte below 0x20 —
// or len(b). It tests eight bytes at once (a string's content is most of a
// chat body and of an answer, D175): in each of the three tests a byte's
// high bit is set by that byte matching or by a borrow from a lower byte
// that matched, so the lowest flagged byte is the first stop.
func strStop(b []byte, i int) int {
	for ; i+8 <= len(b); i += 8 {
		x := binary.LittleEndian.Uint64(b[i:])
		q := x ^ (ones8 * '"')
		e := x ^ (ones8 * '\\')
		if m := ((q-ones8)&^q | (e-ones8)&^e | (x-ones8*0x20)&^x) & high8; m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c == '"' || c == '\\' || c < 0x20 {
			return i
		}
	}
	return i
}

// number checks the number at b[i].
func (v *jsonValidator) number(i int) (int, bool) {
	b := v.b
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i++; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		}
	default:
		return i, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return i, false
		}
		for i++; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			return i, false
		}
		for i++; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		}
	}
	return i, true
}

// literal checks that b[i:] starts with lit.
func (v *jsonValidator) literal(i int, lit string) (int, bool) {
	if len(v.b)-i < len(lit) || string(v.b[i:i+len(lit)]) != lit {
		return i, false
	}
	return i + len(lit), true
}
