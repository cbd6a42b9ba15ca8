package wire

import (
	"bytes"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// TestOpenClose: a field written with Open/Close is the bytes
// AppendNested writes, whichever width was reserved and whatever length
// the contents take (shorter, equal, longer than the reservation).
func TestOpenClose(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 16383, 16384, 1<<21 - 1, 1 << 21} {
		body := strings.Repeat("x", n)
		want := AppendNested([]byte("prefix"), 2, func(b []byte) []byte { return append(b, body...) })
		for w := 1; w <= 4; w++ {
			b, at := Open([]byte("prefix"), 2, w)
			b = Close(append(b, body...), at, w)
			if !bytes.Equal(b, want) {
				t.Errorf("length %d, width %d: %d bytes, want %d", n, w, len(b), len(want))
			}
		}
	}
	for _, v := range []uint64{0, 127, 128, 16383, 16384, 1 << 40} {
		if got, want := AppendUvarint([]byte{9}, v), protowire.AppendVarint([]byte{9}, v); !bytes.Equal(got, want) {
			t.Errorf("AppendUvarint(%d) = %x, want %x", v, got, want)
		}
	}
}
