package translator

// allowed_openai_params (docs/architecture.md D119): LiteLLM adds the listed
// params to the provider's supported ones (no refusal, no drop_params drop)
// and, when the provider's mapping did not take one, sends it as the client
// sent it (apply_openai_param_overrides); the Anthropic transformation spreads
// such params into the request body's top level.

import (
	"slices"

	"github.com/llmgate/llmgate/internal/provider"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// RawParam is a request field carried past the translator as it was sent.
type RawParam struct {
	Name  string
	Value []byte // JSON
}

// TakeAllowedParams removes from an OpenAI chat body the params of allowed
// that a provider's translator does not map, so that it neither refuses nor
// drops them, and returns them for PutAllowedParams. Only the Anthropic wire
// is read (other translators: nil; OpenAI-compatible providers get every
// param anyway). Params in drop (additional_drop_params) stay dropped.
func TakeAllowedParams(wire provider.Wire, body []byte, allowed, drop []string) ([]byte, []RawParam) {
	if wire != provider.WireAnthropic || len(allowed) == 0 {
		return body, nil
	}
	var taken []RawParam
	for _, name := range allowed {
		if slices.Contains(anthropicSupportedParams, name) || slices.Contains(drop, name) {
			continue // mapped by the translator, or dropped first (LiteLLM's order)
		}
		v := gjson.GetBytes(body, gjsonKey(name))
		if !v.Exists() || v.Type == gjson.Null {
			continue
		}
		out, err := sjson.DeleteBytes(body, gjsonKey(name))
		if err != nil {
			continue
		}
		body = out
		taken = append(taken, RawParam{Name: name, Value: []byte(v.Raw)})
	}
	return body, taken
}

// PutAllowedParams sets the taken params at the top level of the provider's
// body (a field the translator wrote itself is kept).
func PutAllowedParams(body []byte, params []RawParam) []byte {
	for _, p := range params {
		if gjson.GetBytes(body, gjsonKey(p.Name)).Exists() {
			continue
		}
		if out, err := sjson.SetRawBytes(body, gjsonKey(p.Name), p.Value); err == nil {
			body = out
		}
	}
	return body
}
