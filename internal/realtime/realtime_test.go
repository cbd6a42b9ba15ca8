package realtime

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/upstream"
)

func TestTarget(t *testing.T) {
	oa := &config.Deployment{Provider: "openai"}
	az := &config.Deployment{Provider: "azure", Params: config.LiteLLMParams{APIVersion: "2025-04-01-preview"}}
	azGA := &config.Deployment{Provider: "azure", Params: config.LiteLLMParams{RealtimeProtocol: "v1"}}
	azBeta := &config.Deployment{Provider: "azure", Params: config.LiteLLMParams{RealtimeProtocol: "beta"}}
	base := func(raw string) upstream.Base {
		b, err := upstream.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, c := range []struct {
		name  string
		d     *config.Deployment
		base  string
		path  string // the client's
		beta  bool
		env   string
		want  string
		group string
	}{
		{"openai: the api_base path replaced, the deployment's model", oa, "https://api.openai.com/v1", "/v1/realtime?model=gpt-rt&x=1", false, "", "/v1/realtime?model=m", "gpt-rt"},
		{"openai: intent passed on", oa, "http://h:8/custom/v1", "/realtime?model=g&intent=transcription", false, "", "/v1/realtime?model=m&intent=transcription", "g"},
		{"openai's own host: no model for transcription", oa, "https://api.openai.com", "/realtime?intent=transcription", false, "", "/v1/realtime?intent=transcription", TranscriptionModel},
		{"openai: api_base query kept", oa, "http://h:8/v1?k=v", "/v1/realtime?model=g", true, "", "/v1/realtime?model=m&k=v", "g"},
		{"azure: beta client → beta path", az, "https://x.openai.azure.com", "/v1/realtime?model=g", true, "", "/openai/realtime?api-version=2025-04-01-preview&deployment=m", "g"},
		{"azure: GA client → GA path", az, "https://x.openai.azure.com/", "/v1/realtime?model=g", false, "", "/openai/v1/realtime?model=m", "g"},
		{"azure: beta default api-version", &config.Deployment{Provider: "azure"}, "https://x.openai.azure.com", "/v1/realtime?model=g", true, "", "/openai/realtime?api-version=2024-10-01-preview&deployment=m", "g"},
		{"azure: realtime_protocol v1 wins over the beta header", azGA, "https://x.openai.azure.com", "/v1/realtime?model=g", true, "", "/openai/v1/realtime?model=m", "g"},
		{"azure: realtime_protocol beta wins over a GA client", azBeta, "https://x.openai.azure.com", "/v1/realtime?model=g", false, "GA", "/openai/realtime?api-version=2024-10-01-preview&deployment=m", "g"},
		{"azure: the environment's protocol", az, "https://x.openai.azure.com", "/v1/realtime?model=g", true, "ga", "/openai/v1/realtime?model=m", "g"},
		{"azure: transcription → GA, no model, intent", az, "https://x.openai.azure.com/base", "/v1/realtime?model=g&intent=transcription", true, "", "/base/openai/v1/realtime?intent=transcription", "g"},
	} {
		t.Run(c.name, func(t *testing.T) {
			q := ParseQuery(c.path)
			if g := q.Group(); g != c.group {
				t.Errorf("group %q, want %q", g, c.group)
			}
			got, err := Target(c.d, base(c.base), "m", q, c.beta, c.env)
			if err != nil || got != c.want {
				t.Errorf("Target = %q, %v; want %q", got, err, c.want)
			}
		})
	}
	if _, err := Target(&config.Deployment{Provider: "anthropic"}, base("https://a"), "m", Query{}, false, ""); err != ErrProvider {
		t.Errorf("anthropic: %v, want ErrProvider", err)
	}
	if g := ParseQuery("/v1/realtime").Group(); g != "" {
		t.Errorf("no model: group %q", g)
	}
	for p, want := range map[string]bool{"/v1/realtime": true, "/realtime?model=x": true, "/openai/v1/realtime/": true, "/v1/realtime/x": false, "/v2/realtime": false} {
		if IsRoute(p) != want {
			t.Errorf("IsRoute(%q) = %v", p, !want)
		}
	}
	if !BetaHeader("assistants=v2, Realtime=V1") || BetaHeader("assistants=v2") {
		t.Error("BetaHeader")
	}
}

// frame encodes one WebSocket frame (RFC 6455), masked when mask is set.
func frame(op byte, fin bool, payload []byte, mask []byte) []byte {
	var b bytes.Buffer
	h := op
	if fin {
		h |= 0x80
	}
	b.WriteByte(h)
	m := byte(0)
	if mask != nil {
		m = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		b.WriteByte(m | byte(n))
	case n < 1<<16:
		b.WriteByte(m | 126)
		_ = binary.Write(&b, binary.BigEndian, uint16(n))
	default:
		b.WriteByte(m | 127)
		_ = binary.Write(&b, binary.BigEndian, uint64(n))
	}
	if mask != nil {
		b.Write(mask)
		p := append([]byte(nil), payload...)
		for i := range p {
			p[i] ^= mask[i%4]
		}
		payload = p
	}
	b.Write(payload)
	return b.Bytes()
}

func TestMeter(t *testing.T) {
	done := func(in, out, cached int) string {
		return `{"type":"response.done","event_id":"e","response":{"id":"r","status":"completed","output":[],"usage":{"total_tokens":` +
			itoa(in+out) + `,"input_tokens":` + itoa(in) + `,"output_tokens":` + itoa(out) +
			`,"input_token_details":{"cached_tokens":` + itoa(cached) + `,"text_tokens":1,"audio_tokens":2},"output_token_details":{"text_tokens":3,"audio_tokens":4}}}}`
	}
	big := `{"type":"response.output_audio.delta","delta":"` + strings.Repeat("A", MaxHeldMessage) + `"}`
	long := done(1000, 1, 0) // sent in three fragments, a ping between them
	var stream []byte
	stream = append(stream, frame(1, true, []byte(`{"type":"session.created","session":{"model":"gpt-4o-realtime-preview"}}`), nil)...)
	stream = append(stream, frame(1, true, []byte(big), nil)...)                 // too long: skipped unheld
	stream = append(stream, frame(2, true, []byte(done(9999, 9999, 0)), nil)...) // binary: not an event
	stream = append(stream, frame(1, true, []byte(done(120, 60, 20)), []byte{1, 2, 3, 4})...)
	stream = append(stream, frame(1, false, []byte(long[:10]), nil)...)
	stream = append(stream, frame(9, true, []byte("ping"), nil)...)
	stream = append(stream, frame(0, false, []byte(long[10:50]), nil)...)
	stream = append(stream, frame(0, true, []byte(long[50:]), nil)...)
	stream = append(stream, frame(1, true, []byte(`{"type":"response.output_text.delta","delta":"response.done"}`), nil)...)
	stream = append(stream, frame(1, true, nil, nil)...)
	for _, chunk := range []int{1, 7, 4096, len(stream)} {
		m := NewMeter()
		for b := stream; len(b) > 0; {
			n := min(chunk, len(b))
			m.Feed(b[:n])
			b = b[n:]
		}
		want := Usage{Input: 1120, Output: 61, Cached: 20, InputText: 2, InputAudio: 4, OutputText: 6, OutputAudio: 8, Responses: 2}
		if m.Usage != want || m.Model != "gpt-4o-realtime-preview" || m.Closed() {
			t.Errorf("chunks of %d: usage %+v model %q closed %v; want %+v", chunk, m.Usage, m.Model, m.Closed(), want)
		}
		m.Feed(frame(8, true, []byte{3, 232}, nil))
		if !m.Closed() {
			t.Errorf("chunks of %d: the close frame not seen", chunk)
		}
	}
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// TestLimiter (D164): a client's message longer than the bound is told as
// soon as the frame header that makes it so is read — a single frame, or
// fragments summed with a ping between them — in chunks of any size; a
// message at the bound, control frames and many short messages pass; the
// limiter holds no message.
func TestLimiter(t *testing.T) {
	const bound = 1000
	mask := []byte{9, 8, 7, 6}
	at := frame(1, true, make([]byte, bound), mask)
	short := frame(1, true, []byte(`{"type":"input_audio_buffer.append"}`), mask)
	for _, tc := range []struct {
		name   string
		stream []byte
		over   int // the byte offset from which the limiter must have told (-1: never)
	}{
		{"at the bound, then short ones", bytes.Join([][]byte{at, short, frame(9, true, []byte("ping"), mask)}, nil), -1},
		{"one frame over", bytes.Join([][]byte{short, frame(2, true, make([]byte, bound+1), mask)}, nil), len(short) + 8},
		{"fragments over", bytes.Join([][]byte{frame(1, false, make([]byte, 600), mask), frame(9, true, []byte("ping"), mask),
			frame(0, true, make([]byte, 401), mask)}, nil), 608 + 10 + 8},
		{"many short messages", bytes.Repeat(short, 100), -1},
	} {
		for _, size := range []int{1, 7, 4096, len(tc.stream)} {
			l := NewLimiter(bound)
			told := -1
			for off := 0; off < len(tc.stream) && told < 0; off += size {
				end := min(off+size, len(tc.stream))
				if l.Feed(tc.stream[off:end]) {
					told = end
				}
			}
			switch {
			case tc.over < 0 && told >= 0:
				t.Errorf("%s, chunks of %d: told over at byte %d", tc.name, size, told)
			case tc.over >= 0 && told != min((tc.over+size-1)/size*size, len(tc.stream)):
				t.Errorf("%s, chunks of %d: told at byte %d, want by the chunk holding byte %d", tc.name, size, told, tc.over)
			}
			if cap(l.f.msg) != 0 {
				t.Errorf("%s: the limiter held %d bytes", tc.name, cap(l.f.msg))
			}
		}
	}
}
