package translator

import (
	"encoding/json"
	"strings"
	"testing"
)

// sseStream emits its events one Feed at a time.
type sseStream struct{ events []string }

func (s *sseStream) Feed([]byte, bool) ([]byte, error) {
	if len(s.events) == 0 {
		return nil, nil
	}
	ev := s.events[0]
	s.events = s.events[1:]
	return WriteSSE(nil, "", []byte(ev)), nil
}
func (s *sseStream) Usage() Usage         { return Usage{} }
func (s *sseStream) FinishReason() string { return "" }

func TestMergeReasoningStream(t *testing.T) {
	delta := func(d string) string { return `{"id":"c","choices":[{"index":0,"delta":` + d + `}]}` }
	in := []string{
		delta(`{"role":"assistant","content":""}`),
		delta(`{"reasoning_content":"Let me"}`),
		delta(`{"reasoning_content":" think."}`),
		delta(`{"content":"Hi"}`),
		delta(`{"content":" there"}`),
		`{"id":"c","choices":[],"usage":{"prompt_tokens":1}}`,
		`[DONE]`,
	}
	st := MergeReasoningStream(&sseStream{events: append([]string(nil), in...)})
	var contents []string
	var raw strings.Builder
	for range in {
		out, err := st.Feed(nil, false)
		if err != nil {
			t.Fatal(err)
		}
		raw.Write(out)
		var p SSEParser
		for _, ev := range p.Feed(out, true) {
			var c struct {
				Choices []struct {
					Delta struct {
						Content *string `json:"content"`
					} `json:"delta"`
				} `json:"choices"`
			}
			if json.Unmarshal(ev.Data, &c) == nil && len(c.Choices) > 0 && c.Choices[0].Delta.Content != nil {
				contents = append(contents, *c.Choices[0].Delta.Content)
			}
		}
	}
	if got, want := strings.Join(contents, "|"), "|<think>Let me| think.|</think>Hi| there"; got != want {
		t.Errorf("contents %q, want %q", got, want)
	}
	if strings.Contains(raw.String(), "reasoning_content") {
		t.Errorf("reasoning_content left in the stream:\n%s", raw.String())
	}
	if !strings.Contains(raw.String(), "data: [DONE]") || !strings.Contains(raw.String(), `"usage":{"prompt_tokens":1}`) {
		t.Errorf("other events changed:\n%s", raw.String())
	}
}
