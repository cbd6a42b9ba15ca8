package fakeprovider

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// provider names the wire format of an endpoint, for its error shape.
type provider int

const (
	providerOpenAI provider = iota
	providerAzure
	providerAnthropic
	providerBedrock
	providerGemini
	providerCohere
	providerOllama
	providerOAuth
)

// call is one provider request in flight.
type call struct {
	s        *Server
	w        http.ResponseWriter
	r        *http.Request
	body     []byte
	start    time.Time
	provider provider
	model    string // from the path or the body
	extra    string // endpoint detail from the path (e.g. Gemini action)
	fault    Fault
	// streaming is set by handlers before begin when the response will be
	// a stream: a fault with both a Status and CutAfter then sends CutAfter
	// chunks followed by an in-stream error (inBandStatus) instead of an
	// HTTP error, where the provider has one.
	streaming    bool
	inBandStatus int
	headerSent   bool
	chunks       int
}

// errStreamEnded is panicked to end a handler after an in-stream error;
// ServeHTTP recovers it.
var errStreamEnded = errors.New("fake provider: stream ended by in-band error")

var idCounter atomic.Uint64

// newID returns a realistic-looking, unique id with prefix.
func newID(prefix string) string {
	n := idCounter.Add(1)
	const hexdigits = "0123456789abcdef"
	b := make([]byte, 0, len(prefix)+20)
	b = append(b, prefix...)
	b = append(b, "fake"...)
	for i := 15; i >= 0; i-- {
		b = append(b, hexdigits[(n>>(uint(i)*4))&0xf])
	}
	return string(b)
}

// begin applies latency and the request's faults. It returns false when
// the response has been written (an error status) and the handler must
// stop.
func (c *call) begin() bool {
	f, _ := c.s.rules.take(c)
	f = headerFault(c.r.Header, f)
	c.fault = f
	if d := c.s.opts.Latency + f.Delay; d > 0 && !c.sleep(d) {
		// The request ended before the delay did (the caller went away):
		// a provider would not answer it, so neither does the fake — a
		// delay cut short must never look like a fast success.
		c.abort()
	}
	if f.Reset == ResetBefore {
		c.abort()
	}
	if f.RetryAfter != "" {
		c.w.Header().Set("Retry-After", f.RetryAfter)
	}
	for k, v := range c.s.opts.ResponseHeaders {
		c.w.Header().Set(k, v)
	}
	status := f.Status
	if status == 0 && f.ErrorMessage != "" {
		status = http.StatusBadRequest
	}
	if status >= 400 {
		if c.streaming && f.CutAfter > 0 && c.hasInBandErrors() {
			c.inBandStatus = status
			return true
		}
		c.fail(status, f.ErrorMessage)
		return false
	}
	return true
}

func (c *call) hasInBandErrors() bool {
	switch c.provider {
	case providerOpenAI, providerAzure, providerAnthropic, providerBedrock:
		return true
	}
	return false
}

// inBandError writes the provider's mid-stream error and ends the handler.
func (c *call) inBandError() {
	status, msg := c.inBandStatus, c.fault.ErrorMessage
	switch c.provider {
	case providerAnthropic:
		typ := anthropicErrorType(status)
		if msg == "" {
			msg = anthropicDefaultMessage(typ, status)
		}
		b, _ := json.Marshal(map[string]any{"type": "error", "error": map[string]string{"type": typ, "message": msg}})
		c.writeChunk(sseBytes("error", b))
	case providerBedrock:
		c.writeChunk(bedrockExceptionFrame(status, msg))
	default: // OpenAI, Azure
		if msg == "" {
			msg = defaultErrorMessage(status)
		}
		typ, code := openAIErrorKind(status, msg)
		b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": code}})
		c.writeChunk(sseBytes("", b))
	}
	panic(errStreamEnded)
}

// sleep waits d; it reports false when the request's context ended first.
func (c *call) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.r.Context().Done():
		return false
	}
}

// abort drops the connection abruptly: a TCP reset on HTTP/1.1, a stream
// reset on HTTP/2. It does not return.
func (c *call) abort() {
	if f, ok := c.w.(http.Flusher); ok && c.headerSent {
		f.Flush()
	}
	if hj, ok := c.w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			_ = conn.Close()
		}
	}
	panic(http.ErrAbortHandler)
}

// head writes the response status and content type, honouring
// ResetAfterHeaders.
func (c *call) head(status int, contentType string) {
	h := c.w.Header()
	h.Set("Content-Type", contentType)
	c.w.WriteHeader(status)
	c.headerSent = true
	if c.fault.Reset == ResetAfterHeaders && status < 400 {
		if f, ok := c.w.(http.Flusher); ok {
			f.Flush()
		}
		c.abort()
	}
}

// json writes a whole JSON response.
func (c *call) json(status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		c.w.WriteHeader(http.StatusInternalServerError)
		return
	}
	c.raw(status, "application/json", b)
}

// raw writes a whole response body, honouring CutAfter as a byte count.
func (c *call) raw(status int, contentType string, b []byte) {
	if status < 400 && c.fault.CutAfter > 0 && c.fault.CutAfter < len(b) {
		c.w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		c.head(status, contentType)
		_, _ = c.w.Write(b[:c.fault.CutAfter])
		c.abort()
	}
	c.w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	c.head(status, contentType)
	_, _ = c.w.Write(b)
}

// cutPause is how long a stream cut waits after its last chunk before the
// reset.
const cutPause = 100 * time.Millisecond

// chunk writes one stream chunk, flushes it, waits ChunkDelay, and cuts the
// connection once CutAfter chunks have been sent.
func (c *call) chunk(b []byte) {
	if c.fault.CutAfter > 0 && c.chunks >= c.fault.CutAfter {
		if c.inBandStatus != 0 {
			c.inBandError()
		}
		if c.chunks > 0 {
			// A provider that dies mid-stream does so some time after its
			// last event: the peer has read the events by then. A reset
			// right behind them can reach the peer's socket before it reads
			// them, and the kernel drops unread data on a reset (a loaded
			// CI machine saw a cut stream reach the client with no event).
			c.sleep(cutPause)
		}
		c.abort()
	}
	if c.chunks > 0 && c.s.opts.ChunkDelay > 0 {
		c.sleep(c.s.opts.ChunkDelay)
	}
	c.writeChunk(b)
}

func (c *call) writeChunk(b []byte) {
	_, _ = c.w.Write(b)
	if f, ok := c.w.(http.Flusher); ok {
		f.Flush()
	}
	c.chunks++
}

// sse writes one server-sent event; an empty event name writes data only.
func (c *call) sse(event string, data []byte) { c.chunk(sseBytes(event, data)) }

func sseBytes(event string, data []byte) []byte {
	n := len(data) + 8
	if event != "" {
		n += len(event) + 8
	}
	b := make([]byte, 0, n)
	if event != "" {
		b = append(b, "event: "...)
		b = append(b, event...)
		b = append(b, '\n')
	}
	b = append(b, "data: "...)
	b = append(b, data...)
	b = append(b, "\n\n"...)
	return b
}

// sseJSON marshals v and writes it as one event.
func (c *call) sseJSON(event string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		c.abort()
	}
	c.sse(event, b)
}

// startStream writes the 200 headers of a stream.
func (c *call) startStream(contentType string) {
	h := c.w.Header()
	h.Set("Cache-Control", "no-cache")
	if contentType == "text/event-stream" {
		h.Set("Connection", "keep-alive")
	}
	c.head(http.StatusOK, contentType)
}

// fail writes an error response in the provider's shape.
func (c *call) fail(status int, message string) {
	switch c.provider {
	case providerAzure:
		c.failAzure(status, message)
	case providerAnthropic:
		c.failAnthropic(status, message)
	case providerBedrock:
		c.failBedrock(status, message)
	case providerGemini:
		c.failGemini(status, message)
	case providerCohere:
		c.failCohere(status, message)
	case providerOllama:
		c.failOllama(status, message)
	case providerOAuth:
		c.json(status, map[string]string{"error": "invalid_request", "error_description": message})
	default:
		c.failOpenAI(status, message)
	}
}

// finishReason is the OpenAI-words finish reason of this response:
// the fault's override, else "tool_calls" or "stop".
func (c *call) finishReason(tool bool) string {
	if c.fault.FinishReason != "" {
		return c.fault.FinishReason
	}
	if tool {
		return "tool_calls"
	}
	return "stop"
}
