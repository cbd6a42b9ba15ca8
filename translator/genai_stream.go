package translator

import (
	"encoding/json"
)

// genaiStream writes Google's streamGenerateContent chunks from a chat
// stream, as LiteLLM's GoogleGenAIStreamWrapper does: one chunk
// ({"candidates": [{"content": {"parts": [...], "role": "model"},
// "finishReason": null, "index": 0, "safetyRatings": []}]}) per chat chunk
// with text or a completed tool call (its arguments gathered until they
// parse), the finish chunk held until the usage arrived and sent with
// usageMetadata; no [DONE].
type genaiStream struct {
	bridgeStream
	calls map[int]*genaiCall // tool calls being gathered, by index
	held  []byte             // the finish chunk's candidate, waiting for the usage
	fin   *string
}

// genaiCall is a streamed tool call's name and arguments so far.
type genaiCall struct{ name, args string }

func (s *genaiStream) start(out []byte, _ *msgsChunk) []byte { return out }

func (s *genaiStream) chunk(out []byte, v map[string]any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return out
	}
	return WriteSSE(out, "", b)
}

func (s *genaiStream) choice(out []byte, d *Delta, finish string) []byte {
	var parts []map[string]any
	if d.Content != nil && *d.Content != "" {
		parts = append(parts, map[string]any{"text": *d.Content})
	}
	for _, tc := range d.ToolCalls {
		if tc.Index == nil {
			continue
		}
		c := s.calls[*tc.Index]
		if c == nil {
			c = &genaiCall{}
			s.calls[*tc.Index] = c
		}
		if tc.Function.Name == "" && tc.Function.Arguments == "" {
			continue
		}
		if tc.Function.Name != "" {
			c.name = tc.Function.Name
		}
		c.args += tc.Function.Arguments
		if c.name != "" && json.Valid([]byte(c.args)) {
			parts = append(parts, map[string]any{"functionCall": map[string]any{"name": c.name, "args": json.RawMessage(c.args)}})
			delete(s.calls, *tc.Index)
		}
	}
	if len(parts) == 0 && finish == "" {
		return out
	}
	if parts == nil {
		parts = []map[string]any{}
	}
	if finish == "" {
		return s.chunk(out, map[string]any{"candidates": []any{genaiCandidate(parts, nil)}})
	}
	f := genaiFinish(finish)
	s.fin = &f
	s.held, _ = json.Marshal(genaiCandidate(parts, &f))
	return out
}

func (s *genaiStream) end(out []byte) []byte {
	s.done = true
	u := s.Usage()
	if s.held != nil {
		return s.chunk(out, map[string]any{"candidates": []json.RawMessage{s.held}, "usageMetadata": genaiUsage(u)})
	}
	if u != (Usage{}) {
		return s.chunk(out, map[string]any{"candidates": []any{map[string]any{"content": map[string]any{"parts": []any{map[string]any{"text": ""}}, "role": "model"}, "index": 0}},
			"usageMetadata": genaiUsage(u)})
	}
	return out
}

func (s *genaiStream) fail(out []byte, e *Error) []byte {
	s.err, s.done = e, true
	return WriteSSEError(out, e)
}
