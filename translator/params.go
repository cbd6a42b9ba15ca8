package translator

// Request validation shared by the translators that map OpenAI params one
// by one (anthropic, bedrock): which params a client sent may be mapped,
// and the chat body decoded once as a request and once as raw fields.

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
)

// requestParams is the set of top-level fields a client sent, after
// AdditionalDropParams and (with DropParams) unsupported params were removed.
// Translators consult it before mapping a field.
type requestParams struct {
	present map[string]bool
}

// use reports whether the field was sent and survives dropping.
func (p requestParams) use(name string) bool { return p.present[name] }

// checkRequestParams decides, for one provider, which of the OpenAI params the
// client sent may be mapped. supported lists the OpenAI params the provider
// takes; any other OpenAI param (one ChatRequest knows) is a 400 naming it,
// unless t.DropParams. t.AdditionalDropParams are always removed. Fields that
// are not OpenAI params (provider-specific extras) are reported present and
// left to the translator. null values count as absent.
func checkRequestParams(provider string, raw map[string]json.RawMessage, supported []string, t Target) (requestParams, *Error) {
	p := requestParams{present: make(map[string]bool, len(raw))}
	var rejected []string
	for k, v := range raw {
		if string(v) == "null" || slices.Contains(t.AdditionalDropParams, k) {
			continue
		}
		if knownChatFields[k] && !slices.Contains(supported, k) {
			if t.DropParams {
				continue
			}
			rejected = append(rejected, k)
			continue
		}
		p.present[k] = true
	}
	if len(rejected) > 0 {
		sort.Strings(rejected)
		return p, NewError(400, "invalid_request_error", fmt.Sprintf(
			"llmgate: param %s not supported by provider %s; set drop_params: true to drop it, or add it to additional_drop_params",
			rejected[0], provider), rejected[0])
	}
	return p, nil
}

// decodeChatRequest decodes an OpenAI chat body into ChatRequest and its raw
// top-level fields. The body is validated and decoded once (D95): the
// top-level fields are cut from it by topLevelFields and ChatRequest's known
// fields decoded straight into it, instead of three full decodes (the raw
// fields, then ChatRequest's own fields and raw fields again). Anything the
// quick way does not take — a decoding error, a body that is not an object,
// an escaped key — goes the full way, so that errors and results are the
// same.
func decodeChatRequest(body []byte) (*ChatRequest, map[string]json.RawMessage, *Error) {
	var a chatRequestAlias
	if json.Unmarshal(body, &a) == nil {
		if raw, ok := topLevelFields(body); ok {
			for k, v := range raw {
				if !knownChatFields[k] {
					if a.Extra == nil {
						a.Extra = map[string]json.RawMessage{}
					}
					a.Extra[k] = v
				}
			}
			req := ChatRequest(a)
			return &req, raw, nil
		}
	}
	return decodeChatRequestFull(body)
}

// decodeChatRequestFull is decodeChatRequest the plain way: the raw fields,
// then ChatRequest (its UnmarshalJSON).
func decodeChatRequestFull(body []byte) (*ChatRequest, map[string]json.RawMessage, *Error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, nil, NewError(400, "invalid_request_error", "llmgate: request body is not a JSON object: "+err.Error(), "")
	}
	var req ChatRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, nil, NewError(400, "invalid_request_error", "llmgate: invalid chat completions request: "+err.Error(), "")
	}
	return &req, raw, nil
}

// topLevelFields cuts a valid JSON object into its top-level fields, as
// json.Unmarshal into map[string]json.RawMessage would (the last of a
// repeated key wins; each value without the whitespace around it, a copy of
// the body's bytes). ok false for anything else (not an object, a key with
// an escape or a byte outside ASCII): the caller decodes the usual way.
// body must be valid JSON (json.Unmarshal has accepted it).
func topLevelFields(body []byte) (map[string]json.RawMessage, bool) {
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return nil, false
	}
	buf := append([]byte(nil), body...) // values share one copy
	raw := make(map[string]json.RawMessage, 8)
	i = skipSpace(body, i+1)
	if i < len(body) && body[i] == '}' {
		return raw, true
	}
	for i < len(body) {
		if body[i] != '"' {
			return nil, false
		}
		j := i + 1
		for j < len(body) && body[j] != '"' {
			if body[j] == '\\' || body[j] >= 0x80 {
				return nil, false
			}
			j++
		}
		if j >= len(body) {
			return nil, false
		}
		key := string(body[i+1 : j])
		i = skipSpace(body, j+1)
		if i >= len(body) || body[i] != ':' {
			return nil, false
		}
		i = skipSpace(body, i+1)
		end, ok := skipValue(body, i)
		if !ok {
			return nil, false
		}
		raw[key] = json.RawMessage(buf[i:end:end])
		i = skipSpace(body, end)
		if i >= len(body) {
			return nil, false
		}
		switch body[i] {
		case ',':
			i = skipSpace(body, i+1)
		case '}':
			return raw, true
		default:
			return nil, false
		}
	}
	return nil, false
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the end of the valid JSON value at b[i:].
func skipValue(b []byte, i int) (int, bool) {
	depth := 0
	for i < len(b) {
		c := b[i]
		switch c {
		case '"':
			i++
			for i < len(b) && b[i] != '"' {
				if b[i] == '\\' {
					i++
				}
				i++
			}
			if i >= len(b) {
				return 0, false
			}
			i++
		case '{', '[':
			depth++
			i++
			continue
		case '}', ']':
			if depth == 0 {
				return i, true
			}
			depth--
			i++
		default:
			if depth == 0 && (c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r') {
				return i, true
			}
			i++
			continue
		}
		if depth == 0 {
			return i, true
		}
	}
	if depth == 0 {
		return i, true
	}
	return 0, false
}
