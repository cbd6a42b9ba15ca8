package extproc

import (
	"context"
	"errors"
	"time"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/tokenizer"
	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
	"github.com/llmgate/llmgate/router"
	"github.com/llmgate/llmgate/translator"
	"github.com/tidwall/gjson"
)

type configDeployment = config.Deployment

// planBudget bounds the store round trip of planning; past it the router
// has already degraded to local state.
const planBudget = 2 * time.Second

// plan asks the router for the attempt plan and turns it into the proto the
// attempt filter reads. Router errors become OpenAI errors: no deployment
// available → 429 with retry-after; a prompt too long for every deployment →
// the context-window fallbacks, else 400.
func (s *Server) plan(st *State, res router.Resolution, f *requestFields, body []byte, ticket *fallbackTicket, tags []string, ua string, by stickBy) (*router.Plan, []*llmgatev1.Attempt, *translator.Error) {
	ctx := context.Background()
	if !st.localStore {
		// The in-process store makes no round trip: no timer to arm.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, planBudget)
		defer cancel()
	}
	pr := router.PlanRequest{Resolution: &res, Stream: f.Stream, NumRetries: f.NumRetries, Fallbacks: f.Fallbacks, FallbacksSet: f.Fallbacks != nil, Tags: tags, UserAgent: ua, Session: by.session, Caller: by.caller}
	if st.Router.Model().Routing.PromptCaching || st.Router.Model().Routing.Repin {
		pr.CallID = by.call // (the pins a success stores wait under it)
	}
	if st.Router.Model().Routing.PromptCaching {
		// optional_pre_call_checks' prompt_caching: the deployment that
		// answered the request's cacheable prefix before (D179).
		pr.Prompt = promptPrefix(f.Model, body)
	}
	if f.User != "" && st.keys != nil && st.Router.Model().Routing.PreCallChecks {
		pr.Region = st.keys.EndUserRegion(f.User) // the end user's allowed_model_region (D173)
	}
	if st.Router.Model().Routing.AnyResponses {
		// optional_pre_call_checks' responses_api_deployment_check: the
		// deployment LiteLLM's response id names answers the follow-up.
		if prev := gjson.GetBytes(body, "previous_response_id"); prev.Type == gjson.String {
			_, pr.Prefer, _ = translator.DecodeResponseID(prev.Str)
		}
	}
	if st.needTokens {
		// Counted when the plan needs it: a tpm limit with room for the
		// body's bound passes without the count (D95).
		pr.Input = &router.InputCount{Bound: tokenizer.RequestBound(body), Count: func() int {
			n, _ := tokenizer.CountRequest(f.Model, body) // 0 when the body cannot be read, as before
			return n
		}}
	}
	if st.Router.Model().Routing.IOLimits {
		pr.MaxTokens = maxOutputTokens(body) // what an otpm limit reserves (D180)
	}
	var p *router.Plan
	var err error
	if ticket != nil && ticket.Kind == pinKind {
		// A health check: exactly one try on the pinned deployment.
		d, ok := st.Router.Deployment(ticket.Deployment)
		if !ok {
			return nil, nil, translator.NewError(404, "not_found_error", "deployment "+ticket.Deployment+" is not in the config", "")
		}
		model := d.Model
		if ticket.HealthModel != "" {
			model = ticket.HealthModel // model_info.health_check_model (D104)
		}
		return &router.Plan{Resolution: res}, []*llmgatev1.Attempt{{DeploymentId: d.ID, ModelGroup: d.ModelName, Model: model, Provider: d.Provider}}, nil
	}
	if ticket != nil {
		// An internal redirect from the attempt filter: the group failed with a
		// context-window or content-policy error; take that fallback list.
		p, err = st.Router.PlanFallback(ctx, ticket.Group, router.FallbackKind(ticket.Kind), pr)
	} else if mp, handled, me := s.mockPlan(ctx, st, res, pr, body); handled {
		if me != nil {
			return nil, nil, me
		}
		p = mp
	} else {
		p, err = st.Router.Plan(ctx, pr)
	}
	if err != nil {
		var cw *router.ContextWindowError // (declared here: errors.As puts it on the heap)
		if errors.As(err, &cw) && len(st.Router.FallbackGroups(res.Group, router.ContextWindowFallbacks)) > 0 {
			p, err = st.Router.PlanFallback(ctx, res.Group, router.ContextWindowFallbacks, pr)
		}
	}
	if err != nil {
		return nil, nil, routerError(err)
	}
	// One allocation for the plan's entries and their pointers (D93).
	var attempts []*llmgatev1.Attempt
	var backing []llmgatev1.Attempt
	if len(p.Attempts) <= smallPlan {
		ab := new(attemptsBuf)
		attempts, backing = ab.ptrs[:0], ab.backing[:len(p.Attempts)]
	} else {
		attempts = make([]*llmgatev1.Attempt, 0, len(p.Attempts))
		backing = make([]llmgatev1.Attempt, len(p.Attempts))
	}
	for i, a := range p.Attempts {
		if i > 0 {
			// A mock deployment answers in the request filter only; it has no cluster.
			if d, ok := st.Router.Model().Deployment(a.DeploymentID); ok && d.Mock() {
				continue
			}
		}
		e := &backing[i]
		e.DeploymentId, e.ModelGroup, e.Model, e.FallbackIndex, e.Retry, e.Provider = a.DeploymentID, a.Group, a.Model, int32(a.FallbackIndex), int32(a.Retry), a.Provider
		attempts = append(attempts, e)
	}
	if len(attempts) == 0 {
		return nil, nil, &translator.Error{Status: 429, Type: "rate_limit_error", Code: "429",
			Message: "No deployments available for selected model. model_group=" + res.Group, RetryAfter: time.Second}
	}
	if ticket == nil && (st.mockTimeoutAsked(body) || st.deploymentMockTimeout(attempts[0].DeploymentId)) {
		return nil, nil, s.mockTimeout(st, f, attempts[0].DeploymentId)
	}
	return p, attempts, nil
}

// smallPlan is the most attempts an attemptsBuf holds.
const smallPlan = 4

// attemptsBuf holds a small plan's attempts and the pointers to them.
type attemptsBuf struct {
	ptrs    [smallPlan]*llmgatev1.Attempt
	backing [smallPlan]llmgatev1.Attempt
}

// routerError maps the router's typed errors to OpenAI errors.
func routerError(err error) *translator.Error {
	var nd *router.NoDeploymentsError
	var cw *router.ContextWindowError
	var inv *router.InvalidModelError
	var tag *router.TagRoutingError
	var budget *router.BudgetError
	var limit *router.ModelRateLimitError
	switch {
	case errors.As(err, &nd):
		return &translator.Error{Status: 429, Type: "rate_limit_error", Code: "429", Message: nd.Error(),
			RetryAfter: time.Duration(nd.RetryAfterSeconds()) * time.Second, Class: translator.ErrRateLimit}
	case errors.As(err, &limit):
		// LiteLLM's ModelRateLimitingCheck raises a litellm.RateLimitError
		// (enforce_model_rate_limits, D168).
		return &translator.Error{Status: 429, Type: "throttling_error", Code: "429", Message: "litellm.RateLimitError: " + limit.Error(),
			RetryAfter: time.Duration(limit.RetryAfterSeconds()) * time.Second, Class: translator.ErrRateLimit}
	case errors.As(err, &cw):
		return &translator.Error{Status: 400, Type: "invalid_request_error", Code: "context_length_exceeded",
			Message: "ContextWindowExceededError: " + cw.Error(), Class: translator.ErrContextWindow}
	case errors.As(err, &tag):
		// LiteLLM's proxy answers this router error 401 (ProxyException).
		return &translator.Error{Status: 401, Type: "None", Code: "401", Message: tag.Error()}
	case errors.As(err, &budget):
		// LiteLLM's proxy answers a "No deployments available" message 429.
		return &translator.Error{Status: 429, Type: "None", Code: "429", Message: budget.Error(), Class: translator.ErrRateLimit}
	case errors.As(err, &inv):
		return translator.NewError(400, "invalid_request_error", "Invalid model name passed in model="+inv.Model+". Call `/v1/models` to view available models for your key.", "model")
	}
	return translator.NewError(500, "internal_server_error", err.Error(), "")
}

// maxOutputTokens is a request's max_tokens, max_completion_tokens or
// max_output_tokens, the first one set (LiteLLM's _explicit_max_tokens);
// 0 when none is.
func maxOutputTokens(body []byte) int {
	for _, r := range gjson.GetManyBytes(body, "max_tokens", "max_completion_tokens", "max_output_tokens") {
		if r.Type == gjson.Number || r.Type == gjson.String {
			return max(int(r.Int()), 0)
		}
	}
	return 0
}
