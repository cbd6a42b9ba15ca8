package translator

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// hfStream passes an OpenAI-format SSE stream through, one event at a time,
// normalising each chunk and recording usage and finish_reason.
type hfStream struct {
	model  string
	id     string // used when the server sends none (TGI sends "")
	sse    SSEParser
	usage  Usage
	finish string
	done   bool
	// noUsage: the client did not ask for the usage (SetIncludeUsage false).
	noUsage bool
}

func (huggingfaceTranslator) NewStream(ep Endpoint, t Target) Stream {
	return &hfStream{model: t.Model}
}

// SetIncludeUsage implements IncludeUsageSetter: false leaves the usage out
// (off every chunk, a usage-only chunk dropped), as LiteLLM strips it when
// the client did not ask.
func (s *hfStream) SetIncludeUsage(v bool) { s.noUsage = !v }

func (s *hfStream) Usage() Usage         { return s.usage }
func (s *hfStream) FinishReason() string { return s.finish }

func (s *hfStream) fail(out []byte, e *Error) ([]byte, error) {
	s.done = true
	return append(streamErrorEvent(out, e), SSEDone...), e
}

func (s *hfStream) Feed(chunk []byte, last bool) ([]byte, error) {
	if s.done {
		return nil, nil
	}
	var out []byte
	for _, ev := range s.sse.Feed(chunk, last) {
		data := bytes.TrimSpace(ev.Data)
		if len(data) == 0 || string(data) == "[DONE]" {
			continue
		}
		var probe struct {
			Error json.RawMessage `json:"error"`
		}
		if err := json.Unmarshal(data, &probe); err != nil {
			return s.fail(out, NewError(502, "internal_server_error", fmt.Sprintf("huggingface: malformed stream event: %v", err), ""))
		}
		if rawSet(probe.Error) {
			return s.fail(out, huggingfaceTranslator{}.Error(500, nil, data))
		}
		var ch ChatChunk
		if err := json.Unmarshal(data, &ch); err != nil {
			return s.fail(out, NewError(502, "internal_server_error", fmt.Sprintf("huggingface: malformed stream chunk: %v", err), ""))
		}
		ch.Object = "chat.completion.chunk"
		if ch.ID == "" {
			if s.id == "" {
				s.id = stableID("chatcmpl-", string(data))
			}
			ch.ID = s.id
		}
		if ch.Model == "" {
			ch.Model = s.model
		}
		if ch.Choices == nil {
			ch.Choices = []ChunkChoice{}
		}
		for i := range ch.Choices {
			if fr := ch.Choices[i].FinishReason; fr != nil && *fr != "" {
				n := hfFinish(*fr)
				ch.Choices[i].FinishReason = &n
				s.finish = n
			}
		}
		if ch.Usage != nil {
			s.usage = UsageFrom(ch.Usage)
			if s.usage.TotalTokens == 0 {
				s.usage.TotalTokens = s.usage.PromptTokens + s.usage.CompletionTokens
			}
			if s.noUsage {
				if len(ch.Choices) == 0 {
					continue // the usage chunk
				}
				ch.Usage = nil
			}
		}
		out = WriteSSEJSON(out, ch)
	}
	if last {
		s.done = true
		out = append(out, SSEDone...)
	}
	return out, nil
}
