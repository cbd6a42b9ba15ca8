package translator

import (
	"bytes"
	"reflect"
	"testing"
)

func TestSSEParserSplitEverywhere(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []SSEEvent
	}{
		{
			name: "anthropic style",
			in:   "event: message_start\ndata: {\"a\":1}\n\nevent: ping\ndata: {}\n\n",
			want: []SSEEvent{{Event: "message_start", Data: []byte(`{"a":1}`)}, {Event: "ping", Data: []byte(`{}`)}},
		},
		{
			name: "crlf, comments, multi-line data, no space",
			in:   ": keepalive\r\ndata:one\r\ndata: two\r\n\r\ndata: [DONE]\r\n\r\n",
			want: []SSEEvent{{Data: []byte("one\ntwo")}, {Data: []byte("[DONE]")}},
		},
		{
			name: "bare CR line ends",
			in:   "data: x\r\rdata: y\r\r",
			want: []SSEEvent{{Data: []byte("x")}, {Data: []byte("y")}},
		},
		{
			name: "unterminated last event is flushed",
			in:   "data: a\n\ndata: b",
			want: []SSEEvent{{Data: []byte("a")}, {Data: []byte("b")}},
		},
		{
			name: "id kept, blank lines alone dispatch nothing",
			in:   "\n\nid: 7\nevent: e\ndata: d\n\n\n",
			want: []SSEEvent{{Event: "e", Data: []byte("d"), ID: "7"}},
		},
		{
			name: "empty data field",
			in:   "data\n\n",
			want: []SSEEvent{{Data: []byte{}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			// Whole, then every split in two, then byte by byte.
			check := func(label string, chunks [][]byte) {
				t.Helper()
				var p SSEParser
				var got []SSEEvent
				for i, c := range chunks {
					got = append(got, p.Feed(c, i == len(chunks)-1)...)
				}
				if len(got) == 0 && len(tt.want) == 0 {
					return
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("%s: got %+v, want %+v", label, got, tt.want)
				}
			}
			check("whole", [][]byte{in})
			for i := 0; i <= len(in); i++ {
				check("split", [][]byte{in[:i], in[i:]})
			}
			var bytewise [][]byte
			for i := range in {
				bytewise = append(bytewise, in[i:i+1])
			}
			bytewise = append(bytewise, nil)
			check("bytewise", bytewise)
		})
	}
}

func TestSSEParserEmitsAsSoonAsComplete(t *testing.T) {
	var p SSEParser
	if ev := p.Feed([]byte("data: a\n"), false); len(ev) != 0 {
		t.Fatalf("event before blank line: %+v", ev)
	}
	if ev := p.Feed([]byte("\n"), false); len(ev) != 1 || string(ev[0].Data) != "a" {
		t.Fatalf("want event a at blank line, got %+v", ev)
	}
}

func TestWriteSSERoundTrip(t *testing.T) {
	tests := []struct {
		event, data, want string
	}{
		{"", `{"x":1}`, "data: {\"x\":1}\n\n"},
		{"message_stop", `{}`, "event: message_stop\ndata: {}\n\n"},
		{"", "a\nb", "data: a\ndata: b\n\n"},
	}
	for _, tt := range tests {
		got := WriteSSE(nil, tt.event, []byte(tt.data))
		if string(got) != tt.want {
			t.Errorf("WriteSSE(%q,%q) = %q, want %q", tt.event, tt.data, got, tt.want)
		}
		var p SSEParser
		ev := p.Feed(got, true)
		if len(ev) != 1 || ev[0].Event != tt.event || !bytes.Equal(ev[0].Data, []byte(tt.data)) {
			t.Errorf("round trip of %q gave %+v", tt.want, ev)
		}
	}
}

func TestWriteSSEError(t *testing.T) {
	got := string(WriteSSEError(nil, NewError(529, "overloaded_error", "Overloaded", "")))
	want := "data: {\"error\":{\"message\":\"Overloaded\",\"type\":\"overloaded_error\",\"param\":null,\"code\":\"529\"}}\n\n"
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func FuzzSSEParser(f *testing.F) {
	f.Add([]byte("event: a\ndata: b\n\n"), 3)
	f.Add([]byte("data: x\r\n\r\n:c\rdata"), 1)
	f.Fuzz(func(t *testing.T, in []byte, split int) {
		var whole SSEParser
		want := whole.Feed(in, true)
		if split < 0 {
			split = -split
		}
		if len(in) > 0 {
			split %= len(in) + 1
		} else {
			split = 0
		}
		var p SSEParser
		got := append(p.Feed(in[:split], false), p.Feed(in[split:], true)...)
		if len(got) != len(want) {
			t.Fatalf("split at %d: %d events, whole gave %d", split, len(got), len(want))
		}
		for i := range got {
			if got[i].Event != want[i].Event || !bytes.Equal(got[i].Data, want[i].Data) {
				t.Fatalf("split at %d: event %d differs: %+v vs %+v", split, i, got[i], want[i])
			}
		}
	})
}
