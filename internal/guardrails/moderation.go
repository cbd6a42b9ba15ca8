package guardrails

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/translator"
)

// moderation checks a text with OpenAI's moderation API (LiteLLM's
// openai_moderation guardrail): the request's last block of user messages,
// or the answer's contents, each joined by newlines. A flagged result is
// LiteLLM's 400 with the detail dict {"error": "Violated OpenAI moderation
// policy", "moderation_result": {violated_categories, category_scores}} as
// its message; a failed call is the moderation API's status with {"error":
// "OpenAI Moderation API request failed", "details": <its body>}.
func (c *Call) moderation(ctx context.Context, g *config.Guardrail, text string) *translator.Error {
	if text == "" {
		return nil
	}
	body, err := marshal(map[string]any{"model": g.Model, "input": text})
	if err != nil {
		return proxyError(500, err.Error())
	}
	status, b, err := c.set.send(ctx, strings.TrimRight(g.APIBase, "/")+"/moderations", map[string]string{"Authorization": "Bearer " + g.APIKey}, body)
	if err != nil {
		return proxyError(500, "OpenAI Moderation: "+err.Error())
	}
	if status != 200 {
		detail, _ := marshal(map[string]string{"error": "OpenAI Moderation API request failed", "details": string(b)})
		return proxyError(status, pyRepr(orderKeys(detail, "error", "details")))
	}
	var out struct {
		Results []struct {
			Flagged        bool            `json:"flagged"`
			Categories     json.RawMessage `json:"categories"`
			CategoryScores json.RawMessage `json:"category_scores"`
		} `json:"results"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return proxyError(500, "OpenAI Moderation: "+err.Error())
	}
	if len(out.Results) == 0 || !out.Results[0].Flagged {
		return nil
	}
	r := out.Results[0]
	var violated []string
	for _, kv := range orderedBools(r.Categories) {
		if kv.v {
			violated = append(violated, kv.k)
		}
	}
	scores := r.CategoryScores
	if len(scores) == 0 || string(scores) == "null" {
		scores = json.RawMessage("{}")
	}
	vc, _ := marshal(violated)
	if violated == nil {
		vc = []byte("[]")
	}
	var msg bytes.Buffer
	msg.WriteString(`{"error":"Violated OpenAI moderation policy","moderation_result":{"violated_categories":`)
	msg.Write(vc)
	msg.WriteString(`,"category_scores":`)
	msg.Write(scores)
	msg.WriteString(`}}`)
	return proxyError(400, pyRepr(msg.Bytes()))
}

// orderKeys is a two-key JSON object with its keys in the given order
// (marshal sorts a map's keys).
func orderKeys(obj []byte, first, second string) []byte {
	var m map[string]json.RawMessage
	if json.Unmarshal(obj, &m) != nil {
		return obj
	}
	k1, _ := marshal(first)
	k2, _ := marshal(second)
	var b bytes.Buffer
	b.WriteString("{")
	b.Write(k1)
	b.WriteString(":")
	b.Write(m[first])
	b.WriteString(",")
	b.Write(k2)
	b.WriteString(":")
	b.Write(m[second])
	b.WriteString("}")
	return b.Bytes()
}

type kvBool struct {
	k string
	v bool
}

// orderedBools reads a JSON object of booleans in its order.
func orderedBools(raw json.RawMessage) []kvBool {
	d := json.NewDecoder(bytes.NewReader(raw))
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	var out []kvBool
	for d.More() {
		k, err := d.Token()
		if err != nil {
			return out
		}
		var v any
		if d.Decode(&v) != nil {
			return out
		}
		ks, _ := k.(string)
		b, _ := v.(bool)
		out = append(out, kvBool{ks, b})
	}
	return out
}

// userPrompt is the last consecutive block of user messages' texts, joined
// by newlines (LiteLLM's get_user_prompt).
func (d *document) userPrompt() string {
	from := len(d.items)
	for from > 0 {
		var role string
		_ = json.Unmarshal(d.items[from-1]["role"], &role)
		if role != "user" {
			break
		}
		from--
	}
	var b strings.Builder
	for i := from; i < len(d.items); i++ {
		var parts []string
		for _, s := range d.slots {
			if s.item == i {
				parts = append(parts, s.text)
			}
		}
		b.WriteString(strings.Join(parts, ""))
		b.WriteString("\n")
	}
	return strings.TrimSpace(b.String())
}
