package translator

import (
	"encoding/json"
	"net/url"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/llmgate/llmgate/internal/provider"
)

// LiteLLM's Bedrock pass-through for a model_list group (D160;
// llm_passthrough_endpoints.py bedrock_llm_proxy_route with a router
// model): POST /bedrock/model/{group}/{action} sends the client's body as
// it is to the group's Bedrock deployment at /model/{its model id}/{action},
// signed with the deployment's credentials (the attempt filter signs every
// Bedrock try); the answer comes back as the provider sent it, a
// non-streamed one's usage read for spend.

// ForBedrockPassThrough is the Bedrock pass-through's translator for a
// provider: the body as it is for Bedrock deployments; other providers
// refuse it.
func ForBedrockPassThrough(name string) Translator {
	p, ok := provider.Lookup(name)
	if !ok {
		return nil
	}
	inner := For(name)
	if inner == nil {
		return nil
	}
	if p.Wire != provider.WireBedrock {
		return bedrockPass{inner: inner, refuse: name}
	}
	return bedrockPass{inner: inner}
}

type bedrockPass struct {
	inner  Translator
	refuse string // a provider that is not Bedrock
}

func (b bedrockPass) Request(ep Endpoint, body []byte, t Target) (*UpstreamRequest, error) {
	if b.refuse != "" {
		return nil, unsupportedEndpoint(b.refuse, ep)
	}
	if !gjson.ValidBytes(body) || !isObject(body) {
		return nil, NewError(400, "invalid_request_error", "request body is not a valid JSON object", "")
	}
	if t.Action == "" || t.Model == "" {
		return nil, NewError(400, "invalid_request_error", "llmgate: a Bedrock pass-through needs a model and an action", "")
	}
	path := apiBasePath(strings.TrimRight(t.APIBase, "/")) + "/model/" + url.PathEscape(t.Model) + "/" + t.Action
	h := map[string]string{"content-type": "application/json", "accept": "application/json"}
	if t.Stream {
		h["accept"] = "application/vnd.amazon.eventstream"
	}
	return &UpstreamRequest{Method: "POST", Path: path, Headers: h, Body: body}, nil
}

func (b bedrockPass) Response(ep Endpoint, body []byte, t Target) (*Response, error) {
	var p struct {
		Usage *struct {
			InputTokens       int `json:"inputTokens"`
			OutputTokens      int `json:"outputTokens"`
			InputTokensSnake  int `json:"input_tokens"`
			OutputTokensSnake int `json:"output_tokens"`
		} `json:"usage"`
		StopReason string `json:"stopReason"`
	}
	r := &Response{Body: body}
	if json.Unmarshal(body, &p) == nil && p.Usage != nil {
		u := p.Usage
		r.Usage.PromptTokens = u.InputTokens + u.InputTokensSnake // converse's, or an Anthropic invoke's
		r.Usage.CompletionTokens = u.OutputTokens + u.OutputTokensSnake
		r.Usage.TotalTokens = r.Usage.PromptTokens + r.Usage.CompletionTokens
	}
	return r, nil
}

func (b bedrockPass) Error(status int, headers map[string]string, body []byte) *Error {
	return b.inner.Error(status, headers, body)
}

func (b bedrockPass) NewStream(ep Endpoint, t Target) Stream { return &rawStream{} }

// rawStream passes a provider's stream bytes on unchanged (usage not read).
type rawStream struct{}

func (*rawStream) Feed(chunk []byte, last bool) ([]byte, error) { return chunk, nil }
func (*rawStream) Usage() Usage                                 { return Usage{} }
func (*rawStream) FinishReason() string                         { return "" }
