package router

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/llmgate/llmgate/internal/model"
	"github.com/llmgate/llmgate/internal/store"
	"github.com/llmgate/llmgate/translator"
)

// Outcome is what the attempt filter learned from one upstream try.
type Outcome struct {
	DeploymentID     string
	Group            string
	Status           int // HTTP status from the provider (0: none, e.g. a timeout or reset)
	Class            translator.ErrorClass
	RetryAfter       time.Duration // the provider's Retry-After, when sent
	Latency          time.Duration // whole call
	TimeToFirstToken time.Duration // streams
	Usage            translator.Usage
	Stream           bool
	Timeout          bool
	// InStream: the try failed inside a stream that began 200 (the
	// provider's error event, D82); Status and Class are
	// translator.StreamFailureOf's.
	InStream bool
	// CallID is the request's (PlanRequest.CallID): a success stores the
	// pins its plan left (pins.go).
	CallID string
}

// Begin counts a call to a deployment before it is made: one request in this
// minute's rpm and one in flight. It refuses (Allowed false, nothing counted)
// when the deployment's rpm or max_parallel_requests would be exceeded, so
// hard limits hold across instances. Every allowed Begin needs one End.
func (r *Router) Begin(ctx context.Context, deploymentID string) (store.BeginResult, error) {
	d, ok := r.m.Deployment(deploymentID)
	if !ok {
		return store.BeginResult{}, fmt.Errorf("begin: unknown deployment %q", deploymentID)
	}
	res, err := r.store.Begin(ctx, deploymentID, store.Limits{RPM: d.Limits.RPM, MaxParallel: int64(d.Limits.MaxParallel)})
	if err != nil {
		return res, fmt.Errorf("begin deployment %q: %w", deploymentID, err)
	}
	return res, nil
}

// End ends a call started by Begin.
func (r *Router) End(ctx context.Context, deploymentID string) error {
	if err := r.store.End(ctx, deploymentID); err != nil {
		return fmt.Errorf("end deployment %q: %w", deploymentID, err)
	}
	return nil
}

// countsForCooldown is LiteLLM's rule: 429, 401, 408, 404, 5xx and timeouts
// count toward cooldown; other 4xx do not.
func countsForCooldown(o Outcome) bool {
	if o.Timeout {
		return true
	}
	switch {
	case o.Status == 429, o.Status == 401, o.Status == 408, o.Status == 404, o.Status >= 500:
		return true
	case o.Status >= 400:
		return false
	case o.Status == 0:
		switch o.Class {
		case translator.ErrRateLimit, translator.ErrAuthentication, translator.ErrTimeout, translator.ErrNotFound, translator.ErrInternal:
			return true
		}
	}
	return false
}

// allowedFailsKey names the allowed_fails_policy key of an error class.
func allowedFailsKey(c translator.ErrorClass) string {
	switch c {
	case translator.ErrBadRequest, translator.ErrContextWindow:
		return "BadRequestErrorAllowedFails"
	case translator.ErrAuthentication:
		return "AuthenticationErrorAllowedFails"
	case translator.ErrTimeout:
		return "TimeoutErrorAllowedFails"
	case translator.ErrRateLimit:
		return "RateLimitErrorAllowedFails"
	case translator.ErrContentPolicy:
		return "ContentPolicyViolationErrorAllowedFails"
	case translator.ErrInternal:
		return "InternalServerErrorAllowedFails"
	case translator.ErrNotFound:
		return "NotFoundErrorAllowedFails"
	}
	return ""
}

func classOf(o Outcome) translator.ErrorClass {
	if o.Class != translator.ErrNone {
		return o.Class
	}
	switch {
	case o.Timeout || o.Status == 408:
		return translator.ErrTimeout
	case o.Status == 429:
		return translator.ErrRateLimit
	case o.Status == 401 || o.Status == 403:
		return translator.ErrAuthentication
	case o.Status == 404:
		return translator.ErrNotFound
	case o.Status >= 500:
		return translator.ErrInternal
	case o.Status >= 400:
		return translator.ErrBadRequest
	}
	return translator.ErrNone
}

func failed(o Outcome) bool {
	return o.Timeout || o.Status >= 400 || o.Class != translator.ErrNone
}

// cooldownTime is the deployment's cooldown_time, else the router's.
func (r *Router) cooldownTime(d *model.Deployment) time.Duration {
	if d != nil {
		return d.CooldownTime
	}
	return r.m.Routing.CooldownTime
}

// Report records one attempt's outcome: tokens (tpm), a latency sample
// (latency-based routing), and for failures that count (429, 401, 408, 404,
// 5xx, timeouts) the failure count and the cooldown it triggers. It returns
// the cooldown deadline in force for the deployment (zero: none).
func (r *Router) Report(ctx context.Context, o Outcome) (time.Time, error) {
	d, _ := r.m.Deployment(o.DeploymentID)
	if o.CallID != "" && !failed(o) && o.Status >= 200 && o.Status < 300 && !o.InStream {
		r.settlePins(o, d)
	}
	group := o.Group
	if d != nil {
		group = d.Group
	}
	rec := store.Record{
		DeploymentID:  o.DeploymentID,
		Tokens:        int64(tokens(o.Usage)),
		CooldownAfter: -1,
	}
	if r.m.Track.Latencies {
		if v, ok := latencySample(o); ok {
			rec.HasLatency, rec.Latency = true, v
			rec.LatencyMax, rec.LatencyTTL = r.m.Routing.MaxLatencyListSize, r.m.Routing.LatencyTTL
		}
	}
	if failed(o) && countsForCooldown(o) && !(o.InStream && d != nil && !translator.StreamFailureCoolsDown(d.Provider)) && r.mayCoolDown(d) {
		class := classOf(o)
		rec.FailureClass = "any"
		rec.CooldownAfter = int64(r.m.Routing.AllowedFails)
		if n, ok := r.m.Routing.AllowedFailsPolicy[allowedFailsKey(class)]; ok {
			rec.FailureClass = allowedFailsKey(class)
			rec.CooldownAfter = int64(n)
		}
		// A 429 on a group with more than one deployment cools down at once.
		rec.CooldownNow = o.Status == 429 || (o.Status == 0 && class == translator.ErrRateLimit)
		cd := r.cooldownTime(d)
		if o.RetryAfter > cd {
			cd = o.RetryAfter
		}
		rec.CooldownUntil = r.now().Add(cd)
	}
	if d != nil && len(d.Budgets) > 0 && !failed(o) {
		if err := r.addSpend(ctx, d, o); err != nil {
			r.log.Warn("deployment spend not counted", "deployment", d.ID, "error", err)
		}
	}
	if d != nil && (d.Limits.IO() || d.Limits.Daily()) {
		ioCounts(&rec, d, o.Usage)
	}
	if rec.Tokens == 0 && !rec.HasLatency && rec.FailureClass == "" && rec.InputTokens == 0 && rec.OutputTokens == 0 && !rec.Daily {
		return time.Time{}, nil
	}
	res, err := r.store.Record(ctx, rec)
	if err != nil {
		return time.Time{}, fmt.Errorf("report deployment %q: %w", o.DeploymentID, err)
	}
	if res.CooledDown {
		r.log.Info("deployment cooling down", "deployment", o.DeploymentID, "group", group,
			"until", res.CooldownUntil, "status", o.Status, "failures_this_minute", res.Failures)
	}
	return res.CooldownUntil, nil
}

// mayCoolDown: never with disable_cooldowns, never a wildcard deployment,
// never the only deployment of its group (model.Group.MayCoolDown).
func (r *Router) mayCoolDown(d *model.Deployment) bool {
	if d == nil || d.Wildcard {
		return false
	}
	g, ok := r.m.Group(d.Group)
	return ok && g.MayCoolDown
}

func tokens(u translator.Usage) int {
	if u.TotalTokens > 0 {
		return u.TotalTokens
	}
	return u.PromptTokens + u.CompletionTokens
}

// latencySample is LiteLLM's latency score: seconds per output token
// (time to first token for streams), 1000 for a timeout; failures other than
// timeouts leave no sample.
func latencySample(o Outcome) (float64, bool) {
	if o.Timeout || o.Class == translator.ErrTimeout || o.Status == 408 {
		return timeoutPenalty, true
	}
	if failed(o) {
		return 0, false
	}
	if o.Stream && o.TimeToFirstToken > 0 {
		return o.TimeToFirstToken.Seconds(), true
	}
	if o.Latency <= 0 {
		return 0, false
	}
	if o.Usage.CompletionTokens > 0 {
		return o.Latency.Seconds() / float64(o.Usage.CompletionTokens), true
	}
	return o.Latency.Seconds(), true
}

// retryPolicyKey names the retry_policy key of an error class.
func retryPolicyKey(c translator.ErrorClass) string {
	switch c {
	case translator.ErrAuthentication:
		return "AuthenticationErrorRetries"
	case translator.ErrTimeout:
		return "TimeoutErrorRetries"
	case translator.ErrRateLimit:
		return "RateLimitErrorRetries"
	case translator.ErrContentPolicy:
		return "ContentPolicyViolationErrorRetries"
	case translator.ErrInternal:
		return "InternalServerErrorRetries"
	case translator.ErrBadRequest, translator.ErrContextWindow:
		return "BadRequestErrorRetries"
	case translator.ErrNotFound:
		return "NotFoundErrorRetries"
	}
	return ""
}

// RetriesFor is the number of retries for an error class: retry_policy when
// it names the class, else num_retries; a 404 (NotFound) is not retried
// unless retry_policy says so.
func (r *Router) RetriesFor(class translator.ErrorClass) int {
	return r.retriesFor(r.m.Routing.RetryPolicy, class)
}

// retryPolicy is a group's retry_policy: its model_group_retry_policy
// entry, which replaces the router's retry_policy for it, else the router's.
func (r *Router) retryPolicy(group string) map[string]int {
	if p, ok := r.m.Routing.GroupRetryPolicy[group]; ok {
		return p
	}
	return r.m.Routing.RetryPolicy
}

func (r *Router) retriesFor(policy map[string]int, class translator.ErrorClass) int {
	if n, ok := policy[retryPolicyKey(class)]; ok {
		return max(n, 0)
	}
	if class == translator.ErrNotFound {
		return 0
	}
	return r.m.Routing.NumRetries
}

// RetriesForGroup is RetriesFor with the group's retry_policy
// (model_group_retry_policy), except that context-window and
// content-policy errors are not retried when the group has a matching
// fallback list (the caller goes to PlanFallback instead).
func (r *Router) RetriesForGroup(group string, class translator.ErrorClass) int {
	switch class {
	case translator.ErrContextWindow:
		if len(r.FallbackGroups(group, ContextWindowFallbacks)) > 0 {
			return 0
		}
	case translator.ErrContentPolicy:
		if len(r.FallbackGroups(group, ContentPolicyFallbacks)) > 0 {
			return 0
		}
	}
	return r.retriesFor(r.retryPolicy(group), class)
}

// RetryRule is the number of retries a rule sets for an error class of a
// group: its retry_policy (model_group_retry_policy, else the router's)
// naming the class, no retry on 404, none on
// context-window or content-policy errors that have a fallback list. ok is
// false when no rule does: the plan's own retries decide (num_retries of the
// request, its x-litellm-num-retries header, the deployment, or the router).
func (r *Router) RetryRule(group string, class translator.ErrorClass) (n int, ok bool) {
	if n, ok := r.retryPolicy(group)[retryPolicyKey(class)]; ok {
		return max(n, 0), true
	}
	switch class {
	case translator.ErrNotFound:
		return 0, true
	case translator.ErrContextWindow, translator.ErrContentPolicy:
		if r.RetriesForGroup(group, class) == 0 {
			return 0, true
		}
	}
	return 0, false
}

// Backoff is the wait before retry n (0-based): none when another healthy
// deployment can take the retry; else the provider's Retry-After when it is
// within 0–60 s; else 0.5·2ⁿ s, at least retry_after, capped at 8 s, less up
// to 25% jitter.
func (r *Router) Backoff(n int, retryAfter time.Duration, otherHealthy bool) time.Duration {
	if otherHealthy {
		return 0
	}
	if retryAfter > 0 && retryAfter <= 60*time.Second {
		return retryAfter
	}
	s := math.Min(math.Max(0.5*math.Pow(2, float64(max(n, 0))), r.m.Routing.RetryAfter.Seconds()), 8)
	jitter := 1 - 0.25*r.float64()
	return time.Duration(s * jitter * float64(time.Second))
}

// UsageHeaders computes x-ratelimit-{limit,remaining}-{requests,tokens} for
// a model group whose deployments set rpm/tpm (one store read). Plan returns
// the same headers without an extra read.
func (r *Router) UsageHeaders(ctx context.Context, group string) (map[string]string, error) {
	ds := r.m.GroupDeployments(group)
	ids := make([]string, 0, len(ds))
	for _, d := range ds {
		ids = append(ids, d.ID)
	}
	st, err := r.store.Read(ctx, ids, store.ReadOptions{})
	if err != nil {
		return nil, fmt.Errorf("usage of model group %q: %w", group, err)
	}
	return usageHeaders(ds, st), nil
}

func usageHeaders(ds []*model.Deployment, st map[string]store.DeploymentState) map[string]string {
	var rpmLim, rpmUsed, tpmLim, tpmUsed int64
	for _, d := range ds {
		s := st[d.ID]
		if lim := d.Limits.RPM; lim > 0 {
			rpmLim += lim
			rpmUsed += min(s.RPM, lim)
		}
		if lim := d.Limits.TPM; lim > 0 {
			tpmLim += lim
			tpmUsed += min(s.TPM, lim)
		}
	}
	if rpmLim == 0 && tpmLim == 0 {
		return nil // (no map per request for a group without limits)
	}
	h := make(map[string]string, 5) // (room for the plan's max retries header: the caller's to write, D116)
	if rpmLim > 0 {
		h["x-ratelimit-limit-requests"] = strconv.FormatInt(rpmLim, 10)
		h["x-ratelimit-remaining-requests"] = strconv.FormatInt(rpmLim-rpmUsed, 10)
	}
	if tpmLim > 0 {
		h["x-ratelimit-limit-tokens"] = strconv.FormatInt(tpmLim, 10)
		h["x-ratelimit-remaining-tokens"] = strconv.FormatInt(tpmLim-tpmUsed, 10)
	}
	return h
}
