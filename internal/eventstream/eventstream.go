package eventstream

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Header value types, as numbered by the event stream encoding.
const (
	TypeBoolTrue  byte = 0
	TypeBoolFalse byte = 1
	TypeByte      byte = 2
	TypeInt16     byte = 3
	TypeInt32     byte = 4
	TypeInt64     byte = 5
	TypeBytes     byte = 6
	TypeString    byte = 7
	TypeTimestamp byte = 8
	TypeUUID      byte = 9
)

const (
	preludeLen = 12 // total length, headers length, prelude CRC
	crcLen     = 4
	// MaxMessageLen bounds one frame: 16 MiB of payload plus headers, as AWS
	// documents. Larger prelude lengths are treated as corruption.
	MaxMessageLen = 16*1024*1024 + 128*1024
	maxHeadersLen = 128 * 1024
)

// Header is one frame header. Value holds the raw encoded value (without
// the type byte); use String, Int or Bool to read it.
type Header struct {
	Name  string
	Type  byte
	Value []byte
}

// String returns a string or bytes header as text ("" for other types).
func (h Header) String() string {
	if h.Type == TypeString || h.Type == TypeBytes {
		return string(h.Value)
	}
	return ""
}

// Int returns an integer or timestamp header's value.
func (h Header) Int() int64 {
	switch h.Type {
	case TypeByte:
		return int64(int8(h.Value[0]))
	case TypeInt16:
		return int64(int16(binary.BigEndian.Uint16(h.Value)))
	case TypeInt32:
		return int64(int32(binary.BigEndian.Uint32(h.Value)))
	case TypeInt64, TypeTimestamp:
		return int64(binary.BigEndian.Uint64(h.Value))
	}
	return 0
}

// Bool returns a boolean header's value.
func (h Header) Bool() bool { return h.Type == TypeBoolTrue }

// StringHeader builds a string header.
func StringHeader(name, value string) Header {
	return Header{Name: name, Type: TypeString, Value: []byte(value)}
}

// Message is one decoded frame.
type Message struct {
	Headers []Header
	Payload []byte
}

// Header returns the string value of the first header with the name, or "".
func (m Message) Header(name string) string {
	for _, h := range m.Headers {
		if h.Name == name {
			return h.String()
		}
	}
	return ""
}

// ErrCorrupt is wrapped by every decoding error. A decoder that returned an
// error stays failed: the stream cannot be resynchronised.
var ErrCorrupt = errors.New("eventstream: corrupt frame")

// Decoder reassembles frames from chunks. The zero value is ready to use.
type Decoder struct {
	buf []byte
	err error
}

// Feed adds bytes and returns every frame they complete. Payloads and header
// values are copies; the caller's chunk is not retained.
func (d *Decoder) Feed(chunk []byte) ([]Message, error) {
	if d.err != nil {
		return nil, d.err
	}
	d.buf = append(d.buf, chunk...)
	var out []Message
	off := 0
	for len(d.buf)-off >= preludeLen {
		frame := d.buf[off:]
		total := binary.BigEndian.Uint32(frame[0:4])
		hlen := binary.BigEndian.Uint32(frame[4:8])
		if got, want := crc32.ChecksumIEEE(frame[0:8]), binary.BigEndian.Uint32(frame[8:12]); got != want {
			return out, d.fail(fmt.Errorf("%w: prelude CRC %08x, frame says %08x", ErrCorrupt, got, want))
		}
		if total < preludeLen+crcLen || total > MaxMessageLen || hlen > maxHeadersLen || uint64(hlen) > uint64(total)-preludeLen-crcLen {
			return out, d.fail(fmt.Errorf("%w: bad lengths total=%d headers=%d", ErrCorrupt, total, hlen))
		}
		if uint64(len(frame)) < uint64(total) {
			break
		}
		frame = frame[:total]
		if got, want := crc32.ChecksumIEEE(frame[:total-crcLen]), binary.BigEndian.Uint32(frame[total-crcLen:]); got != want {
			return out, d.fail(fmt.Errorf("%w: message CRC %08x, frame says %08x", ErrCorrupt, got, want))
		}
		headers, err := decodeHeaders(frame[preludeLen : preludeLen+hlen])
		if err != nil {
			return out, d.fail(err)
		}
		payload := append([]byte{}, frame[preludeLen+hlen:total-crcLen]...)
		out = append(out, Message{Headers: headers, Payload: payload})
		off += int(total)
	}
	// Drop consumed bytes, keeping the buffer from growing without bound.
	rest := d.buf[off:]
	d.buf = append(d.buf[:0:0], rest...)
	return out, nil
}

// Pending is the number of buffered bytes of an incomplete frame.
func (d *Decoder) Pending() int { return len(d.buf) }

func (d *Decoder) fail(err error) error {
	d.err, d.buf = err, nil
	return err
}

func decodeHeaders(b []byte) ([]Header, error) {
	var hs []Header
	for len(b) > 0 {
		n := int(b[0])
		if n == 0 || len(b) < 1+n+1 {
			return nil, fmt.Errorf("%w: truncated header name", ErrCorrupt)
		}
		h := Header{Name: string(b[1 : 1+n]), Type: b[1+n]}
		b = b[2+n:]
		var size int
		switch h.Type {
		case TypeBoolTrue, TypeBoolFalse:
			size = 0
		case TypeByte:
			size = 1
		case TypeInt16:
			size = 2
		case TypeInt32:
			size = 4
		case TypeInt64, TypeTimestamp:
			size = 8
		case TypeUUID:
			size = 16
		case TypeBytes, TypeString:
			if len(b) < 2 {
				return nil, fmt.Errorf("%w: truncated header %q length", ErrCorrupt, h.Name)
			}
			size = int(binary.BigEndian.Uint16(b))
			b = b[2:]
		default:
			return nil, fmt.Errorf("%w: header %q has unknown type %d", ErrCorrupt, h.Name, h.Type)
		}
		if len(b) < size {
			return nil, fmt.Errorf("%w: truncated header %q value", ErrCorrupt, h.Name)
		}
		h.Value = append([]byte{}, b[:size]...)
		b = b[size:]
		hs = append(hs, h)
	}
	return hs, nil
}

// Encode appends one frame to dst. Header values must have the size their
// type implies; string and bytes values are at most 65535 bytes.
func Encode(dst []byte, m Message) ([]byte, error) {
	var hb []byte
	for _, h := range m.Headers {
		if len(h.Name) == 0 || len(h.Name) > 255 {
			return dst, fmt.Errorf("eventstream: header name %q must be 1-255 bytes", h.Name)
		}
		hb = append(hb, byte(len(h.Name)))
		hb = append(hb, h.Name...)
		hb = append(hb, h.Type)
		switch h.Type {
		case TypeBytes, TypeString:
			if len(h.Value) > 0xffff {
				return dst, fmt.Errorf("eventstream: header %q value too long", h.Name)
			}
			hb = binary.BigEndian.AppendUint16(hb, uint16(len(h.Value)))
		}
		hb = append(hb, h.Value...)
	}
	total := preludeLen + len(hb) + len(m.Payload) + crcLen
	if total > MaxMessageLen {
		return dst, fmt.Errorf("eventstream: frame of %d bytes exceeds %d", total, MaxMessageLen)
	}
	start := len(dst)
	dst = binary.BigEndian.AppendUint32(dst, uint32(total))
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(hb)))
	dst = binary.BigEndian.AppendUint32(dst, crc32.ChecksumIEEE(dst[start:start+8]))
	dst = append(dst, hb...)
	dst = append(dst, m.Payload...)
	dst = binary.BigEndian.AppendUint32(dst, crc32.ChecksumIEEE(dst[start:]))
	return dst, nil
}
