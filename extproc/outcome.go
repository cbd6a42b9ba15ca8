package extproc

import (
	"context"
	"strconv"
	"strings"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"

	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/keys"
	"github.com/llmgate/llmgate/internal/outcome"
	"github.com/llmgate/llmgate/router"
	"github.com/llmgate/llmgate/translator"
)

// publish hands the try's outcome to the outcome bus (metrics, spend,
// callbacks). It runs after the attempt filter's last reply to Envoy (but
// for an answer with spend: settle), and Publish never blocks (D-entry
// "outcome bus"). It returns the spend sink's mark after the event when the
// spend sink writes the event's spend (0 otherwise).
func (s *Server) publish(t *try, o router.Outcome, cooldownUntil time.Time) (spendMark uint64) {
	if !s.Outcomes.Active() && !t.rc.KeyParallel {
		return 0
	}
	ev := t.outcomeTry(o)
	ev.CooldownUntil = cooldownUntil
	if t.rc.KeyParallel && ev.Answer != outcome.AnswerRetried && t.st.keys != nil {
		// The answer went to the client: the key's parallel slot is free.
		t.st.keys.EndFor(context.Background(), t.rc.KeyHash, t.rc.TeamId, t.rc.UserId)
	}
	s.Outcomes.Publish(ev)
	if ev.Answer == outcome.AnswerSent && keys.Spends(&ev) {
		return s.Outcomes.Mark(keys.SpendSink)
	}
	return 0
}

// settle reports the try's outcome once: Router.Report (cooldowns,
// latency, tokens) and the outcome bus. It returns the spend sink's mark
// when the answer's spend is to be written (publish).
func (t *try) settle(o *router.Outcome) (spendMark uint64) {
	if t.settled || t.srv == nil {
		return 0
	}
	t.settled = true
	if o.Latency == 0 { // (finalBody sets it when the answer is whole)
		o.Latency = time.Since(t.sent)
	}
	var until time.Time
	if !t.client { // (a request's own deployment is not the config's: never cooled down or counted, D156)
		var err error
		if until, err = t.st.Router.Report(context.Background(), *o); err != nil {
			t.srv.log.Warn("router report", "deployment", t.d.ID, "error", err)
		}
	}
	return t.srv.publish(t, *o, until)
}

// spendWait bounds how long an answer's last bytes wait for its spend to be
// written (below ext_proc's message timeout, 5 s): the spend sink is held
// at most 2 s by an event (a tpm_limit count on a Redis that does not
// answer, sink.go).
const spendWait = 3 * time.Second

// beforeLastReply runs before the reply that ends the client's answer. An
// answer that carries spend (a virtual key's or a tracked end user's
// success) is reported now, and its last bytes wait until the spend sink
// has its write-ahead line written: from the moment the client has the
// whole answer, its spend survives kill -9 (docs/architecture.md D92). It
// used to be published after the last reply, so an answer a client had
// received could lose its spend when the gateway was killed before the
// sink ran. Other tries are reported after the last reply, as before.
func (t *try) beforeLastReply(o *router.Outcome) {
	if t.srv == nil || t.settled || !keys.MaySpend(t.rc.KeyHash, t.rc.TeamId, t.rc.EndUser) || o.Status < 200 || o.Status >= 300 {
		return
	}
	mark := t.settle(o)
	if mark == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), spendWait)
	defer cancel()
	if !t.srv.Outcomes.Await(ctx, keys.SpendSink, mark) {
		t.srv.log.Warn("an answer's spend is not in the write-ahead file after "+spendWait.String()+"; answering anyway", "call_id", t.rc.CallId)
	}
}

// outcomeTry is the bus event of this try.
func (t *try) outcomeTry(o router.Outcome) outcome.Try {
	ev := outcome.Try{
		CallID:           t.rc.CallId,
		ModelGroup:       t.a.ModelGroup,
		RequestedModel:   t.rc.RequestedModel,
		DeploymentID:     t.d.ID,
		Model:            t.a.Model,
		Provider:         t.d.Provider,
		APIBase:          t.base.Authority(),
		Endpoint:         t.ep.String(),
		Route:            routeOf(t.rc.OriginalPath),
		KeyHash:          t.rc.KeyHash,
		KeyAlias:         t.rc.KeyAlias,
		TeamID:           t.rc.TeamId,
		UserID:           t.rc.UserId,
		EndUser:          t.rc.EndUser,
		Status:           o.Status,
		ErrorClass:       exceptionName(o),
		Timeout:          o.Timeout,
		Stream:           t.rc.Stream,
		PromptTokens:     o.Usage.PromptTokens,
		CompletionTokens: o.Usage.CompletionTokens,
		TotalTokens:      o.Usage.TotalTokens,
		Latency:          o.Latency,
		TimeToFirstToken: o.TimeToFirstToken,
		Overhead:         time.Duration(t.rc.OverheadNanos),
		Attempt:          t.index,
		Retry:            int(t.a.Retry),
		Fallback:         int(t.a.FallbackIndex),
		Answer:           t.answer,
		Traceparent:      t.rc.Traceparent,
		Tags:             t.rc.Tags,
		LateTags:         lateTags(t.rc.LateTags, t.d),
		UserAgent:        t.rc.UserAgent,
		MetadataLabels:   t.rc.MetadataLabels,
	}
	if ev.TotalTokens == 0 {
		ev.TotalTokens = ev.PromptTokens + ev.CompletionTokens
	}
	if t.rc.StartUnixNano > 0 {
		ev.Start = time.Unix(0, t.rc.StartUnixNano)
	}
	if !t.sent.IsZero() {
		ev.End = t.sent.Add(o.Latency)
	} else {
		ev.End = time.Now()
	}
	if v, err := strconv.ParseInt(t.respHdr["x-ratelimit-remaining-requests"], 10, 64); err == nil {
		ev.RemainingRequests, ev.HasRemainingRequests = v, true
	}
	if v, err := strconv.ParseInt(t.respHdr["x-ratelimit-remaining-tokens"], 10, 64); err == nil {
		ev.RemainingTokens, ev.HasRemainingTokens = v, true
	}
	if ev.Answer == outcome.AnswerUnknown && (o.Status > 0 || o.Timeout) {
		// No retry or redirect was asked for this answer. A try Envoy cut
		// short (per-try timeout, reset) is retried when the plan has
		// another attempt (retry_on 5xx,reset).
		ev.Answer = outcome.AnswerSent
		if o.Timeout && t.index+1 < len(t.rc.Attempts) {
			ev.Answer = outcome.AnswerRetried
		}
	}
	if o.Usage.Priced() {
		ev.Cost, ev.CostKnown = t.st.Router.Cost(t.d, t.d.Provider, t.a.Model, o.Usage, o.Latency)
	}
	return ev
}

// routeOf is the client's path without its query.
func routeOf(path string) string {
	if i := strings.IndexByte(path, '?'); i >= 0 {
		return path[:i]
	}
	return path
}

// answerOf tells from the header changes of an answered error whether Envoy
// will try again (the retry header, or a fallback redirect).
func answerOf(set []*corev3.HeaderValueOption) outcome.Answer {
	for _, h := range set {
		switch k := h.GetHeader().GetKey(); {
		case k == contract.RetryHeader, k == contract.FallbackHeader:
			return outcome.AnswerRetried
		}
	}
	return outcome.AnswerSent
}

// exceptionName is LiteLLM's exception class for a failed try ("" for a
// success), as its metrics and callbacks name it.
func exceptionName(o router.Outcome) string {
	if o.Timeout {
		return "Timeout"
	}
	switch o.Class {
	case translator.ErrBadRequest:
		return "BadRequestError"
	case translator.ErrAuthentication:
		if o.Status == 403 {
			return "PermissionDeniedError"
		}
		return "AuthenticationError"
	case translator.ErrNotFound:
		return "NotFoundError"
	case translator.ErrTimeout:
		return "Timeout"
	case translator.ErrRateLimit:
		return "RateLimitError"
	case translator.ErrContextWindow:
		return "ContextWindowExceededError"
	case translator.ErrContentPolicy:
		return "ContentPolicyViolationError"
	case translator.ErrInternal:
		if o.Status == 503 {
			return "ServiceUnavailableError"
		}
		return "InternalServerError"
	}
	switch {
	case o.Status >= 500:
		return "InternalServerError"
	case o.Status >= 400:
		return "BadRequestError"
	}
	return ""
}
