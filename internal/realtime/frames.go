package realtime

import (
	"bytes"
	"encoding/json"
)

// MaxHeldMessage bounds a text message the reader holds to read: a longer
// one (an audio delta, never a usage event in practice) passes unread.
const MaxHeldMessage = 1 << 20

// frames reassembles the text messages of one direction of a WebSocket
// connection (RFC 6455) from its bytes as they pass, in chunks of any size:
// control frames and binary messages are skipped, a masked frame is
// unmasked, a message longer than max is skipped unheld.
type frames struct {
	max int
	// The frame being read.
	hdr     [14]byte
	hn      int   // header bytes read
	left    int64 // payload bytes left (after the header)
	inFrame bool
	control bool
	fin     bool
	masked  bool
	mask    [4]byte
	mpos    int
	// The message being read.
	msg  []byte
	skip bool
	// size: the message's length so far, its frames' declared payload
	// lengths summed as each frame's header is read (held or not).
	size int64
	// broken: the stream is not WebSocket frames (then nothing more is read).
	broken bool
	// closed: a close frame began (the direction's last frame).
	closed bool
}

// feed reads a chunk; onMessage gets each whole text message (valid until
// it returns).
func (f *frames) feed(b []byte, onMessage func([]byte)) {
	for len(b) > 0 && !f.broken {
		if !f.inFrame {
			n := f.header(b)
			b = b[n:]
			if !f.inFrame {
				return // the header goes on in the next chunk
			}
			if f.left == 0 {
				f.endFrame(onMessage)
			}
			continue
		}
		n := int(min(f.left, int64(len(b))))
		if !f.control && !f.skip {
			start := len(f.msg)
			f.msg = append(f.msg, b[:n]...)
			if f.masked {
				for i := start; i < len(f.msg); i++ {
					f.msg[i] ^= f.mask[f.mpos&3]
					f.mpos++
				}
			}
		}
		f.left -= int64(n)
		b = b[n:]
		if f.left == 0 {
			f.endFrame(onMessage)
		}
	}
}

// header reads header bytes from b (returning how many it took); inFrame
// is set once the header is whole.
func (f *frames) header(b []byte) int {
	took := 0
	for {
		need := 2
		if f.hn >= 2 {
			switch f.hdr[1] & 0x7f {
			case 126:
				need += 2
			case 127:
				need += 8
			}
			if f.hdr[1]&0x80 != 0 {
				need += 4
			}
		}
		if f.hn >= need {
			break
		}
		if took == len(b) {
			return took
		}
		f.hdr[f.hn] = b[took]
		f.hn++
		took++
	}
	h := f.hdr[:f.hn]
	op := h[0] & 0x0f
	f.fin = h[0]&0x80 != 0
	f.masked = h[1]&0x80 != 0
	var n int64
	i := 2
	switch h[1] & 0x7f {
	case 126:
		n, i = int64(h[2])<<8|int64(h[3]), 4
	case 127:
		for _, c := range h[2:10] {
			n = n<<8 | int64(c)
		}
		i = 10
	default:
		n = int64(h[1] & 0x7f)
	}
	if n < 0 {
		f.broken = true
		return took
	}
	if f.masked {
		copy(f.mask[:], h[i:i+4])
	}
	f.mpos = 0
	f.left = n
	f.control = op >= 8
	if op == 8 {
		f.closed = true
	}
	switch {
	case f.control:
	case op == 1 || op == 2: // a new message
		f.msg = f.msg[:0]
		f.skip = op != 1 || n > int64(f.max)
		f.size = n
	case op == 0: // its continuation
		if int64(len(f.msg))+n > int64(f.max) {
			f.skip = true
		}
		f.size += n
	default:
		f.broken = true
	}
	if f.skip {
		f.msg = f.msg[:0]
	}
	f.hn = 0
	f.inFrame = true
	return took
}

// endFrame ends the frame read, and its message when the frame was the
// message's last.
func (f *frames) endFrame(onMessage func([]byte)) {
	f.inFrame = false
	if f.control || !f.fin {
		return
	}
	if !f.skip && onMessage != nil {
		onMessage(f.msg)
	}
	f.msg = f.msg[:0]
	if cap(f.msg) > 64<<10 {
		f.msg = nil // a large message's buffer is not kept for the session
	}
	f.skip = false
}

// MaxClientMessage bounds a client's message (text or binary, its
// fragments summed): LiteLLM's proxy takes a session's WebSocket through
// uvicorn, whose ws_max_size (16 MiB by default; LiteLLM does not set it)
// ends a session whose client sends a longer message.
const MaxClientMessage = 16 << 20

// Limiter reads the client's side of a session as it passes and tells when
// a message is longer than its bound. It holds no message: a frame's
// header is enough (its declared length), so a frame that would cross the
// bound is known before any of its payload.
type Limiter struct {
	max int64
	f   frames
}

// NewLimiter is a limiter of one session's client messages.
func NewLimiter(max int64) *Limiter { return &Limiter{max: max} }

// Feed reads a chunk of the client's bytes (after the upgrade) and reports
// whether the message it is in, or one it began, is longer than the bound.
func (l *Limiter) Feed(b []byte) bool {
	over := false
	for len(b) > 0 && !over && !l.f.broken {
		// Frame by frame, so that a short message's size is not mistaken
		// for a longer one's that follows in the chunk.
		n := len(b)
		if l.f.inFrame {
			n = int(min(l.f.left, int64(n)))
			l.f.feed(b[:n], nil)
		} else {
			n = l.f.header(b)
			if l.f.inFrame && l.f.left == 0 {
				l.f.endFrame(nil)
			}
		}
		over = !l.f.control && l.f.size > l.max
		b = b[n:]
	}
	return over
}

// Usage is a session's tokens, summed over its response.done events (the
// Realtime API's response.usage).
type Usage struct {
	Input, Output, Cached            int64
	InputAudio, OutputAudio          int64
	InputText, OutputText, Responses int64
}

// Meter reads the provider's side of a session: the model its
// session.created names and the usage of every response.done.
type Meter struct {
	Model string
	Usage Usage
	f     frames
}

// NewMeter is a meter of one session.
func NewMeter() *Meter { return &Meter{f: frames{max: MaxHeldMessage}} }

// Feed reads a chunk of the provider's bytes (after its 101).
func (m *Meter) Feed(b []byte) { m.f.feed(b, m.message) }

// Closed reports whether the provider sent its close frame: the session
// is over (the close handshake's echo, or its own close).
func (m *Meter) Closed() bool { return m.f.closed }

var (
	doneType    = []byte(`"response.done"`)
	createdType = []byte(`"session.created"`)
)

// message reads one text message: only the two event types it counts are
// decoded.
func (m *Meter) message(b []byte) {
	done := bytes.Contains(b, doneType)
	if !done && (m.Model != "" || !bytes.Contains(b, createdType)) {
		return
	}
	var ev struct {
		Type    string `json:"type"`
		Session struct {
			Model string `json:"model"`
		} `json:"session"`
		Response struct {
			Usage *struct {
				InputTokens  int64 `json:"input_tokens"`
				OutputTokens int64 `json:"output_tokens"`
				In           struct {
					Cached int64 `json:"cached_tokens"`
					Text   int64 `json:"text_tokens"`
					Audio  int64 `json:"audio_tokens"`
				} `json:"input_token_details"`
				Out struct {
					Text  int64 `json:"text_tokens"`
					Audio int64 `json:"audio_tokens"`
				} `json:"output_token_details"`
			} `json:"usage"`
		} `json:"response"`
	}
	if json.Unmarshal(b, &ev) != nil {
		return
	}
	switch ev.Type {
	case "session.created":
		if m.Model == "" {
			m.Model = ev.Session.Model
		}
	case "response.done":
		u := ev.Response.Usage
		if u == nil {
			return
		}
		m.Usage.Responses++
		m.Usage.Input += max(u.InputTokens, 0)
		m.Usage.Output += max(u.OutputTokens, 0)
		m.Usage.Cached += max(u.In.Cached, 0)
		m.Usage.InputText += max(u.In.Text, 0)
		m.Usage.InputAudio += max(u.In.Audio, 0)
		m.Usage.OutputText += max(u.Out.Text, 0)
		m.Usage.OutputAudio += max(u.Out.Audio, 0)
	}
}
