package router

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/llmgate/llmgate/internal/model"
	"github.com/llmgate/llmgate/internal/store"
)

// PlanRequest is what the request filter knows about a request when it asks
// for an attempt plan.
type PlanRequest struct {
	// Model is the model name the client sent. Ignored when Resolution is set.
	Model string
	// Resolution, when set, is the already resolved model.
	Resolution *Resolution
	// InputTokens is the counted prompt size (tpm filter, pre-call checks).
	InputTokens int
	// Input, when set, counts the prompt only when the plan needs the exact
	// count (D95); InputTokens is then ignored.
	Input  *InputCount
	Stream bool
	// NumRetries is the client's num_retries, when sent.
	NumRetries *int
	// Fallbacks is the client's fallbacks list; used when FallbacksSet (an
	// empty list then means no fallbacks).
	Fallbacks    []string
	FallbacksSet bool
	// Tags are the request's tags for tag routing (enable_tag_filtering):
	// its metadata.tags as LiteLLM's proxy builds them (the body's
	// metadata.tags and tags, x-litellm-tags, the key's and team's tags).
	Tags []string
	// UserAgent is the request's User-Agent, which tag_regex patterns match
	// (read with tag routing only).
	UserAgent string
	// Prefer is a deployment id the request sticks to (LiteLLM's
	// DeploymentAffinityCheck: a Responses request's previous_response_id
	// names the deployment that answered it): when it is among a group's
	// deployments that can take the request, it is the only one tried;
	// otherwise the group is planned as usual.
	Prefer string
	// Session and Caller are what a request sticks by in the groups that
	// take LiteLLM's session_affinity or deployment_affinity
	// (model.Routing.Affinity, D168): its session id, its caller (a virtual
	// key's hash, the master key's alias, "user_id:" and a JWT user's id).
	// The first try goes to the deployment they hash to among those that
	// can take the request (stick), the retries to the others in the
	// strategy's order. Both "" route as usual.
	Session, Caller string
	// MaxTokens is the request's max_tokens, max_completion_tokens or
	// max_output_tokens (0: none sent): what an otpm limit reserves (D180).
	MaxTokens int
	// Region is the end user's allowed_model_region: with
	// enable_pre_call_checks, only deployments whose region_name is this
	// one can take the request (LiteLLM's is_region_allowed; D173).
	Region string
	// Prompt is the request's cacheable prompt prefix, for
	// optional_pre_call_checks' prompt_caching (nil: none, or too short to
	// be cached): the first try goes to the deployment that last answered
	// the prefix (pins.go, D179).
	Prompt *PromptPrefix
	// CallID names the request in its tries' outcomes (Outcome.CallID): the
	// pins its success stores wait under it.
	CallID string
}

// InputCount is a request's prompt size counted on demand (D95): a tpm
// limit with room for Bound more tokens passes the request without the
// count, which only a limit closer than that, the pre-call checks and the
// context-window error need. Count is called at most once.
type InputCount struct {
	Bound int        // at least what Count returns
	Count func() int // the exact count
	n     int
	done  bool
}

func (c *InputCount) get() int {
	if !c.done {
		c.n, c.done = c.Count(), true
	}
	return c.n
}

// tokens is the request's counted prompt size.
func (req PlanRequest) tokens() int {
	if req.Input != nil {
		return req.Input.get()
	}
	return req.InputTokens
}

// overTPM: the request's prompt takes a deployment with used tokens this
// minute over its limit (LiteLLM's tpm filter: used + input > limit).
func (req PlanRequest) overTPM(used, limit int64) bool {
	if req.Input != nil && used+int64(req.Input.Bound) <= limit {
		return false
	}
	return used+int64(req.tokens()) > limit
}

// Attempt is one upstream try of a plan.
type Attempt struct {
	DeploymentID string
	Group        string // model group of the deployment
	Provider     string
	Model        string // provider model id (wildcards substituted)
	// Fallback is true for attempts on a fallback group; FallbackIndex is then
	// its 1-based position in the fallback list used (0 for the original group).
	Fallback      bool
	FallbackIndex int
	// Retry is 0 for the first try within its group, then 1, 2, ...
	Retry int
}

// Plan is the ordered list of attempts for one request.
type Plan struct {
	Resolution Resolution
	Attempts   []Attempt
	// FallbackGroups are the fallback groups planned, in order.
	FallbackGroups []string
	// UsageHeaders are the x-ratelimit-* headers of the requested group, from
	// the same read that built the plan (empty when no deployment sets rpm/tpm):
	// a map of its own per plan, which the caller may write into.
	UsageHeaders map[string]string
}

// FallbackKind names one of the fallback lists (model.FallbackKind).
type FallbackKind = model.FallbackKind

// The fallback lists.
const (
	GeneralFallbacks       = model.GeneralFallbacks
	ContextWindowFallbacks = model.ContextWindowFallbacks
	ContentPolicyFallbacks = model.ContentPolicyFallbacks
)

// FallbackGroups returns the fallback list of a kind for a model group
// (model.Fallbacks: the one reading of the lists).
func (r *Router) FallbackGroups(group string, kind FallbackKind) []string {
	return r.m.Fallbacks(group, kind)
}

// numRetries: per-request > the deployment's (num_retries, max_retries) >
// router num_retries.
func (r *Router) numRetries(req PlanRequest, first *model.Deployment) int {
	n := r.m.Routing.NumRetries
	if first != nil && first.Retries != nil {
		n = *first.Retries
	}
	if req.NumRetries != nil {
		n = *req.NumRetries
	}
	return max(n, 0)
}

// Plan builds the attempt plan for a request: 1 + num_retries attempts on the
// model group (its healthy deployments ordered by the routing strategy, then
// cycled), then each fallback group in order with its own 1 + num_retries
// attempts. It reads the store once for every deployment involved.
func (r *Router) Plan(ctx context.Context, req PlanRequest) (*Plan, error) {
	res, err := r.resolveReq(req)
	if err != nil {
		return nil, err
	}
	fbs := r.FallbackGroups(res.Group, GeneralFallbacks)
	if req.FallbacksSet {
		fbs = r.m.CleanFallbacks(res.Group, req.Fallbacks)
	}
	if res.Wildcard && !req.FallbacksSet {
		// A fallback may be keyed on the name asked for rather than the pattern.
		if to, ok := r.m.ExactFallbacks(res.Requested, res.Group); ok {
			fbs = to
		}
	}
	return r.build(ctx, req, res, fbs, true)
}

// PlanFallback builds the plan for the context-window or content-policy
// fallbacks of a group (or, with GeneralFallbacks, just the fallback part of
// a normal plan), after such an error on the group's own attempts.
func (r *Router) PlanFallback(ctx context.Context, group string, kind FallbackKind, req PlanRequest) (*Plan, error) {
	res, err := r.m.Resolve(group)
	if err != nil {
		return nil, err
	}
	fbs := r.FallbackGroups(res.Group, kind)
	if len(fbs) == 0 {
		return nil, fmt.Errorf("model group %q: no %s", group, kind)
	}
	return r.build(ctx, req, res, fbs, false)
}

func (r *Router) resolveReq(req PlanRequest) (Resolution, error) {
	if req.Resolution != nil {
		return *req.Resolution, nil
	}
	return r.m.Resolve(req.Model)
}

type planGroup struct {
	res      Resolution
	fallback int // 0: original group
}

// statesPool holds the maps build reads the deployments' states into.
var statesPool = sync.Pool{New: func() any { return make(map[string]store.DeploymentState, 8) }}

func putStates(m map[string]store.DeploymentState) {
	if len(m) > 1024 {
		return // (a map that large is not kept)
	}
	clear(m)
	statesPool.Put(m)
}

// planBuf is a plan with room for what build needs of a small one: one
// allocation instead of one each for the plan, its groups, the ids read and
// the attempts (D93). Larger plans grow out of it.
type planBuf struct {
	plan     Plan
	groups   [2]planGroup
	ids      [4]string
	attempts [4]Attempt
}

func (r *Router) build(ctx context.Context, req PlanRequest, res Resolution, fbs []string, withPrimary bool) (*Plan, error) {
	// Sized up front: the plan is built on every request (D65).
	pb := new(planBuf)
	groups := slices.Grow(pb.groups[:0], len(fbs)+1)
	if withPrimary {
		groups = append(groups, planGroup{res: res})
	}
	for i, g := range fbs {
		fr, err := r.m.Resolve(g)
		if err != nil {
			r.log.Warn("fallback model group not found; skipped", "group", res.Group, "fallback", g)
			continue
		}
		groups = append(groups, planGroup{res: fr, fallback: i + 1})
	}
	// One read for every deployment of every group in the plan.
	n := 0
	for _, g := range groups {
		n += len(r.m.GroupDeployments(g.res.Group))
	}
	ids := slices.Grow(pb.ids[:0], n)
	for _, g := range groups {
		for _, d := range r.m.GroupDeployments(g.res.Group) {
			ids = append(ids, d.ID)
		}
	}
	var states map[string]store.DeploymentState
	var err error
	if mr, ok := r.store.(store.MapReader); ok {
		// A map kept from plan to plan (D93): nothing planned keeps it
		// (the candidates copy their states).
		states = statesPool.Get().(map[string]store.DeploymentState)
		defer putStates(states)
		err = mr.ReadInto(ctx, ids, r.readOpt, states)
	} else {
		states, err = r.store.Read(ctx, ids, r.readOpt)
	}
	if err != nil {
		return nil, fmt.Errorf("read deployment state: %w", err)
	}
	var spends map[string]float64
	if r.m.Routing.Budgets {
		if spends, err = r.readSpends(ctx, groups); err != nil {
			return nil, err
		}
	}
	now := r.now()
	ps := &pinning{states: states, now: now}
	r.lookPrompt(ps, req)
	plan := &pb.plan
	plan.Resolution, plan.Attempts = res, pb.attempts[:0]
	if withPrimary {
		plan.UsageHeaders = usageHeaders(r.m.GroupDeployments(res.Group), states)
	}
	var retryAfter time.Duration
	var ctxErr *ContextWindowError
	var tagErr *TagRoutingError
	var budgetErr *BudgetError
	var limitErr *ModelRateLimitError
	hops := 0 // order fallbacks planned so far: each moves the later fallbacks' index on (D89)
	for _, g := range groups {
		if g.fallback > 0 {
			if g.fallback+hops > r.m.Routing.MaxFallbacks {
				break // the order fallbacks before it used up max_fallbacks
			}
			plan.FallbackGroups = append(plan.FallbackGroups, g.res.Group)
		}
		healthy, ra, cw, te, be, rl := r.healthy(g.res, req, states, spends, now)
		if rl != nil && g.fallback == 0 {
			limitErr = rl
		}
		if ra > 0 && (retryAfter == 0 || ra < retryAfter) {
			retryAfter = ra
		}
		if cw != nil && g.fallback == 0 {
			ctxErr = cw
		}
		if te != nil && g.fallback == 0 {
			tagErr = te
		}
		if be != nil && g.fallback == 0 {
			budgetErr = be
		}
		if len(healthy) == 0 {
			continue
		}
		var orders []int
		if r.m.Routing.Orders { // (no group lookup for a config without order)
			if mg, ok := r.m.Group(g.res.Group); ok {
				orders = mg.Orders
			}
		}
		if len(orders) == 0 {
			plan.Attempts = r.appendAttempts(plan.Attempts, req, ps, g.res, healthy, g.fallback+hops)
			continue
		}
		// litellm_params.order: the lowest order first, then each higher
		// order of the group as a fallback of its own, before the group's
		// fallbacks; every hop counts towards max_fallbacks.
		base := g.fallback + hops
		for i, level := range byOrder(orders, healthy) {
			if i > 0 {
				hops++
			}
			if base+i > r.m.Routing.MaxFallbacks {
				break
			}
			if len(level) > 0 {
				plan.Attempts = r.appendAttempts(plan.Attempts, req, ps, g.res, level, base+i)
			}
		}
	}
	primaryAttempts := 0
	for _, a := range plan.Attempts {
		if !a.Fallback {
			primaryAttempts++
		}
	}
	// A prompt too long for every deployment of the group goes to its
	// context_window_fallbacks (the caller plans them), not to the general
	// fallbacks that happen to follow in this plan.
	if ctxErr != nil && withPrimary && primaryAttempts == 0 && len(r.FallbackGroups(res.Group, ContextWindowFallbacks)) > 0 {
		return nil, ctxErr
	}
	if len(plan.Attempts) == 0 {
		if ctxErr != nil {
			return nil, ctxErr
		}
		if tagErr != nil {
			return nil, tagErr
		}
		if budgetErr != nil {
			return nil, budgetErr
		}
		if limitErr != nil {
			limitErr.RetryAfter = max(retryAfter, time.Second)
			return nil, limitErr
		}
		return nil, &NoDeploymentsError{Group: res.Group, RetryAfter: max(retryAfter, time.Second)}
	}
	r.expectPins(req, ps)
	return plan, nil
}

// appendAttempts appends 1 + num_retries attempts on the candidates of one
// group (or of one order of it), ordered by the routing strategy and
// cycled; fallback is the index x-litellm-attempted-fallbacks reports.
func (r *Router) appendAttempts(out []Attempt, req PlanRequest, ps *pinning, res Resolution, cs []candidate, fallback int) []Attempt {
	ordered := r.order(cs)
	// The affinities narrow the group before prompt_caching looks (LiteLLM
	// runs DeploymentAffinityCheck first), so a request with a session or
	// caller pin is not moved by its prompt.
	key := ""
	if req.Session != "" || req.Caller != "" {
		key = r.affinityKey(res.Group, req)
	}
	if key != "" && r.m.Routing.Repin && strings.HasPrefix(key, sessionAffinityKey) {
		// (with one candidate too: the others cooling down, its success
		// re-pins the session)
		r.sessionPin(ps, ordered, res.Group, key)
	} else if len(ordered) > 1 {
		switch {
		case key != "":
			stick(ordered, res.Group, key)
		case ps.prompt != "":
			// prompt_caching: the deployment that answered the prefix
			// first; the retries go to the others (LiteLLM leaves a
			// deployment that failed in the request out of its filter).
			toFront(ordered, ps.prompt)
		}
	}
	n := 1 + r.numRetries(req, ordered[0].d)
	out = slices.Grow(out, n)
	for i := range n {
		c := ordered[i%len(ordered)]
		out = append(out, Attempt{
			DeploymentID:  c.t.DeploymentID,
			Group:         res.Group,
			Provider:      c.t.Provider,
			Model:         c.t.Model,
			Fallback:      fallback > 0,
			FallbackIndex: fallback,
			Retry:         i,
		})
	}
	return out
}

// byOrder splits the healthy deployments of a group whose deployments set
// litellm_params.order (orders: the group's distinct orders, ascending), as
// LiteLLM's router does: first those of the lowest order among the healthy
// ones (all of them when none of those sets an order: the ordered ones are
// cooling down or over their limits); then, when the group has more than
// one order, one level per higher order of the group with its healthy
// deployments (empty when none can take the request).
func byOrder(orders []int, healthy []candidate) [][]candidate {
	lowest, found := 0, false
	for _, c := range healthy {
		if c.d.Ordered && (!found || c.d.Order < lowest) {
			lowest, found = c.d.Order, true
		}
	}
	if !found {
		return [][]candidate{healthy}
	}
	levels := [][]candidate{atOrder(healthy, lowest)}
	if len(orders) > 1 {
		for _, o := range orders {
			if o > lowest {
				levels = append(levels, atOrder(healthy, o))
			}
		}
	}
	return levels
}

func atOrder(cs []candidate, o int) []candidate {
	var out []candidate
	for _, c := range cs {
		if c.d.Ordered && c.d.Order == o {
			out = append(out, c)
		}
	}
	return out
}

// healthy returns the deployments of a group that can take the request now:
// not cooling down, under rpm/tpm, under max_parallel_requests, (with
// enable_pre_call_checks) with a context window large enough, and (with
// enable_tag_filtering) matching the request's tags, and under their budgets
// (spends). retryAfter is when the nearest excluded deployment is expected
// back; te is set when the tags left none of the others, be when the
// budgets left none.
//
// With enforce_model_rate_limits, rl is LiteLLM's ModelRateLimitingCheck
// verdict on the first deployment left out for its rpm or tpm, when no
// deployment of the group can take the request.
func (r *Router) healthy(res Resolution, req PlanRequest, states map[string]store.DeploymentState, spends map[string]float64, now time.Time) (out []candidate, retryAfter time.Duration, cw *ContextWindowError, te *TagRoutingError, be *BudgetError, rl *ModelRateLimitError) {
	nextMinute := now.Truncate(time.Minute).Add(time.Minute).Sub(now)
	note := func(d time.Duration) {
		if d > 0 && (retryAfter == 0 || d < retryAfter) {
			retryAfter = d
		}
	}
	tooSmall, maxIn := 0, 0
	deps := r.m.GroupDeployments(res.Group)
	out = make([]candidate, 0, len(deps))
	for _, d := range deps {
		st := states[d.ID]
		t := d.Target(res)
		if st.CoolingDown(now) {
			note(st.CooldownUntil.Sub(now))
			continue
		}
		if d.Limits.IO() {
			if kind, lim, usage := r.overIO(req, d, t, st); kind != "" {
				note(nextMinute)
				if rl == nil {
					rl = &ModelRateLimitError{Kind: kind, Limit: lim, Usage: usage, DeploymentID: d.ID, Group: res.Group}
				}
				continue
			}
		}
		if lim := d.Limits.RPM; lim > 0 && st.RPM+1 > lim {
			note(nextMinute)
			if rl == nil && r.m.Routing.EnforceLimits {
				// (LiteLLM counts the request before it compares: usage = used + 1)
				rl = &ModelRateLimitError{Kind: "RPM", Limit: lim, Usage: st.RPM + 1, DeploymentID: d.ID, Group: res.Group}
			}
			continue
		}
		if lim := d.Limits.TPM; lim > 0 && req.overTPM(st.TPM, lim) {
			note(nextMinute)
			if rl == nil && r.m.Routing.EnforceLimits {
				rl = &ModelRateLimitError{Kind: "TPM", Limit: lim, Usage: st.TPM, DeploymentID: d.ID, Group: res.Group}
			}
			continue
		}
		if d.Limits.Daily() {
			if kind, lim, usage := overDaily(d, st); kind != "" {
				note(untilDayReset(now, d.Limits.DayReset))
				if rl == nil {
					rl = &ModelRateLimitError{Kind: kind, Limit: lim, Usage: usage, DeploymentID: d.ID, Group: res.Group}
				}
				continue
			}
		}
		if mp := d.Limits.MaxParallel; mp > 0 && st.InFlight >= int64(mp) {
			note(time.Second)
			continue
		}
		if len(d.Budgets) > 0 {
			if why := overBudget(d, spends); why != "" {
				if be == nil {
					be = &BudgetError{Group: res.Group}
				}
				be.Reasons = append(be.Reasons, why)
				continue
			}
		}
		if req.Region != "" && r.m.Routing.PreCallChecks && d.Region != req.Region {
			continue // (no retry-after: it never takes this request)
		}
		if r.m.Routing.PreCallChecks && req.tokens() > 0 {
			if m := r.maxInputTokens(d.Config, t); m > 0 {
				maxIn = max(maxIn, m)
				if req.tokens() > m {
					tooSmall++
					continue
				}
			}
		}
		out = append(out, candidate{d: d, t: t, st: st})
	}
	if len(out) > 0 {
		be, rl = nil, nil
	}
	if len(out) == 0 && tooSmall > 0 {
		cw = &ContextWindowError{Group: res.Group, InputTokens: req.tokens(), MaxInput: maxIn}
	}
	if r.m.Routing.TagFiltering && len(out) > 0 {
		if out = tagFilter(out, req.Tags, req.UserAgent, r.m.Routing.TagMatchAny); len(out) == 0 {
			te = &TagRoutingError{Group: res.Group, Tags: req.Tags}
		}
	}
	if req.Prefer != "" && len(out) > 1 && r.prefers(res.Group) {
		for i := range out {
			if out[i].t.DeploymentID == req.Prefer {
				out = out[i : i+1]
				break
			}
		}
	}
	return out, retryAfter, cw, te, be, rl
}
