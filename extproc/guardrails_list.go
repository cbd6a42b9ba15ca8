package extproc

import (
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/llmgate/llmgate/internal/guardrails"
)

// isGuardrailsList says whether path is LiteLLM's GET /guardrails/list.
func isGuardrailsList(path string) bool {
	return clientPath(path) == "/guardrails/list"
}

// guardrailsList answers GET /guardrails/list: the config's guardrails as
// LiteLLM lists them (internal/guardrails.List), to the master key or a
// virtual key (LiteLLM's user_api_key_auth; the route is among its
// internal users' and key routes).
func (s *Server) guardrailsList(st *State, h map[string]string) *extprocv3.ProcessingResponse {
	if h[":method"] != "GET" {
		e := methodNotAllowed(h[":method"])
		e.Message = "Method Not Allowed: " + h[":method"] + " (this route accepts GET)"
		return errorReply(e, map[string]string{"allow": "GET"})
	}
	if _, e := st.authenticateRoute(h); e != nil {
		return errorReply(e, nil)
	}
	return immediate(200, "application/json", guardrails.List(st.Cfg), nil, "llmgate_guardrails_list")
}
