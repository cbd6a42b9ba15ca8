package pyrepr

import "unicode/utf16"

// Writer is what JSONString writes to: a *strings.Builder or a
// *bytes.Buffer.
type Writer interface {
	WriteByte(byte) error
	WriteString(string) (int, error)
	WriteRune(rune) (int, error)
}

const hexDigits = "0123456789abcdef"

// JSONString writes s as a JSON string the way Python's json.dumps writes
// it by default (ensure_ascii): every character outside printable ASCII
// (DEL included) as a \uXXXX
// escape (a surrogate pair past the BMP), lowercase hex, the short escapes
// for the control characters JSON names.
func JSONString(w Writer, s string) {
	_ = w.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			_, _ = w.WriteString(`\"`)
		case r == '\\':
			_, _ = w.WriteString(`\\`)
		case r == '\n':
			_, _ = w.WriteString(`\n`)
		case r == '\r':
			_, _ = w.WriteString(`\r`)
		case r == '\t':
			_, _ = w.WriteString(`\t`)
		case r == '\b':
			_, _ = w.WriteString(`\b`)
		case r == '\f':
			_, _ = w.WriteString(`\f`)
		case r < 0x20 || (r >= 0x7f && r < 0x10000):
			writeU(w, r)
		case r >= 0x10000:
			r1, r2 := utf16.EncodeRune(r)
			writeU(w, r1)
			writeU(w, r2)
		default:
			_, _ = w.WriteRune(r)
		}
	}
	_ = w.WriteByte('"')
}

func writeU(w Writer, r rune) {
	_, _ = w.WriteString(`\u`)
	for shift := 12; shift >= 0; shift -= 4 {
		_ = w.WriteByte(hexDigits[(r>>uint(shift))&0xf])
	}
}
