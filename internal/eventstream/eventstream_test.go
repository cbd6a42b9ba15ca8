package eventstream

import (
	"bytes"
	"errors"
	"hash/crc32"
	"testing"
	"time"

	awses "github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"
)

// awsFrames encodes frames with aws-sdk-go-v2's encoder: the reference.
func awsFrames(t testing.TB) ([]byte, []awses.Message) {
	t.Helper()
	msgs := []awses.Message{
		{Headers: awses.Headers{
			{Name: ":event-type", Value: awses.StringValue("messageStart")},
			{Name: ":content-type", Value: awses.StringValue("application/json")},
			{Name: ":message-type", Value: awses.StringValue("event")},
		}, Payload: []byte(`{"p":"abcd","role":"assistant"}`)},
		{Headers: awses.Headers{
			{Name: ":event-type", Value: awses.StringValue("contentBlockDelta")},
			{Name: ":message-type", Value: awses.StringValue("event")},
			{Name: "b", Value: awses.BoolValue(true)},
			{Name: "f", Value: awses.BoolValue(false)},
			{Name: "i8", Value: awses.Int8Value(-3)},
			{Name: "i16", Value: awses.Int16Value(-300)},
			{Name: "i32", Value: awses.Int32Value(70000)},
			{Name: "i64", Value: awses.Int64Value(-1 << 40)},
			{Name: "bytes", Value: awses.BytesValue{1, 2, 3}},
			{Name: "ts", Value: awses.TimestampValue(time.UnixMilli(1700000000123))},
			{Name: "uuid", Value: awses.UUIDValue{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}},
		}, Payload: []byte(`{"contentBlockIndex":0,"delta":{"text":"Hello"}}`)},
		{Headers: awses.Headers{{Name: ":message-type", Value: awses.StringValue("event")}}}, // empty payload
		{Headers: awses.Headers{
			{Name: ":exception-type", Value: awses.StringValue("throttlingException")},
			{Name: ":message-type", Value: awses.StringValue("exception")},
		}, Payload: []byte(`{"message":"Too many requests"}`)},
	}
	var buf bytes.Buffer
	enc := awses.NewEncoder()
	for _, m := range msgs {
		if err := enc.Encode(&buf, m); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes(), msgs
}

func checkAgainstAWS(t *testing.T, got []Message, want []awses.Message) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d messages, want %d", len(got), len(want))
	}
	for i := range want {
		if !bytes.Equal(got[i].Payload, want[i].Payload) {
			t.Fatalf("message %d payload %q, want %q", i, got[i].Payload, want[i].Payload)
		}
		if len(got[i].Headers) != len(want[i].Headers) {
			t.Fatalf("message %d: %d headers, want %d", i, len(got[i].Headers), len(want[i].Headers))
		}
		for j, wh := range want[i].Headers {
			gh := got[i].Headers[j]
			if gh.Name != wh.Name || gh.Type != typeOf(t, wh) {
				t.Fatalf("message %d header %d: got %q type %d, want %q type %d", i, j, gh.Name, gh.Type, wh.Name, typeOf(t, wh))
			}
			// AWS's header encoding is name length, name, type byte [+ length], value.
			raw := awsHeaderBytes(t, wh)[1+len(wh.Name):][1:]
			if gh.Type == TypeString || gh.Type == TypeBytes {
				raw = raw[2:]
			}
			if !bytes.Equal(gh.Value, raw) {
				t.Fatalf("header %q value %x, want %x", gh.Name, gh.Value, raw)
			}
		}
	}
}

func awsHeaderBytes(t testing.TB, h awses.Header) []byte {
	var b bytes.Buffer
	if err := awses.EncodeHeaders(&b, awses.Headers{h}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func typeOf(t testing.TB, h awses.Header) byte {
	return awsHeaderBytes(t, h)[1+len(h.Name)]
}

func TestDecodeAWSEncodedEveryBoundary(t *testing.T) {
	wire, want := awsFrames(t)
	for i := 0; i <= len(wire); i++ {
		var d Decoder
		a, err := d.Feed(wire[:i])
		if err != nil {
			t.Fatalf("split %d: %v", i, err)
		}
		b, err := d.Feed(wire[i:])
		if err != nil {
			t.Fatalf("split %d: %v", i, err)
		}
		checkAgainstAWS(t, append(a, b...), want)
		if d.Pending() != 0 {
			t.Fatalf("split %d: %d bytes left", i, d.Pending())
		}
	}
	// Byte by byte, and frames emitted as soon as complete.
	var d Decoder
	var got []Message
	for i := range wire {
		m, err := d.Feed(wire[i : i+1])
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, m...)
	}
	checkAgainstAWS(t, got, want)
}

func TestHeaderAccessors(t *testing.T) {
	wire, _ := awsFrames(t)
	var d Decoder
	msgs, err := d.Feed(wire)
	if err != nil {
		t.Fatal(err)
	}
	m := msgs[1]
	if m.Header(":event-type") != "contentBlockDelta" || msgs[3].Header(":exception-type") != "throttlingException" {
		t.Fatal("Header lookup")
	}
	want := map[string]int64{"i8": -3, "i16": -300, "i32": 70000, "i64": -1 << 40, "ts": 1700000000123}
	for _, h := range m.Headers {
		if w, ok := want[h.Name]; ok && h.Int() != w {
			t.Errorf("%s = %d, want %d", h.Name, h.Int(), w)
		}
		if h.Name == "b" && !h.Bool() || h.Name == "f" && h.Bool() {
			t.Errorf("bool header %s wrong", h.Name)
		}
	}
}

func TestEncodeDecodedByAWS(t *testing.T) {
	var wire []byte
	var err error
	in := []Message{
		{Headers: []Header{StringHeader(":event-type", "metadata"), StringHeader(":message-type", "event")}, Payload: []byte(`{"usage":{"inputTokens":1}}`)},
		{Headers: []Header{{Name: "n", Type: TypeInt32, Value: []byte{0, 0, 1, 0}}}},
	}
	for _, m := range in {
		if wire, err = Encode(wire, m); err != nil {
			t.Fatal(err)
		}
	}
	dec := awses.NewDecoder()
	r := bytes.NewReader(wire)
	for i, m := range in {
		got, err := dec.Decode(r, nil)
		if err != nil {
			t.Fatalf("aws decoder rejects our frame %d: %v", i, err)
		}
		if !bytes.Equal(got.Payload, m.Payload) || len(got.Headers) != len(m.Headers) {
			t.Fatalf("frame %d: %+v", i, got)
		}
	}
}

func TestCorruption(t *testing.T) {
	wire, _ := awsFrames(t)
	tests := []struct {
		name string
		mut  func(b []byte) []byte
	}{
		{"prelude CRC", func(b []byte) []byte { b[9] ^= 0xff; return b }},
		{"total length", func(b []byte) []byte { b[3] ^= 0x01; return b }},
		{"payload byte", func(b []byte) []byte { b[len(b)-6] ^= 0x01; return b }},
		{"message CRC", func(b []byte) []byte { b[len(b)-1] ^= 0x01; return b }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.mut(append([]byte{}, wire...))
			var d Decoder
			_, err := d.Feed(b)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("want ErrCorrupt, got %v", err)
			}
			if _, err2 := d.Feed(wire); err2 == nil {
				t.Fatal("decoder must stay failed")
			}
		})
	}
}

func TestHugeLengthRejectedWithoutBuffering(t *testing.T) {
	// A prelude announcing 1 GiB with a valid CRC must fail at once.
	var b []byte
	b = append(b, 0x40, 0, 0, 0, 0, 0, 0, 0)
	b = append(b, 0, 0, 0, 0)
	crc := crcOf(b[:8])
	b[8], b[9], b[10], b[11] = byte(crc>>24), byte(crc>>16), byte(crc>>8), byte(crc)
	var d Decoder
	if _, err := d.Feed(b); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("want ErrCorrupt, got %v", err)
	}
}

func FuzzDecoder(f *testing.F) {
	wire, _ := awsFrames(f)
	f.Add(wire, 5)
	f.Add(wire[:20], 3)
	f.Fuzz(func(t *testing.T, in []byte, split int) {
		if split < 0 {
			split = -split
		}
		split %= len(in) + 1
		var whole Decoder
		wm, werr := whole.Feed(in)
		var d Decoder
		a, err := d.Feed(in[:split])
		var b []Message
		if err == nil {
			b, err = d.Feed(in[split:])
		}
		got := append(a, b...)
		if (err == nil) != (werr == nil) || len(got) != len(wm) {
			t.Fatalf("split %d: %d msgs err %v; whole: %d msgs err %v", split, len(got), err, len(wm), werr)
		}
		for _, m := range got {
			re, err := Encode(nil, m)
			if err != nil {
				t.Fatal(err)
			}
			var d2 Decoder
			again, err := d2.Feed(re)
			if err != nil || len(again) != 1 || !bytes.Equal(again[0].Payload, m.Payload) {
				t.Fatalf("re-encode round trip failed: %v", err)
			}
		}
	})
}

func crcOf(b []byte) uint32 { return crc32.ChecksumIEEE(b) }
