package extproc

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/llmgate/llmgate/router"
	"github.com/llmgate/llmgate/translator"
)

// LiteLLM's testing switches: request fields that fake a failure so users can
// test their fallbacks and retries. As in LiteLLM (1.96 on), they are honoured
// only when general_settings.dangerously_allow_mock_testing_request_params is
// true; otherwise a request that names one is refused with a 400, so a test
// that asked for a failure never passes as a plain success.
var mockTestingFields = []string{
	"mock_testing_fallbacks", "mock_testing_context_fallbacks", "mock_testing_content_policy_fallbacks",
	"mock_testing_rate_limit_error", "mock_timeout", "mock_delay",
}

// maxMockTimeout bounds the wait of mock_timeout: the request filter holds its
// message that long (the listener allows 60 s).
const maxMockTimeout = 50 * time.Second

// mockTesting is what a request asks of the testing switches (true only when
// written as JSON true, as LiteLLM tests `is True`).
type mockTesting struct {
	present                                      []string
	fallbacks, contextFallbacks, policyFallbacks bool
	rateLimit, timeout                           bool
}

func readMockTesting(body []byte) mockTesting {
	var m mockTesting
	if !bytes.Contains(body, []byte(`"mock_`)) {
		return m
	}
	for i, r := range gjson.GetManyBytes(body, mockTestingFields...) {
		if !r.Exists() {
			continue
		}
		m.present = append(m.present, mockTestingFields[i])
		on := r.Type == gjson.True
		switch i {
		case 0:
			m.fallbacks = on
		case 1:
			m.contextFallbacks = on
		case 2:
			m.policyFallbacks = on
		case 3:
			m.rateLimit = on
		case 4:
			m.timeout = on
		}
	}
	return m
}

// mockTimeoutAsked: the request asks for LiteLLM's mock_timeout (and may).
func (st *State) mockTimeoutAsked(body []byte) bool {
	return st.Cfg.General.AllowMockTesting && readMockTesting(body).timeout
}

// mockTimeoutPossible: the request filter must extend its message timeout
// before planning, which may wait out a mock_timeout (the request's, or a
// deployment's litellm_params.mock_timeout).
func (st *State) mockTimeoutPossible(body []byte) bool {
	return st.mockTimeouts || st.mockTimeoutAsked(body)
}

// deploymentMockTimeout: the deployment sets litellm_params.mock_timeout.
func (st *State) deploymentMockTimeout(id string) bool {
	d, ok := st.Router.Model().Deployment(id)
	return ok && d.MockTimeout
}

// mockPlan applies the testing switches to planning. handled is false when
// the request names none (the caller plans as usual).
func (s *Server) mockPlan(ctx context.Context, st *State, res router.Resolution, pr router.PlanRequest, body []byte) (p *router.Plan, handled bool, e *translator.Error) {
	m := readMockTesting(body)
	if len(m.present) == 0 {
		return nil, false, nil
	}
	if !st.Cfg.General.AllowMockTesting {
		return nil, true, translator.NewError(400, "invalid_request_error", fmt.Sprintf("Mock testing request params are disabled on this proxy: %s. "+
			"An admin can enable them by setting `general_settings.dangerously_allow_mock_testing_request_params: true` in config.yaml.",
			strings.Join(m.present, ", ")), m.present[0])
	}
	group := res.Group
	kind, fake := router.GeneralFallbacks, (*translator.Error)(nil)
	switch {
	case m.fallbacks:
		fake = &translator.Error{Status: 500, Type: "internal_server_error", Class: translator.ErrInternal,
			Message: fmt.Sprintf("This is a mock exception for model=%s, to trigger a fallback. Fallbacks=%v", group, st.Router.FallbackGroups(group, router.GeneralFallbacks))}
	case m.contextFallbacks:
		kind = router.ContextWindowFallbacks
		fake = &translator.Error{Status: 400, Type: "invalid_request_error", Code: "context_length_exceeded", Class: translator.ErrContextWindow,
			Message: fmt.Sprintf("This is a mock exception for model=%s, to trigger a fallback. Context_Window_Fallbacks=%v", group, st.Router.FallbackGroups(group, kind))}
	case m.policyFallbacks:
		kind = router.ContentPolicyFallbacks
		fake = &translator.Error{Status: 400, Type: "invalid_request_error", Code: "content_policy_violation", Class: translator.ErrContentPolicy,
			Message: fmt.Sprintf("This is a mock exception for model=%s, to trigger a fallback. Content_Policy_Fallbacks=%v", group, st.Router.FallbackGroups(group, kind))}
	}
	var err error
	switch {
	case fake != nil && kind == router.GeneralFallbacks:
		// The group fails before any call: its own tries are left out, its
		// fallbacks (the client's, else the config's) are tried in order.
		if p, err = st.Router.Plan(ctx, pr); err != nil {
			return nil, true, routerError(err)
		}
		var keep []router.Attempt
		for _, a := range p.Attempts {
			if a.Fallback {
				keep = append(keep, a)
			}
		}
		if len(keep) == 0 {
			return nil, true, fake
		}
		p.Attempts = keep
	case fake != nil:
		if len(st.Router.FallbackGroups(group, kind)) == 0 {
			return nil, true, fake
		}
		if p, err = st.Router.PlanFallback(ctx, group, kind, pr); err != nil {
			return nil, true, routerError(err)
		}
	default:
		if p, err = st.Router.Plan(ctx, pr); err != nil {
			return nil, true, routerError(err)
		}
	}
	if m.rateLimit {
		// The first try fails with a rate-limit error without a call; the
		// rest of the plan (retries, then fallbacks) runs as usual.
		p.Attempts = p.Attempts[1:]
		if len(p.Attempts) == 0 {
			return nil, true, &translator.Error{Status: 429, Type: "rate_limit_error", Code: "429", Class: translator.ErrRateLimit,
				Message: fmt.Sprintf("This is a mock exception for model=%s, to trigger a rate limit error.", group)}
		}
	}
	return p, true, nil
}

// mockTimeout waits out the timeout the request's first try would have (its
// timeout, the deployment's, else the router's; at most maxMockTimeout) and
// answers LiteLLM's timeout error, without calling a provider. Every try of
// the plan would time out the same way, so one wait stands for them all.
func (s *Server) mockTimeout(st *State, f *requestFields, firstDeployment string) *translator.Error {
	d, _ := st.Router.Model().Deployment(firstDeployment)
	wait := min(s.perTryTimeout(st, d, f), maxMockTimeout)
	time.Sleep(wait)
	return &translator.Error{Status: 408, Type: "timeout_error", Code: "408", Class: translator.ErrTimeout,
		Message: fmt.Sprintf("litellm.Timeout: This is a mock timeout error (after %s)", wait)}
}
