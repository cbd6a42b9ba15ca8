package router

import (
	"fmt"
	"time"
)

// NoDeploymentsError means every deployment of the model group (and of its
// fallbacks) is cooling down, over its rpm/tpm, or at max_parallel_requests.
// The caller answers it with an OpenAI-format 429 and a retry-after header.
type NoDeploymentsError struct {
	Group string
	// RetryAfter is when a deployment is expected back: the end of the
	// nearest cooldown, or the next UTC minute for rate limits (at least 1s).
	RetryAfter time.Duration
}

func (e *NoDeploymentsError) Error() string {
	return fmt.Sprintf("No deployments available for selected model, Try again in %d seconds. Passed model=%s",
		e.RetryAfterSeconds(), e.Group)
}

// Status is the HTTP status for the client.
func (e *NoDeploymentsError) Status() int { return 429 }

// RetryAfterSeconds is RetryAfter rounded up to whole seconds (at least 1).
func (e *NoDeploymentsError) RetryAfterSeconds() int {
	s := int((e.RetryAfter + time.Second - 1) / time.Second)
	return max(s, 1)
}

// ContextWindowError is the pre-call check's verdict (enable_pre_call_checks):
// no deployment of the group takes this many input tokens. The caller starts
// the context_window_fallbacks (PlanFallback with ContextWindowFallbacks) or
// answers 400 context_length_exceeded.
type ContextWindowError struct {
	Group       string
	InputTokens int
	MaxInput    int // the largest max_input_tokens in the group
}

func (e *ContextWindowError) Error() string {
	return fmt.Sprintf("This model's maximum context length is %d tokens. However, your messages resulted in %d tokens. model=%s",
		e.MaxInput, e.InputTokens, e.Group)
}

// Status is the HTTP status for the client.
func (e *ContextWindowError) Status() int { return 400 }
