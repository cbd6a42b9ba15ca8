package translator

import (
	"bytes"
	"encoding/json"
)

// messagesStream writes Anthropic's events from a chat stream, as
// LiteLLM's AnthropicStreamWrapper does: message_start before the first
// content, one content block per run of text, thinking or one tool call
// (content_block_start, its deltas, content_block_stop), then message_delta
// with the stop reason and the usage once the stream ended, and
// message_stop. It does not implement IncludeUsageSetter: the usage chunk
// is always read here.
type messagesStream struct {
	bridgeStream
	block string // the open block's type, "" when none is open
	index int    // the open block's index
	next  int    // the next block's index
	stop  string
}

// bridgeEvents turn a chat stream's chunks into another API's events (a
// bridgeStream's ev).
type bridgeEvents interface {
	// start opens the other API's stream at the first chunk with a choice
	// (c is empty when the stream ends before one); choice reads the first
	// choice's delta and finish reason of each such chunk; end closes a
	// stream that ended well, fail one that ended in e.
	start(out []byte, c *msgsChunk) []byte
	choice(out []byte, d *Delta, finish string) []byte
	end(out []byte) []byte
	fail(out []byte, e *Error) []byte
}

// bridgeStream is what the chat bridges' streams share (D129, D137): the
// inner chat stream re-read line by line, ev turning each line into the
// other API's events; the answer's model (SetResponseModel), the usage and
// error the chat stream carried.
type bridgeStream struct {
	inner   Stream
	p       SSEParser
	ev      bridgeEvents
	model   string // SetResponseModel's
	started bool   // ev.start was called
	done    bool
	usage   Usage
	err     *Error
}

// SetResponseModel implements ModelSetter: the answer's model.
func (s *bridgeStream) SetResponseModel(m string) { s.model = m }

func (s *bridgeStream) Usage() Usage {
	if u := s.inner.Usage(); u != (Usage{}) {
		return u
	}
	return s.usage
}

func (s *bridgeStream) FinishReason() string { return s.inner.FinishReason() }

// Err implements StreamErr: the provider's error inside the stream.
func (s *bridgeStream) Err() *Error {
	if e := innerErr(s.inner); e != nil {
		return e
	}
	return s.err
}

// Feed translates the inner stream's output, then (last) ends the other
// API's stream: as failed when the chat stream carried an error.
func (s *bridgeStream) Feed(chunk []byte, last bool) ([]byte, error) {
	if s.done {
		return nil, nil
	}
	in, err := s.inner.Feed(chunk, last)
	var out []byte
	for _, ev := range s.p.Feed(in, last) {
		if s.done {
			break
		}
		out = s.line(out, ev.Data)
	}
	if last && !s.done {
		if e := s.Err(); e != nil {
			out = s.ev.fail(out, e)
		} else {
			out = s.finish(out)
		}
	}
	return out, err
}

// line reads one data line of the chat stream: [DONE] ends the other API's
// stream, an error chunk fails it, a chunk's usage is kept and its first
// choice handed to ev (the stream started first).
func (s *bridgeStream) line(out, data []byte) []byte {
	c, done, e := bridgeChunk(data)
	switch {
	case done:
		return s.finish(out)
	case e != nil:
		return s.ev.fail(out, e)
	case c == nil:
		return out
	}
	if c.Usage != nil {
		s.usage = UsageFrom(c.Usage)
	}
	if len(c.Choices) == 0 {
		return out
	}
	out = s.begin(out, c)
	ch := &c.Choices[0]
	finish := ""
	if ch.FinishReason != nil {
		finish = *ch.FinishReason
	}
	return s.ev.choice(out, &ch.Delta, finish)
}

// begin starts the other API's stream once.
func (s *bridgeStream) begin(out []byte, c *msgsChunk) []byte {
	if s.started {
		return out
	}
	s.started = true
	return s.ev.start(out, c)
}

// finish ends a stream that ended well, started first if no chunk did.
func (s *bridgeStream) finish(out []byte) []byte {
	return s.ev.end(s.begin(out, &msgsChunk{}))
}

// msgsChunk is the part of a chat chunk the adapter reads.
type msgsChunk struct {
	ID      string `json:"id"`
	Model   string `json:"model"`
	Choices []struct {
		Delta        Delta   `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *UsageObject `json:"usage"`
	Error *ErrorObject `json:"error"`
}

type msgsStartMessage struct {
	ID           string           `json:"id"`
	Type         string           `json:"type"`
	Role         string           `json:"role"`
	Content      []map[string]any `json:"content"`
	Model        string           `json:"model"`
	StopReason   *string          `json:"stop_reason"`
	StopSequence *string          `json:"stop_sequence"`
	Usage        msgsUsage        `json:"usage"`
}

func emitEvent(out []byte, typ string, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return out
	}
	return WriteSSE(out, typ, b)
}

func (s *messagesStream) fail(out []byte, e *Error) []byte {
	s.err, s.done = e, true
	return WriteSSE(out, "error", anthropicErrorEvent(e))
}

func (s *messagesStream) start(out []byte, c *msgsChunk) []byte {
	model := s.model
	if model == "" {
		model = c.Model
	}
	id := c.ID
	if id == "" {
		id = "msg_llmgate"
	}
	return emitEvent(out, "message_start", map[string]any{"type": "message_start", "message": msgsStartMessage{
		ID: id, Type: "message", Role: "assistant", Content: []map[string]any{}, Model: model}})
}

// open starts a block of type typ (closing the open one) unless one is open already and same is true.
func (s *messagesStream) open(out []byte, typ string, same bool, block map[string]any) []byte {
	if s.block == typ && same {
		return out
	}
	out = s.closeBlock(out)
	s.block, s.index = typ, s.next
	s.next++
	return emitEvent(out, "content_block_start", map[string]any{"type": "content_block_start", "index": s.index, "content_block": block})
}

func (s *messagesStream) closeBlock(out []byte) []byte {
	if s.block == "" {
		return out
	}
	s.block = ""
	return emitEvent(out, "content_block_stop", map[string]any{"type": "content_block_stop", "index": s.index})
}

func (s *messagesStream) delta(out []byte, d map[string]any) []byte {
	return emitEvent(out, "content_block_delta", map[string]any{"type": "content_block_delta", "index": s.index, "delta": d})
}

func (s *messagesStream) choice(out []byte, d *Delta, finish string) []byte {
	if r := d.ReasoningContent; r != "" {
		out = s.open(out, "thinking", true, map[string]any{"type": "thinking", "thinking": "", "signature": ""})
		out = s.delta(out, map[string]any{"type": "thinking_delta", "thinking": r})
	}
	if t := d.Content; t != nil && *t != "" {
		out = s.open(out, "text", true, map[string]any{"type": "text", "text": ""})
		out = s.delta(out, map[string]any{"type": "text_delta", "text": *t})
	}
	for _, tc := range d.ToolCalls {
		if tc.ID != "" || tc.Function.Name != "" || s.block != "tool_use" {
			out = s.open(out, "tool_use", false, map[string]any{"type": "tool_use", "id": tc.ID, "name": tc.Function.Name, "input": map[string]any{}})
		}
		if tc.Function.Arguments != "" {
			out = s.delta(out, map[string]any{"type": "input_json_delta", "partial_json": tc.Function.Arguments})
		}
	}
	if finish != "" {
		s.stop = msgsFinish(finish)
		out = s.closeBlock(out)
	}
	return out
}

// end closes the message: the open block, message_delta with the stop
// reason and the usage, message_stop.
func (s *messagesStream) end(out []byte) []byte {
	out = s.closeBlock(out)
	stop := s.stop
	if stop == "" {
		stop = "end_turn"
	}
	u := msgsUsageOf(s.Usage())
	out = emitEvent(out, "message_delta", map[string]any{"type": "message_delta",
		"delta": map[string]any{"stop_reason": stop, "stop_sequence": nil},
		"usage": map[string]int{"input_tokens": u.InputTokens, "output_tokens": u.OutputTokens}})
	s.done = true
	return emitEvent(out, "message_stop", map[string]any{"type": "message_stop"})
}

// bridgeChunk reads one data line of the chat stream a bridge (D129, D137)
// turns into another API's events: done at [DONE], e for an error chunk,
// else the chunk (nil for an empty line or one that is not JSON).
func bridgeChunk(data []byte) (c *msgsChunk, done bool, e *Error) {
	if len(data) == 0 {
		return nil, false, nil
	}
	if bytes.Equal(data, []byte("[DONE]")) {
		return nil, true, nil
	}
	c = new(msgsChunk)
	if err := json.Unmarshal(data, c); err != nil {
		return nil, false, nil
	}
	if c.Error != nil {
		if e = ParseStreamError(data); e == nil {
			e = NewError(500, "internal_server_error", c.Error.Message, "")
		}
		return nil, false, e
	}
	return c, false, nil
}
