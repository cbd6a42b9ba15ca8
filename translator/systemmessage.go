package translator

import (
	"bytes"
	"encoding/json"
)

// MapSystemMessages rewrites a chat body's system messages for a deployment
// whose litellm_params set supports_system_message: false, as LiteLLM's
// map_system_message_pt does before the call (docs/architecture.md D103):
//   - a system message followed by a user or assistant message is merged
//     into it: that message's content becomes system + " " + its own;
//   - followed by another system message, or last, it becomes
//     {"role": "user", "content": <its content>};
//   - followed by any other role (tool, function, developer) it is dropped.
//
// The merge joins strings only; LiteLLM fails on content parts there (a
// TypeError), and so does this with a 400. A body without a system message
// is returned unchanged.
func MapSystemMessages(body []byte) ([]byte, *Error) {
	if !bytes.Contains(body, []byte(`"system"`)) {
		return body, nil
	}
	var req map[string]json.RawMessage
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, NewError(400, "invalid_request_error", "Invalid JSON in request body: "+err.Error(), "")
	}
	var msgs []json.RawMessage
	if err := json.Unmarshal(req["messages"], &msgs); err != nil || len(msgs) == 0 {
		return body, nil // the translators report a bad messages field
	}
	type message struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	}
	parsed := make([]message, len(msgs))
	hasSystem := false
	for i, raw := range msgs {
		_ = json.Unmarshal(raw, &parsed[i])
		hasSystem = hasSystem || parsed[i].Role == "system"
	}
	if !hasSystem {
		return body, nil
	}
	out := make([]json.RawMessage, 0, len(msgs))
	for i := 0; i < len(msgs); i++ {
		m := parsed[i]
		if m.Role != "system" {
			out = append(out, msgs[i])
			continue
		}
		if i == len(msgs)-1 || parsed[i+1].Role == "system" {
			u, _ := json.Marshal(struct {
				Role    string          `json:"role"`
				Content json.RawMessage `json:"content"`
			}{"user", orNull(m.Content)})
			out = append(out, u)
			continue
		}
		next := parsed[i+1]
		if next.Role != "user" && next.Role != "assistant" {
			continue // LiteLLM drops it
		}
		var sys, own string
		if json.Unmarshal(m.Content, &sys) != nil || json.Unmarshal(next.Content, &own) != nil || isNull(m.Content) || isNull(next.Content) {
			return nil, NewError(400, "invalid_request_error", "supports_system_message: false merges a system message into the next message's text; both contents must be strings", "messages")
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(msgs[i+1], &fields); err != nil {
			return nil, NewError(400, "invalid_request_error", "Invalid message: "+err.Error(), "messages")
		}
		fields["content"], _ = json.Marshal(sys + " " + own)
		merged, _ := json.Marshal(fields)
		msgs[i+1] = merged
		parsed[i+1].Content = fields["content"]
	}
	req["messages"], _ = json.Marshal(out)
	b, err := json.Marshal(req)
	if err != nil {
		return nil, NewError(400, "invalid_request_error", err.Error(), "")
	}
	return b, nil
}

func isNull(r json.RawMessage) bool { return len(r) == 0 || string(r) == "null" }

func orNull(r json.RawMessage) json.RawMessage {
	if len(r) == 0 {
		return json.RawMessage("null")
	}
	return r
}
