package translator

import (
	"bytes"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// LiteLLM's proxy answers with the model name the client asked for (the
// model group, the alias, or the concrete model of a wildcard), not the
// provider's: its proxy restamps `model` on every response and every stream
// chunk. SetResponseModel and ModelStream do that here.

// SetResponseModel sets the top-level "model" of a JSON response to model.
// A body without a "model" field, or with that value already, is returned
// unchanged (no copy).
func SetResponseModel(body []byte, model string) []byte {
	if model == "" {
		return body
	}
	cur := gjson.GetBytes(body, "model")
	if !cur.Exists() || (cur.Type == gjson.String && cur.Str == model) {
		return body
	}
	out, err := sjson.SetBytes(body, "model", model)
	if err != nil {
		return body
	}
	return out
}

// ModelSetter is implemented by streams that restamp "model" themselves
// while they read each event (the pass-through stream), so that no second
// parse is needed.
type ModelSetter interface {
	SetResponseModel(string)
}

// CreatedSetter is implemented by streams that write every chunk's
// "created" themselves (the anthropic stream), so that the caller need not
// stamp it afterwards.
type CreatedSetter interface {
	SetCreated(created int64)
}

// ModelStream makes st report model in every chunk. Streams that implement
// ModelSetter are told; others are wrapped (one extra SSE parse of the
// gateway's own output per Feed).
func ModelStream(st Stream, model string) Stream {
	if model == "" {
		return st
	}
	if ms, ok := st.(ModelSetter); ok {
		ms.SetResponseModel(model)
		return st
	}
	return &modelStream{Stream: st, model: model}
}

type modelStream struct {
	Stream
	model string
}

func (m *modelStream) Feed(chunk []byte, last bool) ([]byte, error) {
	out, err := m.Stream.Feed(chunk, last)
	if len(out) == 0 || !bytes.Contains(out, []byte(`"model"`)) {
		return out, err
	}
	// The inner stream emits whole events, so a fresh parser sees them all.
	var p SSEParser
	var res []byte
	for _, ev := range p.Feed(out, true) {
		res = WriteSSE(res, ev.Event, stampChunk(ev.Data, m.model))
	}
	return res, err
}

// Err passes the inner stream's error through (StreamErr).
func (m *modelStream) Err() *Error {
	if se, ok := m.Stream.(StreamErr); ok {
		return se.Err()
	}
	return nil
}

// SetIncludeUsage passes the option through (IncludeUsageSetter).
func (m *modelStream) SetIncludeUsage(v bool) {
	if u, ok := m.Stream.(IncludeUsageSetter); ok {
		u.SetIncludeUsage(v)
	}
}

// stampChunk sets "model" in one JSON event; [DONE] and error events are left alone.
func stampChunk(data []byte, model string) []byte {
	if len(data) == 0 || data[0] != '{' {
		return data
	}
	return SetResponseModel(data, model)
}
