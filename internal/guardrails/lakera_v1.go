package guardrails

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/translator"
)

// Lakera Guard v1 (LiteLLM's lakeraAI_Moderation,
// proxy/guardrails/guardrail_hooks/lakera_ai.py: the top-level kind lakera
// and the v1 callback lakera_prompt_injection): POST
// {api_base}/v1/prompt_injection with Bearer api_key and {"input": [{role,
// content}]} — the last message of each enabled role, in the order system,
// user, assistant, the system message's content followed by " Function
// Input: " and the tool calls' arguments when a message has tool calls.
// results[0].flagged blocks with LiteLLM's 400 {'error': 'Violated
// content safety policy', 'lakera_ai_response': <Lakera's answer>}; with
// category_thresholds the category scores decide instead (jailbreak, then
// prompt_injection: 'Violated <category> threshold'). A failed call is
// LiteLLM's 500 with Lakera's answer as the message.

// lakeraV1Order is INPUT_POSITIONING_MAP: the order of the input's roles.
var lakeraV1Order = []string{"system", "user", "assistant"}

func (c *Call) lakeraV1(ctx context.Context, g *config.Guardrail, d *document) *translator.Error {
	if d == nil || d.field != "messages" {
		return nil
	}
	if err := d.sync(); err != nil { // the texts as the earlier guardrails left them
		return proxyError(500, "Lakera AI: "+err.Error())
	}
	enabled := map[string]bool{}
	for _, r := range g.EnabledRoles {
		enabled[r] = true
	}
	type message struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	}
	byRole := map[string]*message{}
	var system json.RawMessage
	var args []string
	for _, m := range d.items {
		var role string
		_ = json.Unmarshal(m["role"], &role)
		if !enabled[role] {
			continue
		}
		var calls []struct {
			Function *struct {
				Arguments json.RawMessage `json:"arguments"`
			} `json:"function"`
		}
		if json.Unmarshal(m["tool_calls"], &calls) == nil {
			for _, tc := range calls {
				if tc.Function != nil {
					var a string
					if json.Unmarshal(tc.Function.Arguments, &a) != nil {
						a = string(tc.Function.Arguments)
					}
					args = append(args, a)
				}
			}
		}
		content := m["content"]
		if content == nil {
			content = json.RawMessage("null")
		}
		if role == "system" {
			system = content
			continue
		}
		byRole[role] = &message{Role: role, Content: content}
	}
	if system != nil {
		var text string
		if len(args) > 0 && json.Unmarshal(system, &text) == nil {
			b, err := marshal(text + " Function Input: " + strings.Join(args, " "))
			if err == nil {
				system = b
			}
		}
		byRole["system"] = &message{Role: "system", Content: system}
	}
	input := []*message{}
	for _, r := range lakeraV1Order {
		if m := byRole[r]; m != nil {
			input = append(input, m)
		}
	}
	if len(input) == 0 {
		return nil // LiteLLM: no roles with messages
	}
	body, err := marshal(map[string]any{"input": input})
	if err != nil {
		return proxyError(500, "Lakera AI: "+err.Error())
	}
	target := strings.TrimRight(g.APIBase, "/") + "/v1/prompt_injection"
	status, b, err := c.set.send(ctx, target, map[string]string{"Authorization": "Bearer " + g.APIKey}, body)
	if err != nil {
		return proxyError(500, "Lakera AI: "+err.Error())
	}
	if status/100 != 2 {
		return proxyError(500, string(b)) // LiteLLM: Exception(e.response.text)
	}
	var out struct {
		Results []struct {
			Flagged        bool               `json:"flagged"`
			CategoryScores map[string]float64 `json:"category_scores"`
		} `json:"results"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return proxyError(500, "Lakera AI: "+err.Error())
	}
	if len(out.Results) == 0 {
		return nil
	}
	r := out.Results[0]
	violated := ""
	switch {
	case g.CategoryThresholds != nil:
		if r.CategoryScores == nil {
			break // LiteLLM: thresholds set, no scores — passes
		}
		for _, cat := range []string{"jailbreak", "prompt_injection"} {
			score, scored := r.CategoryScores[cat]
			limit, set := g.CategoryThresholds[cat]
			if scored && set && score >= limit {
				violated = "Violated " + cat + " threshold"
				break
			}
		}
	case r.Flagged:
		violated = "Violated content safety policy"
	}
	if violated == "" {
		return nil
	}
	var detail bytes.Buffer
	detail.WriteString(`{"error":`)
	e, _ := marshal(violated)
	detail.Write(e)
	detail.WriteString(`,"lakera_ai_response":`)
	detail.Write(bytes.TrimSpace(b))
	detail.WriteByte('}')
	return proxyError(400, pyRepr(detail.Bytes()))
}
