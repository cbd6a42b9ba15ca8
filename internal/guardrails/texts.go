package guardrails

import (
	"bytes"
	"encoding/json"

	"github.com/llmgate/llmgate/translator"
)

// document is a request or an answer read for its texts: the messages'
// text contents (a string content, or the text parts of a list) of a chat
// or Messages request, the choices' message contents of an answer. Every
// other byte stays as it was: only the changed messages or choices are
// re-encoded.
type document struct {
	top   map[string]json.RawMessage
	field string                       // "messages" or "choices"
	items []map[string]json.RawMessage // the messages, or the choices' messages
	slots []slot
	dirty map[int]bool
	// answerChoices are an answer's choices (items are their messages).
	answerChoices []map[string]json.RawMessage
}

// slot is one text: items[item] content (part < 0) or its content's part.
type slot struct {
	item, part int
	text       string
	parts      []map[string]json.RawMessage
}

// maxTexts bounds the texts read from one body.
const maxTexts = 4096

func readTop(in []byte) (map[string]json.RawMessage, error) {
	var top map[string]json.RawMessage
	d := json.NewDecoder(bytes.NewReader(in))
	d.UseNumber()
	if err := d.Decode(&top); err != nil {
		return nil, err
	}
	return top, nil
}

// readRequest reads a chat (or Messages) request's messages.
func readRequest(in []byte) (*document, error) {
	top, err := readTop(in)
	if err != nil {
		return nil, err
	}
	d := &document{top: top, field: "messages", dirty: map[int]bool{}}
	raw, ok := top["messages"]
	if !ok {
		return d, nil
	}
	if err := json.Unmarshal(raw, &d.items); err != nil {
		return nil, err
	}
	for i, m := range d.items {
		d.addContent(i, m)
	}
	return d, nil
}

// readAnswer reads an answer's choices[].message contents.
func readAnswer(in []byte) (*document, error) {
	top, err := readTop(in)
	if err != nil {
		return nil, err
	}
	d := &document{top: top, field: "choices", dirty: map[int]bool{}}
	var choices []map[string]json.RawMessage
	if raw, ok := top["choices"]; ok {
		if err := json.Unmarshal(raw, &choices); err != nil {
			return nil, err
		}
	}
	for i, c := range choices {
		var m map[string]json.RawMessage
		if raw, ok := c["message"]; ok && json.Unmarshal(raw, &m) == nil && m != nil {
			d.items = append(d.items, m)
			d.addContent(i, m)
		} else {
			d.items = append(d.items, nil)
		}
	}
	d.answerChoices = choices
	return d, nil
}

func (d *document) addContent(i int, m map[string]json.RawMessage) {
	raw, ok := m["content"]
	if !ok || len(d.slots) >= maxTexts {
		return
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		d.slots = append(d.slots, slot{item: i, part: -1, text: s})
		return
	}
	var parts []map[string]json.RawMessage
	if json.Unmarshal(raw, &parts) != nil {
		return
	}
	for j, p := range parts {
		var typ, text string
		_ = json.Unmarshal(p["type"], &typ)
		if typ != "text" || json.Unmarshal(p["text"], &text) != nil || len(d.slots) >= maxTexts {
			continue
		}
		d.slots = append(d.slots, slot{item: i, part: j, text: text, parts: parts})
	}
}

func (d *document) texts() []string {
	out := make([]string, len(d.slots))
	for i, s := range d.slots {
		out[i] = s.text
	}
	return out
}

// set replaces text i.
func (d *document) set(i int, text string) {
	s := &d.slots[i]
	s.text = text
	d.dirty[s.item] = true
}

// messages are the request's messages as role and text content (the
// generic guardrail API's structured_messages).
func (d *document) messages() []map[string]any {
	if d.field != "messages" {
		return nil
	}
	out := make([]map[string]any, 0, len(d.items))
	for _, m := range d.items {
		var role string
		_ = json.Unmarshal(m["role"], &role)
		var content any
		_ = json.Unmarshal(m["content"], &content)
		out = append(out, map[string]any{"role": role, "content": content})
	}
	return out
}

// encode writes the document back with its changed texts.
func (d *document) encode() ([]byte, *translator.Error) {
	fail := func(err error) ([]byte, *translator.Error) {
		return nil, translator.NewError(500, "internal_server_error", "guardrail: "+err.Error(), "")
	}
	if err := d.sync(); err != nil {
		return fail(err)
	}
	var raw []byte
	var err error
	if d.field == "messages" {
		raw, err = marshal(d.items)
	} else {
		for i := range d.answerChoices {
			if d.dirty[i] {
				m, err := marshal(d.items[i])
				if err != nil {
					return fail(err)
				}
				d.answerChoices[i]["message"] = m
			}
		}
		raw, err = marshal(d.answerChoices)
	}
	if err != nil {
		return fail(err)
	}
	d.top[d.field] = raw
	out, err := marshal(d.top)
	if err != nil {
		return fail(err)
	}
	return out, nil
}

// sync writes the changed texts back into their items (parts of one item
// share the slice).
func (d *document) sync() error {
	for _, s := range d.slots {
		if !d.dirty[s.item] {
			continue
		}
		t, err := marshal(s.text)
		if err != nil {
			return err
		}
		if s.part < 0 {
			d.items[s.item]["content"] = t
		} else {
			s.parts[s.part]["text"] = t
		}
	}
	for _, s := range d.slots {
		if !d.dirty[s.item] || s.part < 0 {
			continue
		}
		raw, err := marshal(s.parts)
		if err != nil {
			return err
		}
		d.items[s.item]["content"] = raw
	}
	return nil
}

// marshal is json.Marshal without HTML escaping (a masked "<PERSON>" stays
// readable).
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}
