package wire

import "google.golang.org/protobuf/encoding/protowire"

// Open appends a length-delimited field's one-byte tag (field numbers
// 1–15) and reserves w bytes for its length, the width the caller expects
// it to take; Close writes the length once the contents are appended
// after it. A length of that width costs no move of the contents
// (AppendNested reserves one byte and moves every longer message); another
// width moves them once, so the encoding is the canonical one either way.
func Open(b []byte, num protowire.Number, w int) ([]byte, int) {
	if num < 1 || num > 15 {
		panic("wire.Open: field number outside 1-15")
	}
	b = append(b, byte(num)<<3|byte(protowire.BytesType))
	at := len(b)
	for range w {
		b = append(b, 0)
	}
	return b, at
}

// Close writes the length of the field Open(…, w) started at at.
func Close(b []byte, at, w int) []byte {
	n := len(b) - at - w
	need := protowire.SizeVarint(uint64(n))
	if need != w {
		if need > w {
			b = append(b, make([]byte, need-w)...)
		}
		copy(b[at+need:], b[at+w:at+w+n])
		b = b[:at+need+n]
	}
	protowire.AppendVarint(b[at:at], uint64(n))
	return b
}

// AppendUvarint is protowire.AppendVarint with the one- and two-byte
// cases inlined.
func AppendUvarint(b []byte, v uint64) []byte {
	if v < 0x80 {
		return append(b, byte(v))
	}
	if v < 1<<14 {
		return append(b, byte(v)|0x80, byte(v>>7))
	}
	return protowire.AppendVarint(b, v)
}
