package translator

import (
	"encoding/json"

	"github.com/llmgate/llmgate/internal/eventstream"
)

// NewStream implements Translator: ConverseStream eventstream frames → OpenAI SSE.
func (bedrockTranslator) NewStream(ep Endpoint, t Target) Stream {
	return &bedrockStream{model: t.Model, toolIndex: map[int]int{}}
}

type bedrockStream struct {
	dec          eventstream.Decoder
	id, model    string
	includeUsage bool
	usage        brkUsage
	finish       string
	toolIndex    map[int]int // contentBlockIndex → OpenAI tool_calls index
	jsonBlock    map[int]bool
	nextTool     int
	stopped      bool // messageStop seen
	done         bool
	err          *Error
}

func (s *bedrockStream) SetIncludeUsage(v bool) { s.includeUsage = v }
func (s *bedrockStream) Usage() Usage           { return s.usage.openai() }
func (s *bedrockStream) FinishReason() string   { return s.finish }
func (s *bedrockStream) Err() *Error            { return s.err }

func (s *bedrockStream) chunk(dst []byte, d Delta, finish *string) []byte {
	return WriteSSEJSON(dst, ChatChunk{ID: s.id, Object: "chat.completion.chunk", Model: s.model,
		Choices: []ChunkChoice{{Index: 0, Delta: d, FinishReason: finish}}})
}

func (s *bedrockStream) fail(dst []byte, e *Error) []byte {
	s.err, s.done = e, true
	return WriteSSEError(dst, e)
}

func (s *bedrockStream) end(dst []byte) []byte {
	if s.includeUsage {
		dst = WriteSSEJSON(dst, ChatChunk{ID: s.id, Object: "chat.completion.chunk", Model: s.model,
			Choices: []ChunkChoice{}, Usage: UsageObjectFrom(s.usage.openai())})
	}
	s.done = true
	return append(dst, SSEDone...)
}

// Feed implements Stream.
func (s *bedrockStream) Feed(chunk []byte, last bool) ([]byte, error) {
	if s.done {
		return nil, nil
	}
	msgs, err := s.dec.Feed(chunk)
	var out []byte
	for _, m := range msgs {
		if s.done {
			return out, nil
		}
		out = s.frame(out, m)
	}
	if s.done {
		return out, nil
	}
	if err != nil {
		return s.fail(out, NewError(502, "internal_server_error", "llmgate: bedrock stream: "+err.Error(), "")), nil
	}
	if last {
		if s.stopped {
			return s.end(out), nil // no metadata event: finish without usage
		}
		return s.fail(out, NewError(502, "internal_server_error", "llmgate: bedrock stream ended before messageStop", "")), nil
	}
	return out, nil
}

type brkStreamEvent struct {
	Role              string          `json:"role"`
	ContentBlockIndex int             `json:"contentBlockIndex"`
	Start             *brkBlockStart  `json:"start"`
	Delta             *brkBlockDelta  `json:"delta"`
	StopReason        string          `json:"stopReason"`
	Usage             *brkUsage       `json:"usage"`
	Message           string          `json:"message"`
	Message2          string          `json:"Message"`
	Raw               json.RawMessage `json:"-"`
}

type brkBlockStart struct {
	ToolUse *struct {
		ToolUseID string `json:"toolUseId"`
		Name      string `json:"name"`
	} `json:"toolUse"`
}

type brkBlockDelta struct {
	Text    *string `json:"text"`
	ToolUse *struct {
		Input string `json:"input"`
	} `json:"toolUse"`
	ReasoningContent *struct {
		Text string `json:"text"`
	} `json:"reasoningContent"`
}

func (s *bedrockStream) frame(out []byte, m eventstream.Message) []byte {
	var ev brkStreamEvent
	if len(m.Payload) > 0 {
		if err := json.Unmarshal(m.Payload, &ev); err != nil {
			return s.fail(out, NewError(502, "internal_server_error", "llmgate: bedrock sent an invalid stream event: "+err.Error(), ""))
		}
	}
	switch m.Header(":message-type") {
	case "exception":
		msg := ev.Message
		if msg == "" {
			msg = ev.Message2
		}
		return s.fail(out, bedrockError(0, m.Header(":exception-type"), msg, m.Payload, nil))
	case "error":
		code, msg := m.Header(":error-code"), m.Header(":error-message")
		return s.fail(out, bedrockError(0, code, msg, []byte(code), nil))
	}
	switch m.Header(":event-type") {
	case "messageStart":
		if s.id == "" {
			s.id = bedrockID(append([]byte(s.model), m.Payload...))
		}
		return s.chunk(out, Delta{Role: "assistant", Content: strPtr("")}, nil)
	case "contentBlockStart":
		if ev.Start == nil || ev.Start.ToolUse == nil {
			return out
		}
		if ev.Start.ToolUse.Name == anthropicJSONToolName {
			if s.jsonBlock == nil {
				s.jsonBlock = map[int]bool{}
			}
			s.jsonBlock[ev.ContentBlockIndex] = true
			return out
		}
		i := s.nextTool
		s.nextTool++
		s.toolIndex[ev.ContentBlockIndex] = i
		return s.chunk(out, Delta{ToolCalls: []ToolCall{{Index: &i, ID: ev.Start.ToolUse.ToolUseID, Type: "function",
			Function: FunctionCall{Name: ev.Start.ToolUse.Name}}}}, nil)
	case "contentBlockDelta":
		d := ev.Delta
		switch {
		case d == nil:
		case d.Text != nil:
			return s.chunk(out, Delta{Content: d.Text}, nil)
		case d.ReasoningContent != nil && d.ReasoningContent.Text != "":
			return s.chunk(out, Delta{ReasoningContent: d.ReasoningContent.Text}, nil)
		case d.ToolUse != nil && d.ToolUse.Input != "":
			if s.jsonBlock[ev.ContentBlockIndex] {
				return s.chunk(out, Delta{Content: strPtr(d.ToolUse.Input)}, nil)
			}
			if i, ok := s.toolIndex[ev.ContentBlockIndex]; ok {
				return s.chunk(out, Delta{ToolCalls: []ToolCall{{Index: &i, Function: FunctionCall{Arguments: d.ToolUse.Input}}}}, nil)
			}
		}
		return out
	case "messageStop":
		f := bedrockFinishReason(ev.StopReason)
		if len(s.jsonBlock) > 0 && s.nextTool == 0 && f == "tool_calls" {
			f = "stop"
		}
		s.finish, s.stopped = f, true
		return s.chunk(out, Delta{}, &f)
	case "metadata":
		if ev.Usage != nil {
			s.usage = *ev.Usage
		}
		if s.stopped {
			return s.end(out)
		}
		return out
	}
	return out // contentBlockStop and unknown events
}
