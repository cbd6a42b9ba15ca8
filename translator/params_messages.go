package translator

// The litellm_params that rewrite a chat request's messages before the call
// (docs/architecture.md D119): ensure_alternating_roles with
// user_continue_message / assistant_continue_message, as LiteLLM's
// get_completion_messages, and cache_control_injection_points, as LiteLLM's
// AnthropicCacheControlHook. Each runs on the OpenAI body, before the
// translator; a deployment that sets none of them never comes here.

import (
	"bytes"
	"encoding/json"

	"github.com/llmgate/llmgate/internal/msgparams"
)

// maxCacheControlBlocks is Anthropic's limit on cache_control breakpoints in
// one request; LiteLLM injects no more than that, counting the client's.
const maxCacheControlBlocks = 4

var (
	defaultUserContinue      = json.RawMessage(`{"role":"user","content":"Please continue."}`)
	defaultAssistantContinue = json.RawMessage(`{"role":"assistant","content":"Please continue."}`)
	ephemeralControl         = json.RawMessage(`{"type":"ephemeral"}`)
)

// chatMessage is what the rewrites read of one message; raw is the message
// as sent and is rewritten only when a mark is added.
type chatMessage struct {
	raw          json.RawMessage
	role         string
	hasToolCalls bool
}

// RewriteMessages applies p to a chat body's messages: the alternation
// first, then — when cacheControl is set (Anthropic deployments) — the
// cache_control marks (LiteLLM's order in completion()). A body whose
// messages need no change is returned as it is.
func RewriteMessages(body []byte, p *msgparams.Params, cacheControl bool) ([]byte, *Error) {
	var points []msgparams.CacheControlPoint
	if p != nil && cacheControl {
		points = p.CacheControl
	}
	if p == nil || (!p.EnsureAlternatingRoles && len(points) == 0) {
		return body, nil
	}
	var req map[string]json.RawMessage
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, NewError(400, "invalid_request_error", "Invalid JSON in request body: "+err.Error(), "")
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(req["messages"], &raws); err != nil || len(raws) == 0 {
		return body, nil // the translators report a bad messages field
	}
	msgs := make([]chatMessage, len(raws))
	for i, raw := range raws {
		msgs[i] = readMessage(raw)
	}
	changed := false
	if p.EnsureAlternatingRoles {
		var c bool
		msgs, c = alternateRoles(msgs, orDefault(p.UserContinue, defaultUserContinue), orDefault(p.AssistantContinue, defaultAssistantContinue))
		changed = changed || c
	}
	if len(points) > 0 {
		changed = injectCacheControl(msgs, points) || changed
	}
	if !changed {
		return body, nil
	}
	out := make([]json.RawMessage, len(msgs))
	for i, m := range msgs {
		out[i] = m.raw
	}
	req["messages"], _ = json.Marshal(out)
	b, err := json.Marshal(req)
	if err != nil {
		return nil, NewError(400, "invalid_request_error", err.Error(), "")
	}
	return b, nil
}

func orDefault(m, def json.RawMessage) json.RawMessage {
	if len(m) == 0 || string(m) == "{}" || string(m) == "null" {
		return def
	}
	return m
}

// truthyJSON is Python's bool() of a decoded JSON value: null, false, 0, ""
// and empty lists and objects are false.
func truthyJSON(v json.RawMessage) bool {
	s := string(bytes.TrimSpace(v))
	switch s {
	case "", "null", "false", "0", `""`, "[]", "{}":
		return false
	}
	if s[0] == '[' || s[0] == '{' {
		var x any
		if json.Unmarshal(v, &x) == nil {
			switch x := x.(type) {
			case []any:
				return len(x) > 0
			case map[string]any:
				return len(x) > 0
			}
		}
	}
	return true
}

// readMessage is a message as the rewrites read it (its role and
// whether it carries tool calls).
func readMessage(raw json.RawMessage) chatMessage {
	var m struct {
		Role      string          `json:"role"`
		ToolCalls json.RawMessage `json:"tool_calls"`
	}
	_ = json.Unmarshal(raw, &m)
	return chatMessage{raw: raw, role: m.Role, hasToolCalls: truthyJSON(m.ToolCalls)}
}

// countsForAlternation is LiteLLM's _counts_for_alternation: user turns, and
// assistant turns without tool calls.
func (m chatMessage) countsForAlternation() bool {
	return m.role == "user" || (m.role == "assistant" && !m.hasToolCalls)
}

// alternateRoles is LiteLLM's get_completion_messages with
// ensure_alternating_roles: the user continue message goes before a first
// assistant message, between two counted assistant turns and after a last
// assistant message; then the assistant continue message goes between two
// counted user turns (tool messages and assistant tool calls in between are
// skipped).
func alternateRoles(msgs []chatMessage, userCont, asstCont json.RawMessage) ([]chatMessage, bool) {
	user, asst := readMessage(userCont), readMessage(asstCont)
	n := len(msgs)
	res := make([]chatMessage, 0, n+2)
	if msgs[0].role == "assistant" {
		res = append(res, user)
	}
	res = append(res, msgs...)
	for i := 1; i < len(res); i++ {
		cur := res[i]
		if !cur.countsForAlternation() || cur.role != "assistant" {
			continue
		}
		insert := res[i-1].role == "assistant"
		if !insert {
			for j := i - 1; j >= 0; j-- {
				if res[j].countsForAlternation() {
					insert = res[j].role == "assistant"
					break
				}
			}
		}
		if insert {
			res = append(res[:i], append([]chatMessage{user}, res[i:]...)...)
			i++ // past the inserted message; the loop steps past cur
		}
	}
	if res[len(res)-1].role == "assistant" {
		res = append(res, user)
	}
	if len(res) > 1 {
		out := make([]chatMessage, 0, len(res)+2)
		for i, cur := range res {
			if cur.countsForAlternation() && cur.role == "user" {
				for j := i - 1; j >= 0; j-- {
					if res[j].countsForAlternation() {
						if res[j].role == "user" {
							out = append(out, asst)
						}
						break
					}
				}
			}
			out = append(out, cur)
		}
		res = out
	}
	return res, len(res) != n
}

// injectCacheControl is LiteLLM's _apply_message_injections: the points in
// config order, each message they name marked unless it already carries a
// mark, at most maxCacheControlBlocks marks in all (the client's counted).
// A string content gets the mark on the message, a list content on its last
// part (when that is an object).
func injectCacheControl(msgs []chatMessage, points []msgparams.CacheControlPoint) bool {
	used := 0
	for _, m := range msgs {
		used += cacheMarks(m.raw)
	}
	changed := false
	for _, pt := range points {
		if used >= maxCacheControlBlocks {
			break
		}
		control := pt.Control
		if len(control) == 0 {
			control = ephemeralControl
		}
		for _, i := range cacheTargets(pt, msgs) {
			if used >= maxCacheControlBlocks {
				break
			}
			if cacheMarks(msgs[i].raw) > 0 {
				continue
			}
			if raw, ok := withCacheControl(msgs[i].raw, control); ok {
				msgs[i].raw = raw
				used++
				changed = true
			}
		}
	}
	return changed
}

// cacheTargets are the indexes a point names: its index (negative from the
// end; out of range: none), else every message of its role.
func cacheTargets(pt msgparams.CacheControlPoint, msgs []chatMessage) []int {
	if pt.Index != nil {
		i := *pt.Index
		if i < 0 {
			i += len(msgs)
		}
		if i < 0 || i >= len(msgs) {
			return nil
		}
		return []int{i}
	}
	if pt.Role == "" {
		return nil
	}
	var out []int
	for i, m := range msgs {
		if m.role == pt.Role {
			out = append(out, i)
		}
	}
	return out
}

// cacheMarks counts a message's cache_control marks: on the message, on its
// content parts and on its tool calls.
func cacheMarks(raw json.RawMessage) int {
	if !bytes.Contains(raw, []byte(`"cache_control"`)) {
		return 0
	}
	var m struct {
		CacheControl json.RawMessage `json:"cache_control"`
		Content      json.RawMessage `json:"content"`
		ToolCalls    []struct {
			CacheControl json.RawMessage `json:"cache_control"`
		} `json:"tool_calls"`
	}
	if json.Unmarshal(raw, &m) != nil {
		return 0
	}
	n := 0
	if !isNull(m.CacheControl) {
		n++
	}
	var parts []struct {
		CacheControl json.RawMessage `json:"cache_control"`
	}
	if json.Unmarshal(m.Content, &parts) == nil {
		for _, p := range parts {
			if !isNull(p.CacheControl) {
				n++
			}
		}
	}
	for _, tc := range m.ToolCalls {
		if !isNull(tc.CacheControl) {
			n++
		}
	}
	return n
}

// withCacheControl marks one message; ok is false when its content is
// neither a string nor a list ending in an object (LiteLLM leaves it).
func withCacheControl(raw, control json.RawMessage) (json.RawMessage, bool) {
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil {
		return raw, false
	}
	content := bytes.TrimSpace(fields["content"])
	switch {
	case len(content) > 0 && content[0] == '"':
		fields["cache_control"] = control
	case len(content) > 0 && content[0] == '[':
		var parts []json.RawMessage
		if json.Unmarshal(content, &parts) != nil || len(parts) == 0 {
			return raw, false
		}
		var last map[string]json.RawMessage
		if json.Unmarshal(parts[len(parts)-1], &last) != nil || last == nil {
			return raw, false
		}
		last["cache_control"] = control
		parts[len(parts)-1], _ = json.Marshal(last)
		fields["content"], _ = json.Marshal(parts)
	default:
		return raw, false
	}
	b, err := json.Marshal(fields)
	if err != nil {
		return raw, false
	}
	return b, true
}
