package translator

import (
	"strconv"
	"strings"
)

// LiteLLM maps every provider error to one of its exception classes
// (litellm/exceptions.py, chosen by litellm_core_utils/exception_mapping_utils.py)
// and its proxy reports the class's OpenAI type, the status as the code, and
// the message prefixed with the class: "litellm.RateLimitError: RateLimitError:
// OpenAIException - <provider message>". Clients branch on error.type, so the
// gateway reports the same strings. The table below is LiteLLM's, by status
// and class:
//
//	status / class            exception class               type
//	context window            ContextWindowExceededError    invalid_request_error (400)
//	content policy            ContentPolicyViolationError   invalid_request_error (400)
//	400, other 4xx            BadRequestError               invalid_request_error
//	401                       AuthenticationError           authentication_error
//	403                       PermissionDeniedError         permission_error (OpenAI family: APIError)
//	404                       NotFoundError                 not_found_error
//	408                       Timeout                       timeout_error
//	422                       UnprocessableEntityError      invalid_request_error
//	429                       RateLimitError                throttling_error
//	500, other 5xx            InternalServerError           internal_server_error
//	502                       BadGatewayError               internal_server_error
//	503                       ServiceUnavailableError       internal_server_error
//
// RateLimitError is the one class that sets its own type in LiteLLM's source
// ("throttling_error", code "429"); the others are what its proxy 1.10x
// answers (observed side by side, LITELLM_SEMANTICS.md).

// liteLLMClass is LiteLLM's exception class and OpenAI type for an error.
func liteLLMClass(e *Error, openAIFamily bool) (class, typ string) {
	switch e.Class {
	case ErrContextWindow:
		return "ContextWindowExceededError", "invalid_request_error"
	case ErrContentPolicy:
		return "ContentPolicyViolationError", "invalid_request_error"
	}
	switch s := e.Status; {
	case s == 401:
		return "AuthenticationError", "authentication_error"
	case s == 403:
		if openAIFamily {
			return "APIError", "permission_error"
		}
		return "PermissionDeniedError", "permission_error"
	case s == 404:
		return "NotFoundError", "not_found_error"
	case s == 408:
		return "Timeout", "timeout_error"
	case s == 422:
		return "UnprocessableEntityError", "invalid_request_error"
	case s == 429:
		return "RateLimitError", "throttling_error"
	case s == 502:
		return "BadGatewayError", "internal_server_error"
	case s == 503:
		return "ServiceUnavailableError", "internal_server_error"
	case s >= 500:
		return "InternalServerError", "internal_server_error"
	}
	return "BadRequestError", "invalid_request_error"
}

// ExceptionProvider is the "<Provider>Exception" name LiteLLM puts in its
// messages: OpenAIException for openai, the provider's name with a capital
// first letter for other OpenAI-compatible ones (GroqException), and the
// provider's own name otherwise.
func ExceptionProvider(provider string) string {
	switch provider {
	case "openai", "text-completion-openai", "custom_openai", "":
		return "OpenAIException"
	case "azure", "azure_text":
		return "AzureException"
	case "anthropic":
		return "AnthropicException"
	case "bedrock":
		return "BedrockException"
	case "vertex_ai":
		return "VertexAIException"
	case "gemini":
		return "GeminiException"
	case "cohere", "cohere_chat":
		return "CohereException"
	case "ollama", "ollama_chat":
		return "OllamaException"
	case "huggingface":
		return "HuggingfaceException"
	}
	return strings.ToUpper(provider[:1]) + provider[1:] + "Exception"
}

// AsLiteLLM rewrites a provider error the way LiteLLM's exception mapping
// reports it: its type for the status and class, the status as the code,
// and the message prefixed with the exception class and provider. Status,
// param and class are kept (context-window and content-policy errors become
// 400, as LiteLLM's BadRequestError subclasses are). An error that already
// carries the prefix is returned as it is.
func AsLiteLLM(e *Error, provider string) *Error {
	if e == nil || strings.HasPrefix(e.Message, "litellm.") {
		return e
	}
	family := IsPassThrough(provider) || provider == ""
	class, typ := liteLLMClass(e, family)
	out := *e
	if e.Class == ErrContextWindow || e.Class == ErrContentPolicy {
		out.Status = 400
	}
	out.Type = typ
	out.Code = strconv.Itoa(out.Status)
	if family {
		// OpenAI-family messages name the class twice: LiteLLM wraps the
		// OpenAI SDK's exception text.
		out.Message = "litellm." + class + ": " + class + ": " + ExceptionProvider(provider) + " - " + e.Message
	} else {
		out.Message = "litellm." + class + ": " + ExceptionProvider(provider) + " - " + e.Message
	}
	return &out
}
