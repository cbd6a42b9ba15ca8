package guardrails

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/translator"
)

// Lakera Guard v2 (LiteLLM's lakera_v2 guardrail,
// proxy/guardrails/guardrail_hooks/lakera_ai_v2.py): POST
// {api_base}/v2/guard with Bearer api_key and {"messages": [{role,
// content}], "project_id", "payload", "breakdown", "metadata",
// "dev_info"}; flagged: true blocks (on_flagged block) with LiteLLM's 400
// whose message is the detail dict {'error': 'Violated guardrail policy',
// 'lakera_guardrail_response': <Lakera's answer>} as Python prints it.

// lakeraMessage is one message Lakera reads: a role and its text.
type lakeraMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// inspectionMessages are a request's messages as LiteLLM's
// build_inspection_messages makes them: each message's texts joined by
// newlines, its role (default user); a message with no text left out.
func (d *document) inspectionMessages() []lakeraMessage {
	var out []lakeraMessage
	byItem := map[int][]string{}
	for _, s := range d.slots {
		byItem[s.item] = append(byItem[s.item], s.text)
	}
	for i, m := range d.items {
		text := strings.Join(byItem[i], "\n")
		if text == "" {
			continue
		}
		var role string
		_ = json.Unmarshal(m["role"], &role)
		if role == "" {
			role = "user"
		}
		out = append(out, lakeraMessage{Role: role, Content: text})
	}
	return out
}

// lakera checks messages with Lakera Guard v2.
func (c *Call) lakera(ctx context.Context, g *config.Guardrail, messages []lakeraMessage) *translator.Error {
	if len(messages) == 0 {
		return nil // LiteLLM: no inspectable text
	}
	req := struct {
		Messages  []lakeraMessage `json:"messages"`
		ProjectID *string         `json:"project_id"`
		Payload   bool            `json:"payload"`
		Breakdown bool            `json:"breakdown"`
		Metadata  map[string]any  `json:"metadata"`
		DevInfo   bool            `json:"dev_info"`
	}{Messages: messages, Payload: g.Payload, Breakdown: g.Breakdown, Metadata: g.Metadata, DevInfo: g.DevInfo}
	if g.ProjectID != "" {
		req.ProjectID = &g.ProjectID
	}
	body, err := marshal(req)
	if err != nil {
		return proxyError(500, "Lakera AI: "+err.Error())
	}
	target := strings.TrimRight(g.APIBase, "/") + "/v2/guard"
	status, b, err := c.set.send(ctx, target, map[string]string{"Authorization": "Bearer " + g.APIKey}, body)
	if err != nil {
		return proxyError(500, "Lakera AI: "+err.Error())
	}
	if status/100 != 2 {
		return proxyError(500, "Lakera AI: status "+strconv.Itoa(status)+" from "+target)
	}
	var out struct {
		Flagged *bool `json:"flagged"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return proxyError(500, "Lakera AI: "+err.Error())
	}
	if out.Flagged == nil || !*out.Flagged || g.OnFlagged == "monitor" {
		return nil
	}
	var detail bytes.Buffer
	detail.WriteString(`{"error":"Violated guardrail policy","lakera_guardrail_response":`)
	detail.Write(bytes.TrimSpace(b))
	detail.WriteByte('}')
	return proxyError(400, pyRepr(detail.Bytes()))
}

// answerMessages are the messages Lakera reads for an answer (LiteLLM's
// post_call): the request's, then each choice's message with a role and a
// non-empty content.
func (c *Call) answerMessages(d *document, texts []string) []lakeraMessage {
	out := append([]lakeraMessage(nil), c.requestMessages...)
	if d == nil {
		// A streamed answer: its choices' texts so far.
		for _, t := range texts {
			if t != "" {
				out = append(out, lakeraMessage{Role: "assistant", Content: t})
			}
		}
		return out
	}
	for i, s := range d.slots {
		if s.part >= 0 || i >= len(texts) || texts[i] == "" {
			continue
		}
		var role string
		_ = json.Unmarshal(d.items[s.item]["role"], &role)
		if role != "" {
			out = append(out, lakeraMessage{Role: role, Content: texts[i]})
		}
	}
	return out
}
