package main

// topLevelString finds the string value of key in the top-level JSON object
// of body without decoding the rest: nested objects, arrays and strings are
// skipped, so a "model" inside tool schemas or messages is never taken. It
// returns ok=false for a value that is not a plain string (or has escapes:
// the caller then falls back to encoding/json).
func topLevelString(body []byte, key string) (val []byte, ok bool) {
	i := skipWS(body, 0)
	if i >= len(body) || body[i] != '{' {
		return nil, false
	}
	i++
	for {
		i = skipWS(body, i)
		if i >= len(body) || body[i] != '"' {
			return nil, false
		}
		ks, ke, esc, next := scanString(body, i)
		if next < 0 {
			return nil, false
		}
		i = skipWS(body, next)
		if i >= len(body) || body[i] != ':' {
			return nil, false
		}
		i = skipWS(body, i+1)
		if !esc && string(body[ks:ke]) == key {
			if i < len(body) && body[i] == '"' {
				vs, ve, vesc, n := scanString(body, i)
				if n < 0 || vesc {
					return nil, false
				}
				return body[vs:ve], true
			}
			return nil, false
		}
		i = skipValue(body, i)
		if i < 0 {
			return nil, false
		}
		i = skipWS(body, i)
		if i >= len(body) {
			return nil, false
		}
		switch body[i] {
		case ',':
			i++
		case '}':
			return nil, false
		default:
			return nil, false
		}
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\t' || b[i] == '\r') {
		i++
	}
	return i
}

// scanString scans the string starting at b[i] == '"'; it returns the
// content's bounds, whether it had escapes, and the index after the closing quote.
func scanString(b []byte, i int) (start, end int, escaped bool, next int) {
	start = i + 1
	for j := start; j < len(b); j++ {
		switch b[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			return start, j, escaped, j + 1
		}
	}
	return 0, 0, false, -1
}

// skipValue skips any JSON value starting at b[i]; -1 on malformed input.
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		_, _, _, n := scanString(b, i)
		return n
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				_, _, _, n := scanString(b, j)
				if n < 0 {
					return -1
				}
				j = n - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	default: // number, true, false, null
		j := i
		for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\n' && b[j] != '\t' && b[j] != '\r' {
			j++
		}
		if j == i {
			return -1
		}
		return j
	}
}
