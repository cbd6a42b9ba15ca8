package translator

// merge_reasoning_content_in_choices (docs/architecture.md D119): LiteLLM's
// CustomStreamWrapper._optional_combine_thinking_block_in_choices puts a
// stream's reasoning into its content between <think> and </think>, for UIs
// that read one text.

import (
	"bytes"
	"encoding/json"
)

// MergeReasoningStream wraps a translated stream so that each chunk's
// choices[0].delta.reasoning_content moves into its content, as LiteLLM
// does with merge_reasoning_content_in_choices: the first reasoning is
// appended to the chunk's content after "<think>", later reasoning replaces
// the content, the first content after reasoning gets "</think>" before it,
// and reasoning_content is removed from every delta. Whole answers are left
// alone (LiteLLM merges streams only).
func MergeReasoningStream(st Stream) Stream { return &mergeReasoningStream{Stream: st} }

type mergeReasoningStream struct {
	Stream
	opened, closed bool
}

var reasoningKey = []byte(`"reasoning_content"`)

func (m *mergeReasoningStream) Feed(chunk []byte, last bool) ([]byte, error) {
	out, err := m.Stream.Feed(chunk, last)
	if len(out) == 0 || (!bytes.Contains(out, reasoningKey) && (!m.opened || m.closed)) {
		return out, err
	}
	// The inner stream emits whole events, so a fresh parser sees them all.
	var p SSEParser
	var res []byte
	for _, ev := range p.Feed(out, true) {
		res = WriteSSE(res, ev.Event, m.merge(ev.Data))
	}
	return res, err
}

// merge rewrites one chunk's first delta; data that is not such a chunk is
// returned as it is.
func (m *mergeReasoningStream) merge(data []byte) []byte {
	if len(data) == 0 || data[0] != '{' {
		return data
	}
	var chunk map[string]json.RawMessage
	if json.Unmarshal(data, &chunk) != nil {
		return data
	}
	var choices []map[string]json.RawMessage
	if json.Unmarshal(chunk["choices"], &choices) != nil || len(choices) == 0 {
		return data
	}
	var delta map[string]json.RawMessage
	if json.Unmarshal(choices[0]["delta"], &delta) != nil || delta == nil {
		return data
	}
	var reasoning string
	_ = json.Unmarshal(delta["reasoning_content"], &reasoning)
	var content *string
	_ = json.Unmarshal(delta["content"], &content)
	_, hasReasoning := delta["reasoning_content"]
	setContent := func(s string) { delta["content"], _ = json.Marshal(s) }
	switch {
	case reasoning != "" && !m.opened:
		c := ""
		if content != nil {
			c = *content
		}
		setContent(c + "<think>" + reasoning)
		m.opened = true
	case reasoning != "":
		setContent(reasoning)
	case m.opened && !m.closed && content != nil && *content != "":
		setContent("</think>" + *content)
		m.closed = true
	case !hasReasoning:
		return data
	}
	delete(delta, "reasoning_content")
	choices[0]["delta"], _ = json.Marshal(delta)
	chunk["choices"], _ = json.Marshal(choices)
	b, err := json.Marshal(chunk)
	if err != nil {
		return data
	}
	return b
}

// Err passes the inner stream's error through (StreamErr).
func (m *mergeReasoningStream) Err() *Error {
	if se, ok := m.Stream.(StreamErr); ok {
		return se.Err()
	}
	return nil
}
