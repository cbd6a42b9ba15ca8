package alerting

import (
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/outcome"
)

// A request unanswered after alerting_threshold raises one
// llm_requests_hanging alert naming it; a request answered in time, or
// refused, raises none; an alert type that is off raises none.
func TestHangingRequestsAlerted(t *testing.T) {
	h := newHook(t)
	s := settings(h)
	s.Types[LLMRequestsHanging] = true
	s.Threshold = 200 * time.Millisecond
	a := New(nil, s)
	defer a.Close()
	now := time.Now()
	a.Begin(Begun{CallID: "slow-1", Model: "gpt-x", APIBase: "api.example", DeploymentID: "d1", KeyAlias: "ci", Start: now})
	a.Begin(Begun{CallID: "fast-1", Model: "gpt-x", Start: now})
	a.Observe(outcome.Try{CallID: "fast-1", Status: 200, Start: now, End: now, Answer: outcome.AnswerSent})
	// A retried try does not end the request.
	a.Observe(outcome.Try{CallID: "slow-1", Status: 500, ErrorClass: "InternalServerError", Start: now, End: now, Answer: outcome.AnswerRetried})
	deadline := time.Now().Add(5 * time.Second)
	var got []string
	for time.Now().Before(deadline) {
		got = nil
		for _, m := range h.texts("/default") {
			if strings.Contains(m, "Requests are hanging") {
				got = append(got, m)
			}
		}
		if len(got) > 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(600 * time.Millisecond) // more checks: still one alert
	got = nil
	for _, m := range h.texts("/default") {
		if strings.Contains(m, "Requests are hanging") {
			got = append(got, m)
		}
	}
	if len(got) != 1 {
		t.Fatalf("hanging alerts %q, want one", got)
	}
	for _, want := range []string{"`Requests are hanging - 0.2s+ request time`", "Request ID: `slow-1`", "Request Model: `gpt-x`",
		"API Base: `api.example`", "Deployment ID: `d1`", "Key Alias: `ci`"} {
		if !strings.Contains(got[0], want) {
			t.Errorf("alert %q lacks %q", got[0], want)
		}
	}
	if strings.Contains(got[0], "fast-1") {
		t.Error("an answered request was alerted")
	}
}
