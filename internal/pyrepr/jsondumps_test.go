package pyrepr

import (
	"bytes"
	"strings"
	"testing"
)

// TestJSONString: the escapes Python's json.dumps(s) writes (ensure_ascii),
// taken from CPython 3.11's output for each input.
func TestJSONString(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`plain`, `"plain"`},
		{"q\"b\\s/", `"q\"b\\s/"`},
		{"\n\r\t\b\f\x01\x1f", `"\n\r\t\b\f\u0001\u001f"`},
		{"\x7f", `"\u007f"`},
		{"é€", `"\u00e9\u20ac"`},
		{"😀", `"\ud83d\ude00"`},
		{"\u2028", `"\u2028"`},
	} {
		var sb strings.Builder
		JSONString(&sb, tc.in)
		var bb bytes.Buffer
		JSONString(&bb, tc.in)
		if sb.String() != tc.want || bb.String() != tc.want {
			t.Errorf("JSONString(%q) = %s / %s, want %s", tc.in, sb.String(), bb.String(), tc.want)
		}
	}
}
