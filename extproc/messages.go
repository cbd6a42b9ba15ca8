package extproc

import (
	"encoding/json"
	"errors"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/llmgate/llmgate/internal/model"
	"github.com/llmgate/llmgate/internal/provider"
	"github.com/llmgate/llmgate/internal/tokenizer"
	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
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

// anthropicHeaders are the client headers LiteLLM carries to an
// Anthropic-speaking deployment on every call (its ANTHROPIC_API_HEADERS):
// Claude Code's betas reach the provider.
var anthropicHeaders = [...]string{"anthropic-version", "anthropic-beta"}

// anthropicClientHeaders puts the client's anthropic-version and
// anthropic-beta on a native try of the Messages endpoint (the client's
// version wins over the translator's).
func (t *try) anthropicClientHeaders(up *translator.UpstreamRequest) {
	if p, ok := provider.Lookup(t.d.Provider); !ok || p.Wire != provider.WireAnthropic {
		return
	}
	for _, k := range anthropicHeaders {
		if v := t.reqHdr[k]; v != "" {
			if up.Headers == nil {
				up.Headers = map[string]string{}
			}
			up.Headers[k] = v
		}
	}
}

// mockReplyFor is mockReply as the endpoint answers it: on /v1/messages
// and /v1/responses the mock chat answer (or stream, its usage included)
// as Anthropic's message or a Response (or their events).
func mockReplyFor(ep translator.Endpoint, f *requestFields, d *model.Deployment, a *llmgatev1.Attempt, callID string) *extprocv3.ProcessingResponse {
	br := translator.ChatBridge(ep)
	if br == nil {
		return mockReply(ep, f, d, a, callID)
	}
	chatF := *f
	chatF.StreamOptions = &struct {
		IncludeUsage bool `json:"include_usage"`
	}{IncludeUsage: true}
	r := mockReply(translator.Chat, &chatF, d, a, callID)
	ir := r.GetImmediateResponse()
	if ir == nil {
		return r
	}
	target := translator.Target{Provider: d.Provider, DeploymentID: d.ID, Stream: f.Stream}
	if f.Stream {
		st := br.NewStream(ep, target)
		if out, err := st.Feed(ir.Body, true); err == nil {
			ir.Body = out
		}
		return r
	}
	if out, err := br.Response(ep, ir.Body, target); err == nil {
		ir.Body = out.Body
	}
	return r
}
