package translator

// Request validation shared by the translators that map OpenAI params one
// by one (anthropic, bedrock): which params a client sent may be mapped,
// and the chat body decoded once as a request and once as raw fields.

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
)

// requestParams is the set of top-level fields a client sent, after
// AdditionalDropParams and (with DropParams) unsupported params were removed.
// Translators consult it before mapping a field.
type requestParams struct {
	present map[string]bool
}

// use reports whether the field was sent and survives dropping.
func (p requestParams) use(name string) bool { return p.present[name] }

// checkRequestParams decides, for one provider, which of the OpenAI params the
// client sent may be mapped. supported lists the OpenAI params the provider
// takes; any other OpenAI param (one ChatRequest knows) is a 400 naming it,
// unless t.DropParams. t.AdditionalDropParams are always removed. Fields that
// are not OpenAI params (provider-specific extras) are reported present and
// left to the translator. null values count as absent.
func checkRequestParams(provider string, raw map[string]json.RawMessage, supported []string, t Target) (requestParams, *Error) {
	p := requestParams{present: make(map[string]bool, len(raw))}
	var rejected []string
	for k, v := range raw {
		if string(v) == "null" || slices.Contains(t.AdditionalDropParams, k) {
			continue
		}
		if knownChatFields[k] && !slices.Contains(supported, k) {
			if t.DropParams {
				continue
			}
			rejected = append(rejected, k)
			continue
		}
		p.present[k] = true
	}
	if len(rejected) > 0 {
		sort.Strings(rejected)
		return p, NewError(400, "invalid_request_error", fmt.Sprintf(
			"llmgate: param %s not supported by provider %s; set drop_params: true to drop it, or add it to additional_drop_params",
			rejected[0], provider), rejected[0])
	}
	return p, nil
}

// decodeChatRequest decodes an OpenAI chat body twice: into ChatRequest and
// into its raw top-level fields.
func decodeChatRequest(body []byte) (*ChatRequest, map[string]json.RawMessage, *Error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, nil, NewError(400, "invalid_request_error", "llmgate: request body is not a JSON object: "+err.Error(), "")
	}
	var req ChatRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, nil, NewError(400, "invalid_request_error", "llmgate: invalid chat completions request: "+err.Error(), "")
	}
	return &req, raw, nil
}
