package translator

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"time"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/llmgate/llmgate/internal/provider"
)

// OpenAI's Responses API in (POST /v1/responses, D137), as LiteLLM's
// /v1/responses serves it:
//   - an OpenAI or Azure deployment gets the client's body natively (its
//     model id set, LiteLLM's own fields removed, a previous_response_id
//     the gateway encoded decoded back to the provider's), at
//     <api_base>/responses (Azure: <api_base>/openai/responses?api-version=);
//     the answer and its events come back as they are;
//   - every other provider gets a chat completion (LiteLLM's
//     litellm_completion_transformation bridge: instructions → a system
//     message, input items → messages, function_call / function_call_output
//     items → tool_calls / tool messages, max_output_tokens → max_tokens,
//     function tools, tool_choice, reasoning.effort → reasoning_effort,
//     text.format → response_format), which that provider's own translator
//     carries; the chat answer comes back as a Response object (a message
//     item with output_text, function_call items, usage in input_tokens /
//     output_tokens) and a chat stream as Responses events
//     (response.created, response.in_progress, response.output_item.added,
//     response.content_part.added, response.output_text.delta, ...,
//     response.completed).
//
// Either way the response's id is LiteLLM's: "resp_" + base64 of
// "litellm:custom_llm_provider:<provider>;model_id:<deployment id>;response_id:<id>",
// so that a follow-up (GET /v1/responses/{id}, previous_response_id) can
// name the deployment that answered.

// ForResponses is the translator of the Responses endpoint for a provider,
// nil for a provider llmgate does not serve.
func ForResponses(name string) Translator {
	p, ok := provider.Lookup(name)
	if !ok {
		return nil
	}
	if ResponsesNative(name) {
		return responsesNative{openAI{azure: p.Wire == provider.WireAzure}}
	}
	inner := For(name)
	if inner == nil {
		return nil
	}
	return responsesAdapter(inner)
}

// ResponsesBridge is the Responses endpoint's translator through the
// provider's chat completions whatever its own API (LiteLLM's
// use_chat_completions_api), nil for a provider llmgate does not serve.
func ResponsesBridge(name string) Translator {
	inner := For(name)
	if inner == nil {
		return nil
	}
	return responsesAdapter(inner)
}

// ResponsesNative reports whether a provider serves the Responses API
// itself (LiteLLM's OpenAI and Azure responses configs); the others are
// bridged through chat completions.
func ResponsesNative(name string) bool {
	p, ok := provider.Lookup(name)
	return ok && (p.Name == "openai" || p.Wire == provider.WireAzure)
}

// OwnTranslator reports whether every try of an endpoint takes the
// endpoint's own translator (ForEndpoint) and writes its body itself: the
// request filter never prepares it, nothing passes it through unread.
func OwnTranslator(ep Endpoint) bool {
	return ep == Messages || ep == Responses || ep == GenerateContent || ep == BedrockPassThrough
}

// ForEndpoint is the translator of a try: the endpoint's own (Messages,
// Responses) or the provider's.
func ForEndpoint(ep Endpoint, name string) Translator {
	switch ep {
	case Messages:
		return ForMessages(name)
	case Responses:
		return ForResponses(name)
	case GenerateContent:
		return ForGenerateContent(name) // genai.go (D160)
	case BedrockPassThrough:
		return ForBedrockPassThrough(name) // bedrockpass.go (D160)
	}
	return For(name)
}

// responseIDPrefix starts every Responses id.
const responseIDPrefix = "resp_"

// EncodeResponseID is LiteLLM's id for a provider's response id answered by
// a deployment (ResponsesAPIRequestUtils._build_responses_api_response_id);
// an id already encoded is returned as it is.
func EncodeResponseID(providerName, deploymentID, id string) string {
	if id == "" {
		return id
	}
	if _, dep, _ := DecodeResponseID(id); dep != "" {
		return id
	}
	return responseIDPrefix + base64.StdEncoding.EncodeToString([]byte("litellm:custom_llm_provider:"+providerName+";model_id:"+deploymentID+";response_id:"+id))
}

// maxResponseID bounds the ids decoded (a client's path or body).
const maxResponseID = 4096

// DecodeResponseID reads an id EncodeResponseID wrote: the provider, the
// deployment and the provider's own id; an id the gateway did not encode
// comes back as it is with no deployment.
func DecodeResponseID(id string) (providerName, deploymentID, original string) {
	rest, ok := strings.CutPrefix(id, responseIDPrefix)
	if !ok || len(id) > maxResponseID {
		return "", "", id
	}
	if n := len(rest) % 4; n != 0 {
		rest += strings.Repeat("=", 4-n) // padding lost on the way
	}
	b, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		return "", "", id
	}
	s, ok := strings.CutPrefix(string(b), "litellm:custom_llm_provider:")
	if !ok {
		return "", "", id
	}
	providerName, s, ok1 := strings.Cut(s, ";model_id:")
	deploymentID, original, ok2 := strings.Cut(s, ";response_id:")
	if !ok1 || !ok2 {
		return "", "", id
	}
	if deploymentID == "None" {
		deploymentID = ""
	}
	return providerName, deploymentID, original
}

// encodeResponseIDs rewrites body's "id" (path: "id", or "response.id" in
// an event) as LiteLLM's.
func encodeResponseIDs(body []byte, path string, t Target) []byte {
	id := gjson.GetBytes(body, path)
	if id.Type != gjson.String || id.Str == "" {
		return body
	}
	if out, err := sjson.SetBytes(body, path, EncodeResponseID(t.Provider, t.DeploymentID, id.Str)); err == nil {
		return out
	}
	return body
}

// responsesUsage is a Response's usage.
type responsesUsage struct {
	InputTokens        int `json:"input_tokens"`
	InputTokensDetails struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"input_tokens_details"`
	OutputTokens        int `json:"output_tokens"`
	OutputTokensDetails struct {
		ReasoningTokens int `json:"reasoning_tokens"`
	} `json:"output_tokens_details"`
	TotalTokens int `json:"total_tokens"`
}

func (u *responsesUsage) usage() Usage {
	if u == nil {
		return Usage{}
	}
	return Usage{PromptTokens: u.InputTokens, CompletionTokens: u.OutputTokens, TotalTokens: u.TotalTokens,
		CachedTokens: u.InputTokensDetails.CachedTokens, ReasoningTokens: u.OutputTokensDetails.ReasoningTokens}
}

func responsesUsageOf(u Usage) responsesUsage {
	var r responsesUsage
	r.InputTokens, r.OutputTokens, r.TotalTokens = u.PromptTokens, u.CompletionTokens, u.PromptTokens+u.CompletionTokens
	r.InputTokensDetails.CachedTokens, r.OutputTokensDetails.ReasoningTokens = u.CachedTokens, u.ReasoningTokens
	return r
}

// responsesStatus is a Response's status as a chat finish reason, for the
// router (content_filter) and the spend log.
func responsesFinish(status, reason string) string {
	switch {
	case reason == "content_filter":
		return "content_filter"
	case status == "incomplete":
		return "length"
	}
	return "stop"
}

// responsesNative sends the body to an OpenAI or Azure deployment as it is.
type responsesNative struct{ o openAI }

// ResponsesPath is the Responses path of an OpenAI or Azure deployment.
func (r responsesNative) path(t Target) string {
	base := strings.TrimRight(t.APIBase, "/")
	if r.o.azure {
		v := t.APIVersion
		if v == "" {
			v = DefaultAzureAPIVersion
		}
		return apiBasePath(trimAzureBase(base)) + "/openai/responses?api-version=" + v
	}
	return apiBasePath(base) + "/responses"
}

func (r responsesNative) Request(ep Endpoint, body []byte, t Target) (*UpstreamRequest, error) {
	out, err := r.o.body(Responses, body, t)
	if err != nil {
		return nil, err
	}
	if p := gjson.GetBytes(out, "previous_response_id"); p.Type == gjson.String {
		if _, _, orig := DecodeResponseID(p.Str); orig != p.Str {
			if out, err = sjson.SetBytes(out, "previous_response_id", orig); err != nil {
				return nil, err
			}
		}
	}
	return &UpstreamRequest{Method: "POST", Path: r.path(t), Headers: map[string]string{"content-type": "application/json"}, Body: out}, nil
}

// responsesProbe is what is read of a Response.
type responsesProbe struct {
	Status            string          `json:"status"`
	Usage             *responsesUsage `json:"usage"`
	IncompleteDetails *struct {
		Reason string `json:"reason"`
	} `json:"incomplete_details"`
}

func (p *responsesProbe) finish() string {
	var reason string
	if p.IncompleteDetails != nil {
		reason = p.IncompleteDetails.Reason
	}
	return responsesFinish(p.Status, reason)
}

func (r responsesNative) Response(ep Endpoint, body []byte, t Target) (*Response, error) {
	var p responsesProbe
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, NewError(502, "internal_server_error", "llmgate: the provider returned an invalid response: "+err.Error(), "")
	}
	if gjson.GetBytes(body, "object").Str != "response" {
		return &Response{Body: body}, nil // a by-id route's list of input items
	}
	return &Response{Body: encodeResponseIDs(body, "id", t), Usage: p.Usage.usage(), FinishReason: p.finish()}, nil
}

func (r responsesNative) Error(status int, headers map[string]string, body []byte) *Error {
	return r.o.Error(status, headers, body)
}

func (r responsesNative) NewStream(ep Endpoint, t Target) Stream {
	return &responsesNativeStream{t: t}
}

// responsesNativeStream passes Responses events on as they came, reading
// the usage and the status of the final response (response.completed,
// response.incomplete, response.failed) and an error event, and writing
// LiteLLM's id into every event's response.
type responsesNativeStream struct {
	p      SSEParser
	t      Target
	model  string
	usage  Usage
	finish string
	err    *Error
	done   bool
}

func (s *responsesNativeStream) SetResponseModel(m string) { s.model = m }
func (s *responsesNativeStream) Usage() Usage              { return s.usage }
func (s *responsesNativeStream) FinishReason() string      { return s.finish }
func (s *responsesNativeStream) Err() *Error               { return s.err }

func (s *responsesNativeStream) Feed(chunk []byte, last bool) ([]byte, error) {
	var out []byte
	for _, ev := range s.p.Feed(chunk, last) {
		data := ev.Data
		var e struct {
			Type     string          `json:"type"`
			Response *responsesProbe `json:"response"`
			Message  string          `json:"message"`
			Code     string          `json:"code"`
		}
		if json.Unmarshal(data, &e) == nil {
			if e.Response != nil {
				data = encodeResponseIDs(data, "response.id", s.t)
				if s.model != "" && gjson.GetBytes(data, "response.model").Exists() {
					if b, err := sjson.SetBytes(data, "response.model", s.model); err == nil {
						data = b
					}
				}
			}
			switch e.Type {
			case "response.completed", "response.incomplete":
				s.usage, s.finish, s.done = e.Response.Usage.usage(), e.Response.finish(), true
			case "response.failed":
				s.done = true
				s.err = responsesFailure(data)
			case "error":
				s.err = NewError(500, "internal_server_error", e.Message, e.Code)
			}
		}
		out = WriteSSE(out, ev.Event, data)
	}
	if last && !s.done && s.err == nil {
		// A stream cut before its final event: the router counts it as a failure (D82).
		s.err = NewError(502, "internal_server_error", "llmgate: the provider's stream ended before response.completed", "")
		out = WriteSSE(out, "error", responsesErrorEvent(s.err))
	}
	return out, nil
}

// responsesFailure is a response.failed event's error.
func responsesFailure(data []byte) *Error {
	msg := gjson.GetBytes(data, "response.error.message").String()
	if msg == "" {
		msg = "the response failed"
	}
	return NewError(500, "internal_server_error", msg, gjson.GetBytes(data, "response.error.code").String())
}

// responsesErrorEvent is the Responses stream's error event for e.
func responsesErrorEvent(e *Error) []byte {
	b, _ := json.Marshal(map[string]any{"type": "error", "code": e.Code, "message": e.Message, "param": nil, "sequence_number": 0})
	return b
}

// now is the time a translated Response is created at (Target.Created when set).
func createdAt(t Target) int64 {
	if t.Created != 0 {
		return t.Created
	}
	return time.Now().Unix()
}

// ResponsesPathID reads a by-id route's path (without /v1 and the query):
// "/responses/{id}", "/responses/{id}/input_items" or
// "/responses/{id}/cancel"; id is unescaped.
func ResponsesPathID(p string) (id, action string, ok bool) {
	rest, ok := strings.CutPrefix(p, "/responses/")
	if !ok || rest == "" {
		return "", "", false
	}
	for _, a := range [...]string{"/input_items", "/cancel"} {
		if r, found := strings.CutSuffix(rest, a); found {
			rest, action = r, a[1:]
			break
		}
	}
	if rest == "" || strings.Contains(rest, "/") && !strings.HasPrefix(rest, responseIDPrefix) {
		return "", "", false
	}
	if u, err := url.PathUnescape(rest); err == nil {
		rest = u
	}
	if len(rest) > maxResponseID {
		return "", "", false
	}
	return rest, action, true
}

// ResponsesByID is the provider request of a by-id route (GET or DELETE
// /v1/responses/{id}, GET …/input_items, POST …/cancel) for an OpenAI or
// Azure deployment: the provider's own id, the client's query kept.
func ResponsesByID(method, clientPath string, t Target) (*UpstreamRequest, *Error) {
	p, query, _ := strings.Cut(clientPath, "?")
	p = strings.TrimPrefix(strings.TrimPrefix(p, "/openai"), "/v1")
	id, action, ok := ResponsesPathID(p)
	if !ok {
		return nil, NewError(404, "not_found_error", "Route not found: "+clientPath, "")
	}
	if !ResponsesNative(t.Provider) {
		return nil, NewError(400, "invalid_request_error", "llmgate: "+t.Provider+" deployments answer the Responses API through chat completions and keep no responses to read by id", "")
	}
	_, _, orig := DecodeResponseID(id)
	path := "/responses/" + url.PathEscape(orig)
	if action != "" {
		path += "/" + action
	}
	native := responsesNative{openAI{azure: t.Provider == "azure"}}
	full := native.path(t)
	base, q, _ := strings.Cut(full, "?")
	base = strings.TrimSuffix(base, "/responses") + path
	switch {
	case q != "" && query != "":
		q += "&" + query
	case query != "":
		q = query
	}
	if q != "" {
		base += "?" + q
	}
	up := &UpstreamRequest{Method: method, Path: base}
	if method == "POST" {
		up.Headers = map[string]string{"content-type": "application/json"}
	}
	return up, nil
}
