package translator

import (
	"strings"
	"unicode"

	"github.com/tidwall/gjson"
)

// LiteLLM's request mending for Anthropic-shaped requests (litellm 1.109's
// prompt_templates/factory.py anthropic_messages_pt and
// sanitize_messages_for_tool_calling, llms/anthropic/chat/transformation.py),
// D148:
//
//   - Always, whatever modify_params: an empty or whitespace-only text of a
//     user or assistant message becomes emptyTextPlaceholder (an assistant
//     message that also calls a tool loses the empty text instead), and a run
//     of user/tool messages whose only user message has no content becomes a
//     user turn holding the placeholder.
//   - With litellm_settings.modify_params (Target.ModifyParams): an assistant
//     message's tool calls without results get a tool message each
//     (toolSkippedResult), a tool result whose tool_call_id the latest
//     assistant message did not call is removed, repeated results of one call
//     within a turn keep the last; no message but system ones becomes a "Please
//     continue." user message (else LiteLLM's 400, noUserMessageError); thinking is
//     not sent when the last assistant message with tool calls carries no
//     thinking_blocks and none does.

// emptyTextPlaceholder is LiteLLM's _EMPTY_TEXT_PLACEHOLDER.
const emptyTextPlaceholder = "[System: Empty message content sanitised to satisfy protocol]"

// userContinueMessage is LiteLLM's DEFAULT_USER_CONTINUE_MESSAGE's content.
const userContinueMessage = "Please continue."

// noUserMessageError is LiteLLM's BadRequestError when an Anthropic request
// has no message but system ones and modify_params is off.
func noUserMessageError() *Error {
	return NewError(400, "invalid_request_error", "litellm.BadRequestError: Anthropic requires at least one non-system message. Either provide one, or set `litellm.modify_params = True` // `litellm_settings::modify_params: True` to add the dummy user message - {'role': 'user', 'content': 'Please continue.'}.", "messages")
}

// pyBlank is Python's not s.strip(): only whitespace (Python's, which also
// counts the information separators U+001C..U+001F).
func pyBlank(s string) bool {
	return strings.TrimFunc(s, func(r rune) bool { return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f) }) == ""
}

// toolCallSurvives is LiteLLM's _tool_call_survives_conversion for the tool
// calls llmgate reads: a call of type "function".
func toolCallSurvives(tc ToolCall) bool { return tc.Type == "function" }

// sanitizeEmptyText is LiteLLM's _sanitize_empty_text_content (Case C).
func sanitizeEmptyText(m Message) Message {
	if m.Role != "user" && m.Role != "assistant" {
		return m
	}
	drop := false
	if m.Role == "assistant" {
		for _, tc := range m.ToolCalls {
			drop = drop || toolCallSurvives(tc)
		}
	}
	c := m.Content
	switch {
	case c.Null:
		return m
	case !c.IsParts:
		if !pyBlank(c.Text) {
			return m
		}
		if drop {
			m.Content = Content{Null: true}
		} else {
			m.Content = Content{Text: emptyTextPlaceholder}
		}
		return m
	}
	empty := false
	for _, p := range c.Parts {
		empty = empty || (p.Type == "text" && pyBlank(p.Text))
	}
	if !empty {
		return m
	}
	parts := make([]ContentPart, 0, len(c.Parts))
	for _, p := range c.Parts {
		if p.Type == "text" && pyBlank(p.Text) {
			if drop {
				continue
			}
			p.Text = emptyTextPlaceholder
		}
		parts = append(parts, p)
	}
	m.Content = Content{Parts: parts, IsParts: true}
	return m
}

// toolSkippedResult is the content of the tool message LiteLLM adds for a
// tool call without a result (_add_missing_tool_results).
func toolSkippedResult(name string) string {
	return "[System: Tool execution skipped/interrupted by user. No result provided for tool '" + name + "'.]"
}

func isToolResult(m Message) bool { return m.Role == "tool" || m.Role == "function" }

// pairToolCalls is LiteLLM's sanitize_messages_for_tool_calling under
// modify_params, on the messages other than system ones: empty texts
// (Case C), missing results added (A), orphaned results removed (B),
// repeated results of one call in a turn reduced to the last (D). It keeps
// LiteLLM's quirks: the messages after an assistant message whose results
// are completed are skipped by count, and a missing result's tool name is
// "unknown_tool" when the call names none.
func pairToolCalls(in []Message) []Message {
	out := make([]Message, 0, len(in)+2)
	var latest map[string]bool // the tool call ids of the latest assistant message before i
	for i := 0; i < len(in); {
		cur := sanitizeEmptyText(in[i])
		before := latest
		if cur.Role == "assistant" {
			latest = map[string]bool{}
			for _, tc := range in[i].ToolCalls {
				if tc.ID != "" {
					latest[tc.ID] = true
				}
			}
			if len(latest) > 0 {
				found := map[string]bool{}
				var results []Message
				for j := i + 1; j < len(in) && in[j].Role != "assistant"; j++ {
					if isToolResult(in[j]) && in[j].ToolCallID != "" && latest[in[j].ToolCallID] {
						found[in[j].ToolCallID] = true
						results = append(results, in[j])
					}
				}
				if len(found) < len(latest) {
					out = append(out, cur)
					out = append(out, results...)
					added := map[string]bool{}
					for _, tc := range in[i].ToolCalls {
						if tc.ID == "" || found[tc.ID] || added[tc.ID] {
							continue
						}
						added[tc.ID] = true
						name := tc.Function.Name
						if name == "" {
							name = "unknown_tool"
						}
						out = append(out, Message{Role: "tool", ToolCallID: tc.ID, Content: Content{Text: toolSkippedResult(name)}})
					}
					i += 1 + len(results)
					continue
				}
			}
		}
		if isToolResult(cur) && cur.ToolCallID != "" && !before[cur.ToolCallID] {
			i++ // Case B: a result of no call of the latest assistant message
			continue
		}
		out = append(out, cur)
		i++
	}
	// Case D: within a block of tool results, the last result of a call wins.
	drop := map[int]bool{}
	seen := map[string]int{}
	for i, m := range out {
		switch {
		case isToolResult(m) && m.ToolCallID != "":
			if j, ok := seen[m.ToolCallID]; ok {
				drop[j] = true
			}
			seen[m.ToolCallID] = i
		case !isToolResult(m):
			clear(seen)
		}
	}
	if len(drop) == 0 {
		return out
	}
	kept := out[:0:0]
	for i, m := range out {
		if !drop[i] {
			kept = append(kept, m)
		}
	}
	return kept
}

// mendAnthropicMessages is what LiteLLM does to the messages of an
// Anthropic request before converting them: with modify_params, the tool
// calls paired with their results (pairToolCalls) on the non-system
// messages, and a "Please continue." user message when there is none.
// Without modify_params a request of system messages only is LiteLLM's 400.
func mendAnthropicMessages(in []Message, modify bool) ([]Message, *Error) {
	n := 0
	for _, m := range in {
		if m.Role != "system" && m.Role != "developer" {
			n++
		}
	}
	if !modify {
		if n == 0 {
			return nil, noUserMessageError()
		}
		return in, nil
	}
	sys := make([]Message, 0, len(in)-n)
	rest := make([]Message, 0, n)
	for _, m := range in {
		if m.Role == "system" || m.Role == "developer" {
			sys = append(sys, m)
		} else {
			rest = append(rest, m)
		}
	}
	rest = pairToolCalls(rest)
	if len(rest) == 0 {
		rest = append(rest, Message{Role: "user", Content: Content{Text: userContinueMessage}})
	}
	return append(sys, rest...), nil
}

// dropThinkingForToolCalls is LiteLLM's modify_params rule for thinking:
// not sent when the last assistant message with tool_calls carries no
// thinking_blocks and no assistant message carries any (Anthropic would
// refuse the tool_use without its thinking). messages is the request's
// raw messages array.
func dropThinkingForToolCalls(messages []byte) bool {
	last, any := -1, false
	for i, m := range gjson.ParseBytes(messages).Array() {
		if m.Get("role").String() != "assistant" {
			continue
		}
		tb := m.Get("thinking_blocks")
		has := tb.Exists() && tb.Type != gjson.Null && !(tb.IsArray() && len(tb.Array()) == 0)
		any = any || has
		if tc := m.Get("tool_calls"); tc.Exists() && tc.Type != gjson.Null {
			last = i
			if has {
				last = -2
			}
		}
	}
	return last >= 0 && !any
}
