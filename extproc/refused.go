package extproc

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/llmgate/llmgate/internal/outcome"
	"github.com/llmgate/llmgate/translator"
)

// refused publishes, for the outcome sinks, a request the request filter
// answered itself before any try: LiteLLM runs its post-call failure hook for
// such requests (Prometheus counts them as failed client requests, failure
// callbacks log them). It runs only on the refusal's own path and only with
// a sink listening; Publish never blocks. body may be nil (refused before it
// was read); the model and end user are read from it when present.
func (s *Server) refused(h map[string]string, rt route, id identity, body []byte, e *translator.Error, start time.Time) {
	if e == nil || !s.Outcomes.Active() {
		return
	}
	ev := outcome.Try{
		CallID:       h["x-request-id"],
		Endpoint:     rt.endpoint.String(),
		Route:        clientPath(h[":path"]),
		KeyHash:      id.token,
		Status:       e.Status,
		ErrorClass:   refusalClass(e),
		ErrorMessage: e.Message,
		Start:        start,
		End:          s.now(),
		Answer:       outcome.AnswerSent,
		Refused:      true,
		Traceparent:  validTraceparent(h["traceparent"]),
	}
	if len(body) > 0 {
		var f struct {
			Model  string `json:"model"`
			User   string `json:"user"`
			Stream bool   `json:"stream"`
		}
		if json.Unmarshal(body, &f) == nil {
			ev.RequestedModel, ev.EndUser, ev.Stream = f.Model, f.User, f.Stream
		}
	}
	if rt.pathModel != "" {
		ev.RequestedModel = rt.pathModel
	}
	s.Outcomes.Publish(ev)
}

// refusedTooLarge is refused for an answer built as a ProcessingResponse (a
// body over max_request_size_mb: 413).
func (s *Server) refusedTooLarge(h map[string]string, rt route, id identity, start time.Time) {
	s.refused(h, rt, id, nil, &translator.Error{Status: 413, Type: "invalid_request_error",
		Message: "Request size is too large"}, start)
}

// refusalClass is the exception class LiteLLM's proxy reports for a request
// it refused before calling a model (Prometheus' exception_class, the
// callbacks' error_class): the Python class raised by its auth, limiter or
// routing step.
func refusalClass(e *translator.Error) string {
	switch {
	case e.Type == "budget_exceeded":
		return "BudgetExceededError"
	case e.Class == translator.ErrRateLimit:
		return "RateLimitError" // the router's: no deployment available
	case e.Status == 429:
		return "HTTPException" // the key / team / user limiter's
	case e.Status == 400 && strings.HasPrefix(e.Message, "Invalid model name"):
		return "ProxyModelNotFoundError"
	case e.Class == translator.ErrContextWindow:
		return "ContextWindowExceededError"
	}
	return "ProxyException" // auth errors, size and body checks
}
