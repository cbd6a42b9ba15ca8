package router

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
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

// ModelRateLimitError is LiteLLM's ModelRateLimitingCheck
// (optional_pre_call_checks' enforce_model_rate_limits, D168): every
// deployment of the group is at its rpm or tpm and one of them (the first
// left out) is named. The caller answers it 429 with LiteLLM's message.
type ModelRateLimitError struct {
	Kind         string // "RPM" or "TPM"
	Limit, Usage int64
	DeploymentID string
	Group        string
	// RetryAfter is when a deployment is expected back (the next UTC
	// minute, or a nearer cooldown's end; at least 1 s).
	RetryAfter time.Duration
}

func (e *ModelRateLimitError) Error() string {
	return fmt.Sprintf("Model rate limit exceeded. %s limit=%d, current usage=%d", e.Kind, e.Limit, e.Usage)
}

// Status is the HTTP status for the client.
func (e *ModelRateLimitError) Status() int { return 429 }

// RetryAfterSeconds is RetryAfter rounded up to whole seconds (at least 1).
func (e *ModelRateLimitError) RetryAfterSeconds() int {
	return max(int((e.RetryAfter+time.Second-1)/time.Second), 1)
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

// TagRoutingError means tag routing (enable_tag_filtering) left no
// deployment of the model group for the request's tags: none matches them
// and none is tagged "default". The caller answers it as LiteLLM's proxy
// does: 401 with LiteLLM's message.
type TagRoutingError struct {
	Group string
	Tags  []string
}

func (e *TagRoutingError) Error() string {
	return "Not allowed to access model due to tags configuration. Passed model=" + e.Group + " and tags=" + pyList(e.Tags)
}

// Status is the HTTP status for the client.
func (e *TagRoutingError) Status() int { return 401 }

// pyList writes a list of strings as Python prints one (['a', 'b']), as
// LiteLLM's messages carry it.
func pyList(ss []string) string {
	b := []byte{'['}
	for i, s := range ss {
		if i > 0 {
			b = append(b, ", "...)
		}
		q := byte('\'')
		if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
			q = '"'
		}
		b = append(b, q)
		for _, r := range s {
			switch {
			case r == '\\' || r == rune(q):
				b = append(b, '\\', byte(r))
			case r == '\n':
				b = append(b, `\n`...)
			default:
				b = utf8.AppendRune(b, r)
			}
		}
		b = append(b, q)
	}
	return string(append(b, ']'))
}
