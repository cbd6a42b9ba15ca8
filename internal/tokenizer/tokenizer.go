package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/pkoukk/tiktoken-go"
	tiktokenloader "github.com/pkoukk/tiktoken-go-loader"
)

// Encoding names.
const (
	O200K    = "o200k_base"
	CL100K   = "cl100k_base"
	Estimate = "estimate" // ceil(chars/4)
)

// OpenAI chat overhead (gpt-3.5-turbo-0613 and later).
const (
	tokensPerMessage = 3
	tokensPerName    = 1
	tokensReplyPrime = 3
	tokensPerImage   = 85
)

var (
	loaderOnce sync.Once
	encMu      sync.Mutex
	encs       = map[string]*encoding{}
)

type encoding struct {
	once sync.Once
	tk   *tiktoken.Tiktoken
	err  error
}

func getEncoding(name string) (*tiktoken.Tiktoken, error) {
	loaderOnce.Do(func() { tiktoken.SetBpeLoader(tiktokenloader.NewOfflineLoader()) })
	encMu.Lock()
	e, ok := encs[name]
	if !ok {
		e = &encoding{}
		encs[name] = e
	}
	encMu.Unlock()
	e.once.Do(func() {
		e.tk, e.err = tiktoken.GetEncoding(name)
		if e.err != nil {
			e.err = fmt.Errorf("tokenizer %s: %w", name, e.err)
		}
	})
	return e.tk, e.err
}

// EncodingFor names the encoding used for a model ("provider/model" or bare).
func EncodingFor(model string) string {
	m := strings.ToLower(model)
	if i := strings.LastIndexByte(m, '/'); i >= 0 {
		m = m[i+1:]
	}
	switch {
	case strings.HasPrefix(m, "gpt-4o"), strings.HasPrefix(m, "chatgpt-4o"), strings.HasPrefix(m, "gpt-4.1"),
		strings.HasPrefix(m, "gpt-4.5"), strings.HasPrefix(m, "gpt-5"), strings.HasPrefix(m, "o1"),
		strings.HasPrefix(m, "o3"), strings.HasPrefix(m, "o4"), strings.HasPrefix(m, "gpt-oss"):
		return O200K
	case strings.HasPrefix(m, "gpt-4"), strings.HasPrefix(m, "gpt-3.5"), strings.HasPrefix(m, "gpt-35"),
		strings.HasPrefix(m, "text-embedding-"):
		return CL100K
	}
	return Estimate
}

// counter counts the tokens of one text.
type counter func(string) int

func counterFor(model string) counter {
	name := EncodingFor(model)
	if name != Estimate {
		if tk, err := getEncoding(name); err == nil {
			return func(s string) int { return len(tk.EncodeOrdinary(s)) }
		}
	}
	return estimate
}

func estimate(s string) int { return (len([]rune(s)) + 3) / 4 }

// CountText counts the tokens of a plain text for a model.
func CountText(model, text string) int { return counterFor(model)(text) }

// Message is one chat message, reduced to what is counted.
type Message struct {
	Role    string
	Name    string
	Texts   []string // text content parts, tool call names and arguments
	Images  int      // image parts
	Refusal string
}

// CountMessages counts chat messages with OpenAI's per-message overhead.
func CountMessages(model string, msgs []Message) int {
	c := counterFor(model)
	n := tokensReplyPrime
	for _, m := range msgs {
		n += tokensPerMessage + c(m.Role)
		if m.Name != "" {
			n += tokensPerName + c(m.Name)
		}
		for _, t := range m.Texts {
			n += c(t)
		}
		n += m.Images * tokensPerImage
	}
	return n
}

// chatRequest is the part of an OpenAI chat request that is counted.
type chatRequest struct {
	Model    string            `json:"model"`
	Messages []json.RawMessage `json:"messages"`
	Tools    json.RawMessage   `json:"tools"`
	Input    json.RawMessage   `json:"input"`  // embeddings
	Prompt   json.RawMessage   `json:"prompt"` // completions
}

type rawMessage struct {
	Role      string          `json:"role"`
	Name      string          `json:"name"`
	Content   json.RawMessage `json:"content"`
	ToolCalls []struct {
		Function struct {
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
		} `json:"function"`
	} `json:"tool_calls"`
}

type contentPart struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// RequestBound is at least CountRequest's count of body, for any model
// (D95): every counted text is a JSON string of the body (its decoded bytes
// no more than its escaped ones) and every encoding's token at least one
// byte (the estimate's a quarter of a character), a message's overhead
// (tokensPerMessage, tokensPerName) is less than its JSON object's own
// bytes, a pre-tokenized id at least one byte, and every image (a part whose
// type names "image") counts tokensPerImage.
func RequestBound(body []byte) int {
	return len(body) + tokensReplyPrime + tokensPerImage*bytes.Count(body, []byte("image"))
}

// CountRequest counts the input tokens of an OpenAI request body (chat
// completions, completions or embeddings) for a model; model "" uses the
// body's model.
func CountRequest(model string, body []byte) (int, error) {
	var req chatRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return 0, fmt.Errorf("count tokens: %w", err)
	}
	if model == "" {
		model = req.Model
	}
	c := counterFor(model)
	if len(req.Messages) == 0 {
		// completions prompt or embeddings input: a string or a list of strings.
		n := 0
		for _, raw := range []json.RawMessage{req.Prompt, req.Input} {
			n += countStrings(c, raw)
		}
		return n, nil
	}
	msgs := make([]Message, 0, len(req.Messages))
	for i, raw := range req.Messages {
		var rm rawMessage
		if err := json.Unmarshal(raw, &rm); err != nil {
			return 0, fmt.Errorf("count tokens: messages[%d]: %w", i, err)
		}
		m := Message{Role: rm.Role, Name: rm.Name}
		if len(rm.Content) > 0 && rm.Content[0] == '"' {
			var s string
			if err := json.Unmarshal(rm.Content, &s); err != nil {
				return 0, fmt.Errorf("count tokens: messages[%d].content: %w", i, err)
			}
			m.Texts = append(m.Texts, s)
		} else if len(rm.Content) > 0 && rm.Content[0] == '[' {
			var parts []contentPart
			if err := json.Unmarshal(rm.Content, &parts); err != nil {
				return 0, fmt.Errorf("count tokens: messages[%d].content: %w", i, err)
			}
			for _, p := range parts {
				switch p.Type {
				case "image_url", "input_image", "image":
					m.Images++
				default:
					if p.Text != "" {
						m.Texts = append(m.Texts, p.Text)
					}
				}
			}
		}
		for _, tc := range rm.ToolCalls {
			m.Texts = append(m.Texts, tc.Function.Name, tc.Function.Arguments)
		}
		msgs = append(msgs, m)
	}
	n := CountMessages(model, msgs)
	if len(req.Tools) > 0 && string(req.Tools) != "null" {
		n += c(string(req.Tools))
	}
	return n, nil
}

func countStrings(c counter, raw json.RawMessage) int {
	if len(raw) == 0 {
		return 0
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return c(s)
	}
	var ss []string
	if json.Unmarshal(raw, &ss) == nil {
		n := 0
		for _, x := range ss {
			n += c(x)
		}
		return n
	}
	var ids []int // pre-tokenized input
	if json.Unmarshal(raw, &ids) == nil {
		return len(ids)
	}
	var idss [][]int
	if json.Unmarshal(raw, &idss) == nil {
		n := 0
		for _, x := range idss {
			n += len(x)
		}
		return n
	}
	return 0
}
