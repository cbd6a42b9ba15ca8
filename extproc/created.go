package extproc

import (
	"bytes"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// stampChunks fills a zero "created" in every SSE data event of a translated
// stream with created: Anthropic, Bedrock, Cohere and Gemini send no
// timestamp, and translators have no clock. The attempt filter takes the time
// once, when the stream starts, so every chunk of a stream carries the same
// one, as OpenAI's do. A provider's own timestamp is kept.
func stampChunks(out []byte, created int64) []byte {
	if !bytes.Contains(out, []byte(`"created"`)) {
		return out
	}
	var b []byte
	rest := out
	for len(rest) > 0 {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i+1], rest[i+1:]
		} else {
			rest = nil
		}
		if data, ok := bytes.CutPrefix(line, []byte("data:")); ok && bytes.Contains(data, []byte(`"created"`)) {
			payload := bytes.TrimSpace(data)
			if c := gjson.GetBytes(payload, "created"); c.Type == gjson.Number && c.Int() == 0 {
				if stamped, err := sjson.SetBytes(payload, "created", created); err == nil {
					b = append(b, "data: "...)
					b = append(b, stamped...)
					b = append(b, line[len(bytes.TrimRight(line, "\r\n")):]...) // the line's own ending
					continue
				}
			}
		}
		b = append(b, line...)
	}
	return b
}
