package translator

import (
	"encoding/json"
	"fmt"
)

// cohereStream decodes Chat v2 streaming: SSE events typed message-start,
// content-start/-delta/-end, tool-plan-delta, tool-call-start/-delta/-end,
// citation-*, message-end. The type is read from the JSON "type" field, with
// the SSE event name as a fallback.
type cohereStream struct {
	model   string
	sse     SSEParser
	chunks  lineChunker
	started bool
	tools   int // tool calls started
	usage   Usage
	finish  string
	done    bool
	// noUsage: the client did not ask for the usage (SetIncludeUsage false).
	noUsage bool
}

type cohereStreamEvent struct {
	Type  string `json:"type"`
	ID    string `json:"id"`
	Index int    `json:"index"`
	Delta struct {
		Message struct {
			Content   json.RawMessage `json:"content"` // an object in content-delta, [] in message-start
			ToolPlan  string          `json:"tool_plan"`
			ToolCalls json.RawMessage `json:"tool_calls"`
		} `json:"message"`
		FinishReason string       `json:"finish_reason"`
		Usage        *cohereUsage `json:"usage"`
		Error        string       `json:"error"`
	} `json:"delta"`
}

func (cohereTranslator) NewStream(ep Endpoint, t Target) Stream {
	return &cohereStream{model: t.Model}
}

// SetIncludeUsage implements IncludeUsageSetter: false leaves the usage off
// the finish chunk (LiteLLM strips it when the client did not ask).
func (s *cohereStream) SetIncludeUsage(v bool) { s.noUsage = !v }

func (s *cohereStream) Usage() Usage         { return s.usage }
func (s *cohereStream) FinishReason() string { return s.finish }

func (s *cohereStream) Feed(chunk []byte, last bool) ([]byte, error) {
	if s.done {
		return nil, nil
	}
	return feedEach(&s.done, s.sse.Feed(chunk, last), last, s.event, nil)
}

func (s *cohereStream) start(id string) {
	if s.started {
		return
	}
	s.started = true
	s.chunks.id = id
	if s.chunks.id == "" {
		s.chunks.id = "chatcmpl-cohere"
	}
	s.chunks.model = s.model
}

func (s *cohereStream) event(out []byte, ev SSEEvent) ([]byte, error) {
	if len(ev.Data) == 0 || string(ev.Data) == "[DONE]" {
		return out, nil
	}
	var ce cohereStreamEvent
	if err := json.Unmarshal(ev.Data, &ce); err != nil {
		e := NewError(502, "internal_server_error", fmt.Sprintf("cohere: malformed stream event: %v", err), "")
		return streamErrorEvent(out, e), e
	}
	typ := ce.Type
	if typ == "" {
		typ = ev.Event
	}
	s.start(ce.ID)
	switch typ {
	case "message-start":
		return out, nil
	case "content-delta":
		var c struct {
			Text     string `json:"text"`
			Thinking string `json:"thinking"`
		}
		if rawSet(ce.Delta.Message.Content) {
			if err := json.Unmarshal(ce.Delta.Message.Content, &c); err != nil {
				e := NewError(502, "internal_server_error", fmt.Sprintf("cohere: malformed content-delta event: %v", err), "")
				return streamErrorEvent(out, e), e
			}
		}
		d := Delta{ReasoningContent: c.Thinking}
		if c.Text != "" {
			d.Content = strPtr(c.Text)
		}
		if d.Content == nil && d.ReasoningContent == "" {
			return out, nil
		}
		return s.chunks.write(out, 0, d, "", nil), nil
	case "tool-plan-delta":
		if ce.Delta.Message.ToolPlan == "" {
			return out, nil
		}
		return s.chunks.write(out, 0, Delta{ReasoningContent: ce.Delta.Message.ToolPlan}, "", nil), nil
	case "tool-call-start", "tool-call-delta":
		var tc ToolCall
		if rawSet(ce.Delta.Message.ToolCalls) {
			if err := json.Unmarshal(ce.Delta.Message.ToolCalls, &tc); err != nil {
				e := NewError(502, "internal_server_error", fmt.Sprintf("cohere: malformed tool call event: %v", err), "")
				return streamErrorEvent(out, e), e
			}
		}
		idx := ce.Index
		if typ == "tool-call-start" {
			s.tools++
			if tc.Type == "" {
				tc.Type = "function"
			}
		} else {
			tc.ID, tc.Type, tc.Function.Name = "", "", ""
		}
		tc.Index = &idx
		return s.chunks.write(out, 0, Delta{ToolCalls: []ToolCall{tc}}, "", nil), nil
	case "message-end":
		fr := cohereFinish(ce.Delta.FinishReason)
		if fr == "" || (fr == "stop" && s.tools > 0) {
			if s.tools > 0 {
				fr = "tool_calls"
			} else {
				fr = "stop"
			}
		}
		s.finish = fr
		s.usage = cohereUsageFrom(ce.Delta.Usage)
		var u *UsageObject
		if !s.noUsage {
			u = UsageObjectFrom(s.usage)
		}
		out = s.chunks.write(out, 0, Delta{}, fr, u)
		if ce.Delta.Error != "" {
			e := providerError("cohere", 500, nil, ce.Delta.Error)
			return streamErrorEvent(out, e), e
		}
		return out, nil
	}
	return out, nil // content-start/-end, tool-call-end, citation-*, debug
}
