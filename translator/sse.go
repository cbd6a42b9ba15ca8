package translator

import (
	"bytes"
	"encoding/json"
)

// SSEEvent is one server-sent event. Event is the "event:" field (empty when
// absent), Data the "data:" lines joined with "\n".
type SSEEvent struct {
	Event string
	Data  []byte
	ID    string
}

// SSEParser reassembles server-sent events from chunks with arbitrary
// boundaries. It follows the WHATWG event-stream rules: lines end in LF, CRLF or
// CR; a blank line dispatches the event; lines starting with ':' are comments;
// a single space after the colon is dropped. The zero value is ready to use.
type SSEParser struct {
	buf   []byte // bytes not yet forming a whole line
	event string
	id    string
	data  []byte
	has   bool // a data or event field was seen since the last dispatch
	// pendingCR is true when the last byte consumed was a CR, so that a LF at the
	// start of the next chunk belongs to the same line break.
	pendingCR bool
}

// Feed adds bytes and returns every event completed by them. With last set,
// an event still open (no trailing blank line) is dispatched too.
func (p *SSEParser) Feed(chunk []byte, last bool) []SSEEvent {
	var out []SSEEvent
	if p.pendingCR && len(chunk) > 0 && chunk[0] == '\n' {
		chunk = chunk[1:]
	}
	p.pendingCR = false
	p.buf = append(p.buf, chunk...)
	start := 0
	for i := 0; i < len(p.buf); i++ {
		c := p.buf[i]
		if c != '\n' && c != '\r' {
			continue
		}
		line := p.buf[start:i]
		if c == '\r' {
			if i+1 < len(p.buf) {
				if p.buf[i+1] == '\n' {
					i++
				}
			} else {
				p.pendingCR = true
			}
		}
		start = i + 1
		if ev, ok := p.line(line); ok {
			out = append(out, ev)
		}
	}
	// Keep the partial line; copy so the caller's chunk is not retained.
	rest := p.buf[start:]
	p.buf = append(p.buf[:0:0], rest...)
	if last {
		if len(p.buf) > 0 {
			if ev, ok := p.line(p.buf); ok {
				out = append(out, ev)
			}
			p.buf = nil
		}
		if ev, ok := p.dispatch(); ok {
			out = append(out, ev)
		}
	}
	return out
}

func (p *SSEParser) line(line []byte) (SSEEvent, bool) {
	if len(line) == 0 {
		return p.dispatch()
	}
	if line[0] == ':' {
		return SSEEvent{}, false
	}
	field, value := line, []byte(nil)
	if i := bytes.IndexByte(line, ':'); i >= 0 {
		field, value = line[:i], line[i+1:]
		if len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
	}
	switch string(field) {
	case "data":
		if p.data != nil {
			p.data = append(p.data, '\n')
		} else {
			p.data = []byte{}
		}
		p.data = append(p.data, value...)
		p.has = true
	case "event":
		p.event = string(value)
		p.has = true
	case "id":
		p.id = string(value)
	}
	return SSEEvent{}, false
}

func (p *SSEParser) dispatch() (SSEEvent, bool) {
	if !p.has {
		return SSEEvent{}, false
	}
	ev := SSEEvent{Event: p.event, Data: p.data, ID: p.id}
	if ev.Data == nil {
		ev.Data = []byte{}
	}
	p.event, p.data, p.has = "", nil, false
	return ev, true
}

// WriteSSE appends one event to dst: an optional "event:" line, one "data:"
// line per line of data, and the blank line that ends the event.
func WriteSSE(dst []byte, event string, data []byte) []byte {
	if event != "" {
		dst = append(dst, "event: "...)
		dst = append(dst, event...)
		dst = append(dst, '\n')
	}
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		dst = append(dst, "data: "...)
		dst = append(dst, data[:i]...)
		dst = append(dst, '\n')
		data = data[i+1:]
	}
	dst = append(dst, "data: "...)
	dst = append(dst, data...)
	return append(dst, '\n', '\n')
}

// WriteSSEJSON marshals v and appends it as a data-only event. A value that
// cannot be marshalled is written as an OpenAI error event instead.
func WriteSSEJSON(dst []byte, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return WriteSSEError(dst, NewError(500, "internal_server_error", "llmgate: cannot encode stream chunk", ""))
	}
	return WriteSSE(dst, "", b)
}

// WriteSSEError appends an OpenAI error as `data: {"error":{...}}`, the form
// LiteLLM uses for an error after the first byte of a stream.
func WriteSSEError(dst []byte, e *Error) []byte {
	return WriteSSE(dst, "", e.JSON())
}

// SSEDone is the event that ends an OpenAI stream.
var SSEDone = []byte("data: [DONE]\n\n")

// Stream extras the attempt filter asks of a translator's stream.

// IncludeUsageSetter is implemented by streams that can append a final
// chunk with usage and empty choices, as OpenAI does for
// stream_options.include_usage. The attempt filter calls it when the client
// asked for usage; Target does not carry the option.
type IncludeUsageSetter interface {
	SetIncludeUsage(bool)
}

// StreamErr is implemented by streams that remember the provider error (an
// error event inside the stream, or a stream cut short), so that the router can
// classify it after the first byte was sent.
type StreamErr interface {
	Err() *Error
}
