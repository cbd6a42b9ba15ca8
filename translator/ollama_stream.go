package translator

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// ollamaLines splits NDJSON into lines across Feed calls. Only the bytes of an
// unfinished line are kept between calls.
type ollamaLines struct{ buf []byte }

// feed returns every complete, non-blank line; with last set the unfinished
// line too.
func (l *ollamaLines) feed(chunk []byte, last bool) [][]byte {
	l.buf = append(l.buf, chunk...)
	var out [][]byte
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		if line := bytes.TrimSpace(l.buf[:i]); len(line) > 0 {
			out = append(out, append([]byte(nil), line...))
		}
		l.buf = l.buf[i+1:]
	}
	if last {
		if line := bytes.TrimSpace(l.buf); len(line) > 0 {
			out = append(out, append([]byte(nil), line...))
		}
		l.buf = nil
	} else {
		l.buf = append([]byte(nil), l.buf...) // do not pin the caller's chunks
	}
	return out
}

// ollamaStream decodes /api/chat and /api/generate NDJSON streams: one JSON
// object per line, the last with done: true, done_reason and token counts.
type ollamaStream struct {
	provider string
	model    string
	lines    ollamaLines
	chunks   lineChunker
	started  bool
	tools    int
	usage    Usage
	finish   string
	done     bool
	// noUsage: the client did not ask for the usage (SetIncludeUsage false).
	noUsage bool
}

func (o ollamaTranslator) NewStream(ep Endpoint, t Target) Stream {
	return &ollamaStream{provider: o.name(), model: t.Model}
}

// SetIncludeUsage implements IncludeUsageSetter: false leaves the usage off
// the last chunk (LiteLLM strips it when the client did not ask).
func (s *ollamaStream) SetIncludeUsage(v bool) { s.noUsage = !v }

func (s *ollamaStream) Usage() Usage         { return s.usage }
func (s *ollamaStream) FinishReason() string { return s.finish }

func (s *ollamaStream) Feed(chunk []byte, last bool) ([]byte, error) {
	if s.done {
		return nil, nil
	}
	return feedEach(&s.done, s.lines.feed(chunk, last), last, s.line, nil)
}

func (s *ollamaStream) line(out, line []byte) ([]byte, error) {
	var or ollamaResponse
	if err := json.Unmarshal(line, &or); err != nil {
		e := NewError(502, "internal_server_error", fmt.Sprintf("%s: malformed stream line: %v", s.provider, err), "")
		return streamErrorEvent(out, e), e
	}
	if rawSet(or.Error) {
		e := ollamaTranslator{chat: s.provider == "ollama_chat"}.Error(500, nil, line)
		return streamErrorEvent(out, e), e
	}
	if !s.started {
		s.started = true
		s.chunks.id = stableID("chatcmpl-", or.CreatedAt, or.Model)
		s.chunks.model = or.Model
		if s.chunks.model == "" {
			s.chunks.model = s.model
		}
		s.chunks.created = parseTime(or.CreatedAt)
	}
	var d Delta
	var text string
	if or.Message != nil {
		text, d.ReasoningContent = or.Message.Content, or.Message.Thinking
		d.ToolCalls = ollamaToolCalls(or.Message.ToolCalls, s.chunks.id, s.tools)
		s.tools += len(d.ToolCalls)
	} else {
		text, d.ReasoningContent = or.Response, or.Thinking
	}
	if text != "" {
		d.Content = strPtr(text)
	}
	if or.Done {
		s.finish = ollamaFinish(or.DoneReason, s.tools > 0)
		s.usage = Usage{PromptTokens: int(or.PromptEval), CompletionTokens: int(or.Eval)}
		s.usage.TotalTokens = s.usage.PromptTokens + s.usage.CompletionTokens
		var u *UsageObject
		if !s.noUsage {
			u = UsageObjectFrom(s.usage)
		}
		return s.chunks.write(out, 0, d, s.finish, u), nil
	}
	if d.Content == nil && d.ReasoningContent == "" && len(d.ToolCalls) == 0 {
		return out, nil
	}
	return s.chunks.write(out, 0, d, "", nil), nil
}
