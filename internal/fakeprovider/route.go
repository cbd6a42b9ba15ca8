package fakeprovider

import (
	"net/http"
	"net/url"
	"strings"
)

// endpoint is the handler chosen for a request path.
type endpoint struct {
	provider provider
	model    string
	extra    string
	handle   func(*call)
}

// route matches on path suffixes so any api_base prefix works
// ("http://127.0.0.1:P/dep-a/v1" + "/chat/completions").
func route(r *http.Request) (endpoint, bool) {
	p := r.URL.Path
	post := r.Method == http.MethodPost

	// AWS Bedrock runtime: /model/{modelId}/{converse|converse-stream|invoke}
	if post {
		ep := r.URL.EscapedPath()
		if i := strings.LastIndex(ep, "/model/"); i >= 0 {
			id, op, ok := strings.Cut(ep[i+len("/model/"):], "/")
			if model, err := url.PathUnescape(id); ok && err == nil && model != "" {
				switch op {
				case bedrockConverse, bedrockConverseStream:
					return endpoint{provider: providerBedrock, model: model, extra: op, handle: handleBedrockConverse}, true
				case bedrockInvoke:
					return endpoint{provider: providerBedrock, model: model, extra: op, handle: handleBedrockInvoke}, true
				}
			}
		}
	}

	// Gemini / Vertex AI: .../models/{model}:{action}
	if post {
		if i := strings.LastIndex(p, "/models/"); i >= 0 {
			if model, action, ok := strings.Cut(p[i+len("/models/"):], ":"); ok && model != "" && !strings.Contains(model, "/") {
				return endpoint{provider: providerGemini, model: model, extra: action, handle: handleGemini}, true
			}
		}
		if strings.HasSuffix(p, "/token") {
			return endpoint{provider: providerOAuth, handle: handleOAuthToken}, true
		}
	}

	// OpenAI's Responses API (and Azure's, /openai/responses?api-version=).
	if post && strings.HasSuffix(p, "/openai/responses") {
		return endpoint{provider: providerAzure, handle: handleOpenAIResponses}, true
	}
	if post && strings.HasSuffix(p, "/responses") {
		return endpoint{provider: providerOpenAI, handle: handleOpenAIResponses}, true
	}
	if e, ok := responseByIDRoute(r, p); ok {
		return e, true
	}
	if e, ok := filesRoute(p); ok {
		return e, true // files.go
	}

	// Azure OpenAI: /openai/deployments/{deployment}/{op}
	if i := strings.Index(p, "/openai/deployments/"); i >= 0 && post {
		rest := p[i+len("/openai/deployments/"):]
		dep, op, ok := strings.Cut(rest, "/")
		if !ok || dep == "" {
			return endpoint{}, false
		}
		switch op {
		case "chat/completions":
			return endpoint{provider: providerAzure, model: dep, handle: handleOpenAIChat}, true
		case "completions":
			return endpoint{provider: providerAzure, model: dep, handle: handleOpenAICompletion}, true
		case "embeddings":
			return endpoint{provider: providerAzure, model: dep, handle: handleOpenAIEmbeddings}, true
		case "images/generations":
			return endpoint{provider: providerAzure, model: dep, handle: handleOpenAIImages}, true
		case "images/edits":
			return endpoint{provider: providerAzure, model: dep, handle: handleOpenAIImageEdits}, true
		case "audio/speech":
			return endpoint{provider: providerAzure, model: dep, handle: handleOpenAISpeech}, true
		case "audio/transcriptions":
			return endpoint{provider: providerAzure, model: dep, handle: handleOpenAITranscriptions}, true
		}
		return endpoint{}, false
	}

	switch {
	case post && strings.HasSuffix(p, "/v2/rerank"):
		return endpoint{provider: providerCohere, handle: handleCohereRerank}, true
	case post && strings.HasSuffix(p, "/rerank"):
		return endpoint{provider: providerOpenAI, handle: handleJinaRerank}, true
	case post && strings.HasSuffix(p, "/moderations"):
		return endpoint{provider: providerOpenAI, handle: handleOpenAIModerations}, true
	case post && strings.HasSuffix(p, "/images/generations"):
		return endpoint{provider: providerOpenAI, handle: handleOpenAIImages}, true
	case post && strings.HasSuffix(p, "/images/edits"):
		return endpoint{provider: providerOpenAI, handle: handleOpenAIImageEdits}, true
	case post && strings.HasSuffix(p, "/audio/speech"):
		return endpoint{provider: providerOpenAI, handle: handleOpenAISpeech}, true
	case post && strings.HasSuffix(p, "/audio/transcriptions"):
		return endpoint{provider: providerOpenAI, handle: handleOpenAITranscriptions}, true
	case post && strings.HasSuffix(p, "/v2/chat"):
		return endpoint{provider: providerCohere, handle: handleCohereChat}, true
	case post && strings.HasSuffix(p, "/v2/embed"):
		return endpoint{provider: providerCohere, handle: handleCohereEmbed}, true
	case post && strings.HasSuffix(p, "/api/chat"):
		return endpoint{provider: providerOllama, extra: "chat", handle: handleOllama}, true
	case post && strings.HasSuffix(p, "/api/generate"):
		return endpoint{provider: providerOllama, extra: "generate", handle: handleOllama}, true
	case post && strings.HasSuffix(p, "/api/embed"):
		return endpoint{provider: providerOllama, extra: "embed", handle: handleOllama}, true
	case post && strings.HasSuffix(p, "/api/embeddings"):
		return endpoint{provider: providerOllama, extra: "embeddings", handle: handleOllama}, true
	case r.Method == http.MethodGet && strings.HasSuffix(p, "/api/tags"):
		return endpoint{provider: providerOllama, handle: handleOllamaTags}, true
	case post && strings.HasSuffix(p, "/messages"):
		return endpoint{provider: providerAnthropic, handle: handleAnthropicMessages}, true
	case post && strings.HasSuffix(p, "/chat/completions"):
		return endpoint{provider: providerOpenAI, handle: handleOpenAIChat}, true
	case post && strings.HasSuffix(p, "/completions"):
		return endpoint{provider: providerOpenAI, handle: handleOpenAICompletion}, true
	case post && strings.HasSuffix(p, "/embeddings"):
		return endpoint{provider: providerOpenAI, handle: handleOpenAIEmbeddings}, true
	case r.Method == http.MethodGet && strings.HasSuffix(p, "/models"):
		return endpoint{provider: providerOpenAI, handle: handleOpenAIModels}, true
	}
	return endpoint{}, false
}
