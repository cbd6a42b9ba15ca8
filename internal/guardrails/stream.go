package guardrails

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/pyrepr"
	"github.com/llmgate/llmgate/translator"
)

// maxPending bounds the bytes of one stream event not yet complete.
const maxPending = 4 << 20

// Stream checks a streamed chat answer with the call's post_call
// guardrails, as LiteLLM's unified guardrail does
// (async_post_call_streaming_iterator_hook, its default block_only mode):
// every streaming_sampling_rate-th chunk (default 5) the guardrail reads
// each choice's text so far, unless that text was read already; when the
// stream ends, once more unless the last round read it all. A chunk is
// sent on after its round passes. A block ends the stream with LiteLLM's
// in-stream error frame and [DONE]; what the provider sends after is
// dropped. With streaming_end_of_stream_only the chunks pass unread and
// one round reads the whole answer at its end. Not safe for concurrent use.
type Stream struct {
	c       *Call
	guards  []*streamGuard
	pending []byte // the start of an event not yet complete
	texts   map[int]*strings.Builder
	order   []int // choice indexes, as first seen
	done    bool  // blocked, or [DONE] sent: nothing more is sent on
}

type streamGuard struct {
	g        *config.Guardrail
	chunks   int
	last     []string // the texts of the last round (LiteLLM's scan key)
	scanned  bool
	endsOnly bool
}

// NewStream is the check of a streamed answer; nil when the call runs no
// post_call guardrail.
func (c *Call) NewStream() *Stream {
	if c == nil || len(c.post) == 0 {
		return nil
	}
	s := &Stream{c: c, texts: map[int]*strings.Builder{}}
	for _, g := range c.post {
		s.guards = append(s.guards, &streamGuard{g: g, endsOnly: g.StreamingEndOnly})
	}
	return s
}

// Feed takes the next piece of the answer's body (server-sent events) and
// returns the bytes the client gets for it; end is the body's last piece.
func (s *Stream) Feed(ctx context.Context, in []byte, end bool) []byte {
	if s.done {
		return nil
	}
	buf := append(s.pending, in...)
	s.pending = nil
	var out []byte
	for len(buf) > 0 {
		i, n := eventEnd(buf)
		if i < 0 {
			break
		}
		ev := buf[:i+n]
		buf = buf[i+n:]
		out = s.event(ctx, out, ev)
		if s.done {
			return out
		}
	}
	if end {
		if len(buf) > 0 {
			out = s.event(ctx, out, buf) // a last event without its blank line
			if s.done {
				return out
			}
		}
		// The provider's stream ended without [DONE]: the end round, then
		// the frame LiteLLM always ends with.
		if e := s.endRound(ctx); e != nil {
			return append(out, errorFrames(e)...)
		}
		return out
	}
	if len(buf) > maxPending {
		return append(out, buf...) // not server-sent events: passed on unread
	}
	s.pending = append([]byte(nil), buf...)
	return out
}

// eventEnd finds the blank line ending the first event: its offset and
// length, or -1.
func eventEnd(b []byte) (int, int) {
	i := bytes.Index(b, []byte("\n\n"))
	j := bytes.Index(b, []byte("\r\n\r\n"))
	switch {
	case j >= 0 && (i < 0 || j < i):
		return j, 4
	case i >= 0:
		return i, 2
	}
	return -1, 0
}

// event handles one complete event: out with what the client gets.
func (s *Stream) event(ctx context.Context, out, ev []byte) []byte {
	data, ok := eventData(ev)
	if !ok {
		return append(out, ev...) // a comment or keepalive
	}
	if string(data) == "[DONE]" {
		if e := s.endRound(ctx); e != nil {
			return append(out, errorFrames(e)...)
		}
		s.done = true
		return append(out, ev...)
	}
	var chunk struct {
		Choices []struct {
			Index int `json:"index"`
			Delta struct {
				Content *string `json:"content"`
			} `json:"delta"`
		} `json:"choices"`
	}
	if json.Unmarshal(data, &chunk) != nil {
		return append(out, ev...)
	}
	for _, ch := range chunk.Choices {
		b := s.texts[ch.Index]
		if b == nil {
			if len(s.order) >= maxChoices {
				continue
			}
			b = &strings.Builder{}
			s.texts[ch.Index] = b
			s.order = append(s.order, ch.Index)
		}
		if ch.Delta.Content != nil && b.Len() < maxStreamText {
			b.WriteString(*ch.Delta.Content)
		}
	}
	for _, sg := range s.guards {
		sg.chunks++
		rate := sg.g.StreamingSamplingRate
		if rate < 1 {
			rate = DefaultSamplingRate
		}
		if sg.endsOnly || sg.chunks%rate != 0 {
			continue
		}
		if e := s.round(ctx, sg); e != nil {
			return append(out, errorFrames(e)...)
		}
	}
	return append(out, ev...)
}

// DefaultSamplingRate is LiteLLM's streaming_sampling_rate default.
const DefaultSamplingRate = 5

// maxChoices and maxStreamText bound what a stream's check keeps.
const (
	maxChoices    = 128
	maxStreamText = 8 << 20
)

// eventData is the data of an event (its data lines joined).
func eventData(ev []byte) ([]byte, bool) {
	var data [][]byte
	for _, line := range bytes.Split(bytes.TrimRight(ev, "\r\n"), []byte("\n")) {
		line = bytes.TrimRight(line, "\r")
		if v, ok := bytes.CutPrefix(line, []byte("data:")); ok {
			data = append(data, bytes.TrimPrefix(v, []byte(" ")))
		}
	}
	if data == nil {
		return nil, false
	}
	return bytes.Join(data, []byte("\n")), true
}

// round runs one guardrail on the texts so far, unless it read them
// already or there are none (LiteLLM's redundant scan). A block sets done.
func (s *Stream) round(ctx context.Context, sg *streamGuard) *translator.Error {
	texts := s.current()
	if sg.scanned && equal(texts, sg.last) {
		return nil
	}
	empty := true
	for _, t := range texts {
		empty = empty && t == ""
	}
	if empty {
		return nil
	}
	sg.last, sg.scanned = texts, true
	if _, e := s.c.run(ctx, sg.g, texts, "response", nil); e != nil {
		s.done = true
		return e
	}
	s.c.markApplied(sg.g)
	return nil
}

// endRound runs every guardrail once more at the stream's end.
func (s *Stream) endRound(ctx context.Context) *translator.Error {
	for _, sg := range s.guards {
		if e := s.round(ctx, sg); e != nil {
			return e
		}
	}
	return nil
}

func (s *Stream) current() []string {
	out := make([]string, len(s.order))
	for i, idx := range s.order {
		out[i] = s.texts[idx].String()
	}
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// errorFrames are LiteLLM's end of a stream a guardrail refused once it had
// started: the error as its proxy writes it (Python's json.dumps: ", " and
// ": " separators, non-ASCII escaped), then [DONE].
func errorFrames(e *translator.Error) []byte {
	typ := e.Type
	if typ == "" {
		typ = translator.TypeForStatus(e.Status)
	}
	var b strings.Builder
	b.WriteString(`data: {"error": {"message": `)
	pyrepr.JSONString(&b, e.Message)
	b.WriteString(`, "type": `)
	pyrepr.JSONString(&b, typ)
	b.WriteString(`, "param": `)
	if e.Param == "" {
		b.WriteString("null")
	} else {
		pyrepr.JSONString(&b, e.Param)
	}
	b.WriteString(`, "code": `)
	pyrepr.JSONString(&b, strconv.Itoa(e.Status))
	b.WriteString("}}\n\ndata: [DONE]\n\n")
	return []byte(b.String())
}
