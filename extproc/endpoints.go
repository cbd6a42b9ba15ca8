package extproc

import (
	"net/url"
	"strings"

	"github.com/llmgate/llmgate/translator"
)

// route is what a request path asks for.
type route struct {
	kind     routeKind
	endpoint translator.Endpoint
	// pathModel is the model named in an Azure-style path (/openai/deployments/{model}/...); it wins over the body.
	pathModel string
	// responseID is the id of a Responses by-id route (GET or DELETE
	// /v1/responses/{id}, …/input_items, …/cancel; responses.go, D137).
	responseID string
	// stream is a path that asks for a stream (Google's :streamGenerateContent).
	stream bool
	// action is a Bedrock pass-through's (converse, invoke, …; D160).
	action string
}

type routeKind int

const (
	routeUnknown routeKind = iota
	routeLLM
	routeModels
	routeModel // /v1/models/{model}
	routeModelInfo
	routeModelGroupInfo
	routeLiveness
	routeReadiness
	routeHealth
	routeHealthServices
	routeMetrics
	routeCountTokens  // /v1/messages/count_tokens (messages.go)
	routeTokenCounter // /utils/token_counter (tokencounter.go, D160)
)

// classify maps a request path (with or without /v1, Azure style too) to a route.
func classify(method, rawPath string) route {
	p := rawPath
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	p = strings.TrimRight(p, "/")
	switch p {
	case "/health/liveliness", "/health/liveness":
		return route{kind: routeLiveness}
	case "/health/readiness":
		return route{kind: routeReadiness}
	case "/health":
		return route{kind: routeHealth}
	case "/health/services":
		return route{kind: routeHealthServices}
	case "/metrics":
		return route{kind: routeMetrics}
	case "/models", "/v1/models":
		return route{kind: routeModels}
	case "/model/info", "/v1/model/info":
		return route{kind: routeModelInfo}
	case "/model_group/info":
		return route{kind: routeModelGroupInfo}
	case "/v1/messages":
		// Anthropic's Messages API (messages.go, D129).
		return route{kind: routeLLM, endpoint: translator.Messages}
	case "/v1/messages/count_tokens":
		return route{kind: routeCountTokens}
	case "/utils/token_counter":
		return route{kind: routeTokenCounter}
	}
	if r, ok := classifyBedrock(p); ok {
		return r // LiteLLM's /bedrock/model/{model}/{action} for a group (D160)
	}
	if r, ok := classifyGenAI(p); ok {
		return r // Google's generateContent (D160), before /models/{model}
	}
	if m, ok := strings.CutPrefix(strings.TrimPrefix(p, "/v1"), "/models/"); ok && m != "" {
		// /v1/models/{model}; a model name may hold '/' (anthropic/claude-3-haiku).
		if model, err := url.PathUnescape(m); err == nil {
			return route{kind: routeModel, pathModel: model}
		}
		return route{}
	}
	rest := strings.TrimPrefix(p, "/v1")
	if r, ok := strings.CutPrefix(rest, "/openai/v1/responses"); ok {
		rest = "/responses" + r // LiteLLM's /openai/v1/responses routes (before the /openai pass-through, D131)
	}
	if strings.HasPrefix(rest, "/openai/deployments/") || strings.HasPrefix(rest, "/engines/") {
		var tail string
		if strings.HasPrefix(rest, "/engines/") {
			tail = strings.TrimPrefix(rest, "/engines/")
		} else {
			tail = strings.TrimPrefix(rest, "/openai/deployments/")
		}
		i := strings.IndexByte(tail, '/')
		if i <= 0 {
			return route{}
		}
		model, err := url.PathUnescape(tail[:i])
		if err != nil {
			return route{}
		}
		r := classifyLLM(tail[i:])
		r.pathModel = model
		return r
	}
	return classifyLLM(rest)
}

func classifyLLM(p string) route {
	switch p {
	case "/chat/completions":
		return route{kind: routeLLM, endpoint: translator.Chat}
	case "/completions":
		return route{kind: routeLLM, endpoint: translator.Completions}
	case "/embeddings":
		return route{kind: routeLLM, endpoint: translator.Embeddings}
	case "/moderations":
		return route{kind: routeLLM, endpoint: translator.Moderations}
	case "/images/generations":
		return route{kind: routeLLM, endpoint: translator.ImageGenerations}
	case "/images/edits":
		return route{kind: routeLLM, endpoint: translator.ImageEdits} // a multipart form (D160)
	case "/audio/speech":
		return route{kind: routeLLM, endpoint: translator.AudioSpeech}
	case "/audio/transcriptions":
		return route{kind: routeLLM, endpoint: translator.AudioTranscriptions}
	case "/rerank", "/v2/rerank":
		return route{kind: routeLLM, endpoint: translator.Rerank}
	case "/responses":
		return route{kind: routeLLM, endpoint: translator.Responses} // OpenAI's Responses API (responses.go, D137)
	}
	if id, _, ok := translator.ResponsesPathID(p); ok {
		return route{kind: routeLLM, endpoint: translator.Responses, responseID: id}
	}
	return route{}
}

// classifyGenAI is Google's /v1beta/models/{model}:generateContent and
// :streamGenerateContent (also under /models/), LiteLLM's google_genai
// routes (D160); the model is the path's.
func classifyGenAI(p string) (route, bool) {
	rest, ok := strings.CutPrefix(p, "/v1beta/models/")
	if !ok {
		if rest, ok = strings.CutPrefix(p, "/models/"); !ok {
			return route{}, false
		}
	}
	i := strings.LastIndexByte(rest, ':')
	if i <= 0 {
		return route{}, false
	}
	model, action := rest[:i], rest[i+1:]
	if action != "generateContent" && action != "streamGenerateContent" {
		return route{}, false
	}
	m, err := url.PathUnescape(model)
	if err != nil {
		return route{}, false
	}
	return route{kind: routeLLM, endpoint: translator.GenerateContent, pathModel: m, stream: action == "streamGenerateContent"}, true
}

// classifyBedrock is LiteLLM's Bedrock pass-through of a model call,
// /bedrock/model/{model}/{converse|converse-stream|invoke|
// invoke-with-response-stream}, served through the router when the model
// names a model_list group (D160).
func classifyBedrock(p string) (route, bool) {
	rest, ok := strings.CutPrefix(p, "/bedrock/model/")
	if !ok {
		return route{}, false
	}
	i := strings.LastIndexByte(rest, '/')
	if i <= 0 {
		return route{}, false
	}
	action := rest[i+1:]
	switch action {
	case "converse", "converse-stream", "invoke", "invoke-with-response-stream":
	default:
		return route{}, false
	}
	m, err := url.PathUnescape(rest[:i])
	if err != nil {
		return route{}, false
	}
	return route{kind: routeLLM, endpoint: translator.BedrockPassThrough, pathModel: m, action: action,
		stream: action == "converse-stream" || action == "invoke-with-response-stream"}, true
}
