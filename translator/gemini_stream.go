package translator

import (
	"encoding/json"
	"fmt"
)

// geminiStream decodes streamGenerateContent?alt=sse: every SSE event is a whole
// GenerateContentResponse; usageMetadata is cumulative and complete on the
// event that carries finishReason.
type geminiStream struct {
	provider string
	model    string
	sse      SSEParser
	chunks   lineChunker
	started  bool
	seed     string
	calls    map[int]int // candidate index → tool calls sent
	finished map[int]bool
	usage    Usage
	usageOut bool
	finish   string
	done     bool
	// noUsage: the client did not ask for the usage (SetIncludeUsage false).
	noUsage bool
}

func (g geminiTranslator) NewStream(ep Endpoint, t Target) Stream {
	return &geminiStream{provider: g.name(), model: t.Model, calls: map[int]int{}, finished: map[int]bool{}}
}

// SetIncludeUsage implements IncludeUsageSetter: false leaves the usage out
// of every chunk (LiteLLM strips it when the client did not ask); true (and
// not called) puts it on the finish chunk, or a usage chunk at the end.
func (s *geminiStream) SetIncludeUsage(v bool) { s.noUsage = !v }

// usageObject is the usage a chunk carries (nil: none asked).
func (s *geminiStream) usageObject() *UsageObject {
	if s.noUsage {
		return nil
	}
	return UsageObjectFrom(s.usage)
}

func (s *geminiStream) Usage() Usage         { return s.usage }
func (s *geminiStream) FinishReason() string { return s.finish }

func (s *geminiStream) Feed(chunk []byte, last bool) ([]byte, error) {
	if s.done {
		return nil, nil
	}
	event := func(out []byte, ev SSEEvent) ([]byte, error) { return s.event(out, ev.Data) }
	return feedEach(&s.done, s.sse.Feed(chunk, last), last, event, func(out []byte) []byte {
		if !s.usageOut && !s.noUsage && s.started && (s.usage != Usage{}) {
			out = s.chunks.writeUsage(out, s.usage)
		}
		return out
	})
}

func (s *geminiStream) event(out []byte, data []byte) ([]byte, error) {
	if len(data) == 0 {
		return out, nil
	}
	var gr geminiResponse
	if err := json.Unmarshal(data, &gr); err != nil {
		e := NewError(502, "internal_server_error", fmt.Sprintf("%s: malformed stream event: %v", s.provider, err), "")
		return streamErrorEvent(out, e), e
	}
	if gr.Error != nil {
		e := geminiTranslator{vertex: s.provider == "vertex_ai"}.errorFrom(gr.Error.Code, nil, gr.Error)
		return streamErrorEvent(out, e), e
	}
	if !s.started {
		s.started = true
		s.seed = gr.ResponseID
		if s.seed == "" {
			s.seed = string(data)
		}
		s.chunks.id = gr.ResponseID
		if s.chunks.id == "" {
			s.chunks.id = stableID("chatcmpl-", string(data))
		}
		s.chunks.model = gr.ModelVersion
		if s.chunks.model == "" {
			s.chunks.model = s.model
		}
		s.chunks.created = parseTime(gr.CreateTime)
	}
	if gr.UsageMetadata != nil {
		s.usage = geminiUsageFrom(gr.UsageMetadata)
	}
	if len(gr.Candidates) == 0 {
		if gr.PromptFeedback != nil && gr.PromptFeedback.BlockReason != "" && !s.finished[0] {
			s.finished[0] = true
			s.finish = "content_filter"
			s.usageOut = true
			return s.chunks.write(out, 0, Delta{}, "content_filter", s.usageObject()), nil
		}
		if gr.UsageMetadata != nil && s.usageOut && !s.noUsage {
			// A late usage update after the finish chunk.
			out = s.chunks.writeUsage(out, s.usage)
		}
		return out, nil
	}
	for _, c := range gr.Candidates {
		if s.finished[c.Index] {
			continue
		}
		var parts []geminiPart
		if c.Content != nil {
			parts = c.Content.Parts
		}
		text, thought, calls := geminiParts(parts, s.seed, c.Index, s.calls[c.Index])
		s.calls[c.Index] += len(calls)
		d := Delta{ReasoningContent: thought, ToolCalls: calls}
		if text != "" {
			d.Content = strPtr(text)
		}
		fr := geminiFinish(c.FinishReason, s.calls[c.Index] > 0)
		var usage *UsageObject
		if fr != "" {
			s.finished[c.Index] = true
			s.finish = fr
			if len(s.finished) == 1 || c.Index == 0 {
				usage = s.usageObject()
				s.usageOut = true
			}
		}
		if d.Content == nil && d.ReasoningContent == "" && len(d.ToolCalls) == 0 && fr == "" {
			continue
		}
		out = s.chunks.write(out, c.Index, d, fr, usage)
	}
	return out, nil
}
