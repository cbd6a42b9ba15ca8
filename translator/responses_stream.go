package translator

import (
	"encoding/json"
	"strings"
)

// responsesStream writes OpenAI's Responses events from a chat stream, as
// LiteLLM's LiteLLMCompletionStreamingIterator does: response.created and
// response.in_progress first; an output item per run of reasoning, text or
// one tool call (response.output_item.added; for text
// response.content_part.added, response.output_text.delta …,
// response.output_text.done, response.content_part.done; for a tool call
// response.function_call_arguments.delta … and .done; for reasoning
// response.reasoning_summary_text.delta …; then
// response.output_item.done); once the chat stream ended response.completed
// (or response.incomplete) with the whole response and its usage. A
// provider error inside the stream becomes a response.failed event.
type responsesStream struct {
	bridgeStream
	t       Target
	id      string // the response's id (LiteLLM's)
	created int64
	seq     int
	// the open item: its kind ("" when none), index, id, text and call
	kind   string
	itemID string
	callID string
	name   string
	text   strings.Builder
	output []map[string]any // the items done
	finish string
}

// emit writes one event: its type, sequence number and fields.
func (s *responsesStream) emit(out []byte, typ string, fields map[string]any) []byte {
	fields["type"] = typ
	fields["sequence_number"] = s.seq
	s.seq++
	b, err := json.Marshal(fields)
	if err != nil {
		return out
	}
	return WriteSSE(out, typ, b)
}

// response is the Response object as it stands.
func (s *responsesStream) response(status string) map[string]any {
	model := s.model
	r := map[string]any{"id": s.id, "object": "response", "created_at": s.created, "status": status, "error": nil,
		"incomplete_details": nil, "model": model, "output": s.output, "parallel_tool_calls": true, "tool_choice": "auto", "tools": []any{}}
	if s.output == nil {
		r["output"] = []any{}
	}
	return r
}

func (s *responsesStream) start(out []byte, c *msgsChunk) []byte {
	if s.model == "" {
		s.model = c.Model
	}
	s.id = EncodeResponseID(s.t.Provider, s.t.DeploymentID, respChatID(c.ID))
	s.created = createdAt(s.t)
	out = s.emit(out, "response.created", map[string]any{"response": s.response("in_progress")})
	return s.emit(out, "response.in_progress", map[string]any{"response": s.response("in_progress")})
}

// open starts an output item of kind (closing the open one) unless one of
// that kind is open and same is true.
func (s *responsesStream) open(out []byte, kind string, same bool, callID, name string) []byte {
	if s.kind == kind && same {
		return out
	}
	out = s.closeItem(out)
	s.kind, s.callID, s.name = kind, callID, name
	s.text.Reset()
	idx := len(s.output)
	var item map[string]any
	switch kind {
	case "message":
		s.itemID = "msg_" + s.baseID(idx)
		item = respMessageItem(s.itemID, "in_progress", "")
	case "function_call":
		s.itemID = "fc_" + callID
		item = respCallItem(s.itemID, callID, name, "", "in_progress")
	case "reasoning":
		s.itemID = "rs_" + s.baseID(idx)
		item = map[string]any{"type": "reasoning", "id": s.itemID, "summary": []any{}}
	}
	out = s.emit(out, "response.output_item.added", map[string]any{"output_index": idx, "item": item})
	switch kind {
	case "message":
		out = s.emit(out, "response.content_part.added", map[string]any{"item_id": s.itemID, "output_index": idx, "content_index": 0, "part": respTextPart("")})
	case "reasoning":
		out = s.emit(out, "response.reasoning_summary_part.added", map[string]any{"item_id": s.itemID, "output_index": idx, "summary_index": 0,
			"part": map[string]any{"type": "summary_text", "text": ""}})
	}
	return out
}

// baseID is an item's id part: the response's provider id and the item's index.
func (s *responsesStream) baseID(idx int) string {
	_, _, orig := DecodeResponseID(s.id)
	return orig + "_" + itoa(idx)
}

// closeItem ends the open item: its done events, then output_item.done.
func (s *responsesStream) closeItem(out []byte) []byte {
	if s.kind == "" {
		return out
	}
	idx, text := len(s.output), s.text.String()
	var item map[string]any
	switch s.kind {
	case "message":
		out = s.emit(out, "response.output_text.done", map[string]any{"item_id": s.itemID, "output_index": idx, "content_index": 0, "text": text})
		out = s.emit(out, "response.content_part.done", map[string]any{"item_id": s.itemID, "output_index": idx, "content_index": 0, "part": respTextPart(text)})
		item = respMessageItem(s.itemID, "completed", text)
	case "function_call":
		out = s.emit(out, "response.function_call_arguments.done", map[string]any{"item_id": s.itemID, "output_index": idx, "arguments": text})
		item = respCallItem(s.itemID, s.callID, s.name, text, "completed")
	case "reasoning":
		out = s.emit(out, "response.reasoning_summary_text.done", map[string]any{"item_id": s.itemID, "output_index": idx, "summary_index": 0, "text": text})
		out = s.emit(out, "response.reasoning_summary_part.done", map[string]any{"item_id": s.itemID, "output_index": idx, "summary_index": 0,
			"part": map[string]any{"type": "summary_text", "text": text}})
		item = respReasoningItem(s.itemID, text)
	}
	s.kind = ""
	s.output = append(s.output, item)
	return s.emit(out, "response.output_item.done", map[string]any{"output_index": idx, "item": item})
}

func (s *responsesStream) choice(out []byte, d *Delta, finish string) []byte {
	idx := len(s.output)
	if r := d.ReasoningContent; r != "" {
		out = s.open(out, "reasoning", true, "", "")
		s.text.WriteString(r)
		out = s.emit(out, "response.reasoning_summary_text.delta", map[string]any{"item_id": s.itemID, "output_index": idx, "summary_index": 0, "delta": r})
	}
	if t := d.Content; t != nil && *t != "" {
		out = s.open(out, "message", true, "", "")
		s.text.WriteString(*t)
		out = s.emit(out, "response.output_text.delta", map[string]any{"item_id": s.itemID, "output_index": len(s.output), "content_index": 0, "delta": *t})
	}
	for _, tc := range d.ToolCalls {
		if tc.ID != "" || s.kind != "function_call" {
			out = s.open(out, "function_call", false, tc.ID, tc.Function.Name)
		}
		if a := tc.Function.Arguments; a != "" {
			s.text.WriteString(a)
			out = s.emit(out, "response.function_call_arguments.delta", map[string]any{"item_id": s.itemID, "output_index": len(s.output), "delta": a})
		}
	}
	if finish != "" {
		s.finish = finish
		out = s.closeItem(out)
	}
	return out
}

// end ends the response: the open item, then response.completed (or
// response.incomplete) with every item and the usage.
func (s *responsesStream) end(out []byte) []byte {
	out = s.closeItem(out)
	status, inc := respStatus(s.finish)
	r := s.response(status)
	if inc != nil {
		r["incomplete_details"] = inc
	}
	r["usage"] = responsesUsageOf(s.Usage())
	s.done = true
	typ := "response.completed"
	if status == "incomplete" {
		typ = "response.incomplete"
	}
	return s.emit(out, typ, map[string]any{"response": r})
}

// fail ends the response with response.failed, the provider's error in it.
func (s *responsesStream) fail(out []byte, e *Error) []byte {
	out = s.begin(out, &msgsChunk{})
	s.err, s.done = e, true
	r := s.response("failed")
	r["error"] = map[string]any{"code": e.Code, "message": e.Message}
	return s.emit(out, "response.failed", map[string]any{"response": r})
}
