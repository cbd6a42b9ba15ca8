package pyrepr

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// Repr writes a JSON value as Python's str() of the dict json.loads
// makes of it, keys in their order: LiteLLM's proxy answers an
// HTTPException's detail dict that way in its error message.
func Repr(raw json.RawMessage) string {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var b strings.Builder
	if err := reprValue(d, &b); err != nil {
		return string(raw)
	}
	return b.String()
}

func reprValue(d *json.Decoder, b *strings.Builder) error {
	tok, err := d.Token()
	if err != nil {
		return err
	}
	switch v := tok.(type) {
	case json.Delim:
		open, end := "{", json.Delim('}')
		if v == '[' {
			open, end = "[", json.Delim(']')
		}
		b.WriteString(open)
		for first := true; d.More(); first = false {
			if !first {
				b.WriteString(", ")
			}
			if v == '{' {
				k, err := d.Token()
				if err != nil {
					return err
				}
				ks, _ := k.(string)
				b.WriteString(pyString(ks))
				b.WriteString(": ")
			}
			if err := reprValue(d, b); err != nil {
				return err
			}
		}
		if _, err := d.Token(); err != nil { // the closing delimiter
			return err
		}
		b.WriteString(string(end))
	case string:
		b.WriteString(pyString(v))
	case json.Number:
		b.WriteString(pyNumber(v))
	case bool:
		if v {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case nil:
		b.WriteString("None")
	}
	return nil
}

// pyNumber is a JSON number as Python prints the int or float json.loads
// reads.
func pyNumber(n json.Number) string {
	s := n.String()
	if !strings.ContainsAny(s, ".eE") {
		return s // an int
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return s
	}
	out := strconv.FormatFloat(f, 'g', -1, 64)
	if exp := strings.IndexByte(out, 'e'); exp >= 0 {
		// Python writes at least two exponent digits, as Go does, and
		// switches to exponents at 1e16 and below 1e-4.
		return out
	}
	if !strings.Contains(out, ".") {
		out += ".0"
	}
	return out
}

// pyString is Python's repr of a string: single quotes unless the string
// holds a single quote and no double quote.
func pyString(s string) string {
	q := byte('\'')
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == rune(q):
			b.WriteByte('\\')
			b.WriteByte(q)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\x`)
			b.WriteString(strconv.FormatInt(int64(r)+0x100, 16)[1:])
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}
