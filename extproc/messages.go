package extproc

import (
	"encoding/json"
	"errors"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/llmgate/llmgate/internal/tokenizer"
	"github.com/llmgate/llmgate/router"
	"github.com/llmgate/llmgate/translator"
)

// Anthropic's Messages API, /v1/messages (D129). The request filter plans it
// like chat (model groups, aliases, keys, budgets, retries, fallbacks); the
// attempt filter sends an Anthropic deployment the body natively and every
// other deployment a chat completion (translator/messages.go), and turns the
// answer and its stream back into Anthropic's. It is served by the ext_proc
// filters: the body is never prepared once for all tries (prepareBody), so
// no plan of it is fast (D45) nor translated by the module (D61).

// translatorFor is a try's translator: the provider's, or on the Messages
// endpoint its Messages translator.
func translatorFor(ep translator.Endpoint, provider string) translator.Translator {
	if ep == translator.Messages {
		return translator.ForMessages(provider)
	}
	return translator.For(provider)
}

// routeErrorFor is routerError as the route answers it: on /v1/messages an
// unknown model is LiteLLM's HTTPException there (type and param "None").
func routeErrorFor(rt route, err error) *translator.Error {
	var inv *router.InvalidModelError
	if rt.endpoint == translator.Messages && errors.As(err, &inv) {
		return &translator.Error{Status: 400, Type: "None", Param: "None", Code: "400",
			Message: "400: {'error': 'anthropic_messages: Invalid model name passed in model=" + inv.Model + ". Call `/v1/models` to view available models for your key.'}"}
	}
	return routerError(err)
}

// countTokens answers /v1/messages/count_tokens as LiteLLM's proxy does
// without a provider's counting API: {"input_tokens": n} for the model and
// messages (with the system prompt and tools) counted by the gateway's
// tokenizer for the group's first deployment's model (the requested name
// when no group serves it), any valid key; nothing is called and no spend
// counted. LiteLLM asks Anthropic's, Vertex's, Bedrock's or Gemini's own
// counting API for those deployments; that is not built (D129).
func (s *Server) countTokens(stream extprocv3.ExternalProcessor_ProcessServer, st *State, h map[string]string, endOfStream bool) error {
	body, ok, err := managementBodyUnless(stream, endOfStream)
	if !ok {
		return err
	}
	if _, e := st.authenticate(h, true); e != nil {
		return stream.Send(errorReply(e, nil))
	}
	if h[":method"] != "POST" {
		return stream.Send(errorReply(methodNotAllowed(h[":method"]), map[string]string{"allow": "POST"}))
	}
	var req struct {
		Model    string            `json:"model"`
		Messages []json.RawMessage `json:"messages"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return stream.Send(errorReply(translator.NewError(400, "invalid_request_error", "Invalid JSON in request body: "+err.Error(), ""), nil))
	}
	switch {
	case req.Model == "":
		return stream.Send(errorReply(translator.NewError(400, "invalid_request_error", "model parameter is required", "model"), nil))
	case len(req.Messages) == 0:
		return stream.Send(errorReply(translator.NewError(400, "invalid_request_error", "messages parameter is required", "messages"), nil))
	}
	chat, e := translator.MessagesToChat(body)
	if e != nil {
		return stream.Send(errorReply(e, nil))
	}
	model := req.Model
	if res, err := st.Router.Resolve(req.Model); err == nil {
		if ts := st.Router.Targets(res); len(ts) > 0 && ts[0].Model != "" {
			model = ts[0].Model
		}
	}
	n, err := tokenizer.CountRequest(model, chat)
	if err != nil {
		return stream.Send(errorReply(translator.NewError(400, "invalid_request_error", err.Error(), ""), nil))
	}
	out, _ := json.Marshal(map[string]int{"input_tokens": n})
	return stream.Send(immediate(200, "application/json", out, nil, "llmgate_count_tokens"))
}
