package xds

import (
	"github.com/llmgate/llmgate/internal/model"
	"github.com/llmgate/llmgate/internal/upstream"
)

// Translated deployments served by the module (docs/architecture.md D61).
// In module mode (ModuleUpstream) the module, every try's upstream filter,
// also translates the tries of these deployments: the OpenAI request into
// the provider's (path, host, headers, key, body) and the provider's answer
// back (a whole JSON body, or an SSE stream event by event), with the
// attempt filter's own code (extproc/moduletranslate.go). A plan whose
// attempts are all such deployments is then tagged fast: a successful try
// opens no ext_proc stream, and an error still meets the attempt filter
// from the response headers on (the composite's 4xx/5xx branch), as a fast
// OpenAI try's does.

// moduleTranslatedProviders are the providers whose tries the module
// translates: providers with a plain key header (or none) and a translator
// that needs no per-request signing (AWS SigV4, Google OAuth). The value
// says whether their streams too: a stream translator that writes the usage
// on request (translator.IncludeUsageSetter), so that the module asks for it
// always and the response side (D54) reads it and removes it when the client
// did not ask, which leaves the bytes the attempt filter writes for that
// client — Anthropic's (D61); Gemini's, Cohere's, Ollama's and Hugging
// Face's since D71.
var moduleTranslatedProviders = map[string]bool{
	"anthropic": true,
	"gemini":    true, "cohere": true, "cohere_chat": true, "huggingface": true, "ollama": true, "ollama_chat": true,
}

// ModuleTranslated reports whether the module translates the tries of a
// deployment in module mode: a provider of moduleTranslatedProviders, one
// model (no wildcard, no per-request provider), not a mock, an api_base the
// gateway can call.
func ModuleTranslated(d *model.Deployment) bool {
	if d == nil || d.Provider == "" || d.Wildcard || d.AnyProvider || d.Mock() || d.Config == nil {
		return false
	}
	if _, ok := moduleTranslatedProviders[d.Provider]; !ok {
		return false
	}
	_, err := upstream.For(d.Config)
	return err == nil
}

// ModuleTranslatedStream reports whether the module translates a
// deployment's streamed tries too (moduleTranslatedProviders).
func ModuleTranslatedStream(d *model.Deployment) bool {
	return ModuleTranslated(d) && moduleTranslatedProviders[d.Provider]
}
