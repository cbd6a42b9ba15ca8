package translator

import (
	"bytes"
	"encoding/json"
)

// UsageFold reads the usage a provider's own answer carries when the
// gateway passes the answer through untranslated (LiteLLM's provider
// pass-through routes): one JSON document at a time, a whole body or each
// SSE data line of a stream. It reads each provider's usage with the same
// types and rules the translators use, so a pass-through answer counts the
// tokens its translated twin would:
//   - Anthropic: a body's usage, a stream's message_start usage merged with
//     its message_delta counts (prompt = input + cache read + cache write);
//   - OpenAI-shaped (Mistral and the like): usage.prompt_tokens, …;
//   - Cohere v2: usage.tokens (else billed_units), a stream's message-end
//     delta.usage; v1 and embed: meta.billed_units;
//   - Gemini: usageMetadata (each chunk's counts are cumulative);
//   - Bedrock Converse: usage.inputTokens, outputTokens, cacheReadInputTokens,
//     cacheWriteInputTokens (a ConverseStream's metadata event), read as the
//     Bedrock translator reads them. An InvokeModel answer is the model's own
//     (Anthropic's, above); its stream's chunks are handed here decoded.
//
// Model is the last model the answer named (bounded to 256 bytes).
type UsageFold struct {
	Model string
	anth  anthUsage
	other Usage
	// kind is what was seen: 0 nothing, 1 Anthropic counts, 2 another shape.
	kind int
}

type foldDoc struct {
	Type         string          `json:"type"`
	Model        string          `json:"model"`
	ModelVersion string          `json:"modelVersion"`
	Usage        json.RawMessage `json:"usage"`
	Message      *struct {
		Model string     `json:"model"`
		Usage *anthUsage `json:"usage"`
	} `json:"message"`
	Delta *struct {
		Usage *cohereUsage `json:"usage"`
	} `json:"delta"`
	Meta *struct {
		BilledUnits *struct {
			InputTokens  float64 `json:"input_tokens"`
			OutputTokens float64 `json:"output_tokens"`
		} `json:"billed_units"`
	} `json:"meta"`
	UsageMetadata *geminiUsage `json:"usageMetadata"`
}

// foldUsage is a usage object of any of the shapes above.
type foldUsage struct {
	anthUsage
	cohereUsage
	PromptTokens        *int                     `json:"prompt_tokens"`
	CompletionTokens    *int                     `json:"completion_tokens"`
	TotalTokens         int                      `json:"total_tokens"`
	PromptTokensDetails *PromptTokensDetails     `json:"prompt_tokens_details"`
	CompletionDetails   *CompletionTokensDetails `json:"completion_tokens_details"`
}

// Doc folds one JSON document into the usage; a document that is not JSON
// or names no usage changes nothing.
func (f *UsageFold) Doc(b []byte) {
	var d foldDoc
	if json.Unmarshal(b, &d) != nil {
		return
	}
	for _, m := range []string{d.Model, d.ModelVersion} {
		if m != "" && len(m) <= 256 {
			f.Model = m
		}
	}
	if d.Message != nil && d.Message.Model != "" && len(d.Message.Model) <= 256 {
		f.Model = d.Message.Model
	}
	switch {
	case d.Type == "message_start" && d.Message != nil && d.Message.Usage != nil:
		f.anth, f.kind = *d.Message.Usage, 1
	case d.UsageMetadata != nil:
		f.other, f.kind = geminiUsageFrom(d.UsageMetadata), 2
	case d.Delta != nil && d.Delta.Usage != nil:
		f.other, f.kind = cohereUsageFrom(d.Delta.Usage), 2
	case d.Meta != nil && d.Meta.BilledUnits != nil && len(d.Usage) == 0:
		bu := d.Meta.BilledUnits
		f.other, f.kind = Usage{PromptTokens: int(bu.InputTokens), CompletionTokens: int(bu.OutputTokens)}, 2
	case len(d.Usage) > 0 && d.Usage[0] == '{':
		f.usage(d.Type, d.Usage)
	}
}

func (f *UsageFold) usage(typ string, raw []byte) {
	var u foldUsage
	if json.Unmarshal(raw, &u) != nil {
		return
	}
	switch {
	case u.PromptTokens != nil || u.CompletionTokens != nil:
		o := UsageObject{TotalTokens: u.TotalTokens, PromptTokensDetails: u.PromptTokensDetails, CompletionTokensDetails: u.CompletionDetails}
		if u.PromptTokens != nil {
			o.PromptTokens = *u.PromptTokens
		}
		if u.CompletionTokens != nil {
			o.CompletionTokens = *u.CompletionTokens
		}
		f.other, f.kind = UsageFrom(&o), 2
	case u.BilledUnits != nil || u.Tokens != nil:
		f.other, f.kind = cohereUsageFrom(&u.cohereUsage), 2
	case typ == "message_delta" && f.kind == 1:
		f.anth.merge(u.anthUsage)
	case bytes.Contains(raw, []byte(`"inputTokens"`)) || bytes.Contains(raw, []byte(`"outputTokens"`)):
		var b brkUsage
		if json.Unmarshal(raw, &b) == nil {
			f.other, f.kind = b.openai(), 2
		}
	case bytes.Contains(raw, []byte(`"input_tokens"`)) || bytes.Contains(raw, []byte(`"output_tokens"`)):
		f.anth, f.kind = u.anthUsage, 1
	}
}

// Usage is the answer's usage; ok is false when it named none.
func (f *UsageFold) Usage() (u Usage, ok bool) {
	switch f.kind {
	case 1:
		u = f.anth.openai()
	case 2:
		u = f.other
	default:
		return Usage{}, false
	}
	return boundUsage(u), true
}

// boundUsage keeps a provider's counts within [0, 2^40].
func boundUsage(u Usage) Usage {
	b := func(n *int) { *n = min(max(*n, 0), 1<<40) }
	b(&u.PromptTokens)
	b(&u.CompletionTokens)
	b(&u.TotalTokens)
	b(&u.CachedTokens)
	b(&u.CacheCreationTokens)
	b(&u.ReasoningTokens)
	if u.TotalTokens == 0 {
		u.TotalTokens = u.PromptTokens + u.CompletionTokens
	}
	return u
}
