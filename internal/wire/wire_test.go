package wire

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// TestAppendNested: a nested field reads back with protowire whatever its
// length (one length byte, then widened to two and three), after a prefix.
func TestAppendNested(t *testing.T) {
	for _, n := range []int{0, 1, 0x7f, 0x80, 300, 0x3fff, 0x4000, 70000} {
		s := strings.Repeat("x", n)
		b := AppendNested([]byte("pre"), 7, func(b []byte) []byte { return AppendString(b, 2, s) })
		if string(b[:3]) != "pre" {
			t.Fatalf("%d: prefix spoiled", n)
		}
		num, typ, l := protowire.ConsumeTag(b[3:])
		if num != 7 || typ != protowire.BytesType || l < 0 {
			t.Fatalf("%d: tag %d %d", n, num, typ)
		}
		inner, m := protowire.ConsumeBytes(b[3+l:])
		if m < 0 || 3+l+m != len(b) {
			t.Fatalf("%d: length %d of %d", n, m, len(b))
		}
		num, _, l = protowire.ConsumeTag(inner)
		v, m := protowire.ConsumeString(inner[l:])
		if num != 2 || m < 0 || v != s {
			t.Fatalf("%d: inner field %d, %d bytes", n, num, len(v))
		}
	}
}
