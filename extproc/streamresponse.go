package extproc

import (
	"bytes"
	"encoding/json"
	"sort"
)

// maxStoredStream bounds the streamed answer kept for a spend log's
// response (store_prompts_in_spend_logs); a longer one is stored as {}.
const maxStoredStream = 8 << 20

// streamResponse assembles a streamed chat completion, as the client got
// it, into the answer LiteLLM stores in a spend log's response for a
// stream (its complete_streaming_response: object chat.completion, each
// choice's message with the deltas' content and tool calls joined, the last
// finish_reason and usage) (D128). nil when the stream had no
// chat.completion.chunk.
func streamResponse(sse []byte) []byte {
	type toolCall struct {
		ID       string `json:"id,omitempty"`
		Type     string `json:"type,omitempty"`
		Function struct {
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
		} `json:"function"`
	}
	type message struct {
		Content   *string    `json:"content"`
		Role      string     `json:"role"`
		ToolCalls []toolCall `json:"tool_calls,omitempty"`
	}
	type choice struct {
		FinishReason *string `json:"finish_reason"`
		Index        int     `json:"index"`
		Message      message `json:"message"`
		tools        map[int]*toolCall
	}
	var out struct {
		ID                string          `json:"id"`
		Created           int64           `json:"created"`
		Model             string          `json:"model"`
		Object            string          `json:"object"`
		SystemFingerprint *string         `json:"system_fingerprint"`
		Choices           []*choice       `json:"choices"`
		Usage             json.RawMessage `json:"usage,omitempty"`
	}
	choices := map[int]*choice{}
	seen := false
	for _, line := range bytes.Split(sse, []byte("\n")) {
		d, ok := bytes.CutPrefix(bytes.TrimRight(line, "\r"), []byte("data:"))
		if !ok {
			continue
		}
		d = bytes.TrimSpace(d)
		if len(d) == 0 || d[0] != '{' {
			continue
		}
		var c struct {
			ID                string          `json:"id"`
			Object            string          `json:"object"`
			Created           int64           `json:"created"`
			Model             string          `json:"model"`
			SystemFingerprint *string         `json:"system_fingerprint"`
			Usage             json.RawMessage `json:"usage"`
			Choices           []struct {
				Index int `json:"index"`
				Delta struct {
					Role      string  `json:"role"`
					Content   *string `json:"content"`
					ToolCalls []struct {
						Index    int    `json:"index"`
						ID       string `json:"id"`
						Type     string `json:"type"`
						Function struct {
							Name      string `json:"name"`
							Arguments string `json:"arguments"`
						} `json:"function"`
					} `json:"tool_calls"`
				} `json:"delta"`
				FinishReason *string `json:"finish_reason"`
			} `json:"choices"`
		}
		if json.Unmarshal(d, &c) != nil || c.Object != "chat.completion.chunk" {
			continue
		}
		seen = true
		if out.ID == "" {
			out.ID, out.Created, out.Model = c.ID, c.Created, c.Model
		}
		if c.SystemFingerprint != nil {
			out.SystemFingerprint = c.SystemFingerprint
		}
		if len(c.Usage) > 0 && string(c.Usage) != "null" {
			out.Usage = c.Usage
		}
		for _, ch := range c.Choices {
			x := choices[ch.Index]
			if x == nil {
				x = &choice{Index: ch.Index, Message: message{Role: "assistant"}, tools: map[int]*toolCall{}}
				choices[ch.Index] = x
			}
			if ch.Delta.Role != "" {
				x.Message.Role = ch.Delta.Role
			}
			if ch.Delta.Content != nil {
				s := ""
				if x.Message.Content != nil {
					s = *x.Message.Content
				}
				s += *ch.Delta.Content
				x.Message.Content = &s
			}
			for _, tc := range ch.Delta.ToolCalls {
				t := x.tools[tc.Index]
				if t == nil {
					t = &toolCall{}
					x.tools[tc.Index] = t
				}
				if tc.ID != "" {
					t.ID = tc.ID
				}
				if tc.Type != "" {
					t.Type = tc.Type
				}
				t.Function.Name += tc.Function.Name
				t.Function.Arguments += tc.Function.Arguments
			}
			if ch.FinishReason != nil {
				x.FinishReason = ch.FinishReason
			}
		}
	}
	if !seen {
		return nil
	}
	out.Object = "chat.completion"
	for _, x := range choices {
		idx := make([]int, 0, len(x.tools))
		for i := range x.tools {
			idx = append(idx, i)
		}
		sort.Ints(idx)
		for _, i := range idx {
			x.Message.ToolCalls = append(x.Message.ToolCalls, *x.tools[i])
		}
		out.Choices = append(out.Choices, x)
	}
	sort.Slice(out.Choices, func(i, j int) bool { return out.Choices[i].Index < out.Choices[j].Index })
	b, err := json.Marshal(&out)
	if err != nil {
		return nil
	}
	return b
}
