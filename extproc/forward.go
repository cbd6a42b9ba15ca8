package extproc

import (
	"slices"
	"strings"

	"github.com/llmgate/llmgate/internal/contract"
)

// Which client request headers reach the provider (issue 8 item 5). LiteLLM
// builds a new request with its SDK, so by default no client header reaches
// the provider; Envoy instead forwards the client's request, so the attempt
// filter removes every header that LiteLLM would not send. See
// docs/architecture.md, D23.

// requiredHeaders stay whatever the settings: those describing the body, and
// two that Envoy set itself and still reads after the try, because a try's
// header changes persist in the request (D2): x-forwarded-proto (the scheme
// an internal redirect must keep) and x-request-id (the call id a fallback
// ticket is bound to, D22). Envoy generates x-request-id for every client
// request, so neither carries anything of the client's.
var requiredHeaders = map[string]bool{"content-type": true, "content-length": true, "transfer-encoding": true, "accept": true, "te": true,
	"x-forwarded-proto": true, "x-request-id": true}

// forwardable says whether LiteLLM would forward the client header k (lower
// case) to the provider on a try of the model group: with
// general_settings.forward_client_headers_to_llm_api (or the group listed in
// litellm_settings.model_group_settings.forward_client_headers_to_llm_api)
// the x-* headers (not x-stainless-*, which break the OpenAI SDK) and
// anthropic-beta; with forward_openai_org_id, OpenAI-Organization; with
// litellm_settings.forward_traceparent_to_llm_provider, traceparent. Keys
// (the client's, in any header the gateway reads them from) and the headers
// Envoy and the gateway add about the client (x-forwarded-*, x-envoy-*,
// x-request-id, x-llmgate-*) are never forwarded.
func (st *State) forwardable(k, group string) bool {
	if k == "openai-organization" {
		return st.Cfg.General.ForwardOpenAIOrgID
	}
	if k == "traceparent" {
		return st.Cfg.LiteLLM.ForwardTraceparent
	}
	if !st.Cfg.General.ForwardClientHeaders && !forwardsFor(st.Cfg.LiteLLM.ForwardHeadersGroups, group) {
		return false
	}
	if k == "anthropic-beta" {
		return true
	}
	if !strings.HasPrefix(k, "x-") {
		return false
	}
	for _, p := range []string{"x-stainless", "x-envoy-", "x-forwarded-", contract.InternalHeaderPrefix, "x-litellm-"} {
		if strings.HasPrefix(k, p) {
			return false
		}
	}
	if k == "x-request-id" || k == "x-real-ip" {
		return false
	}
	for _, name := range st.keyHeaders {
		if k == name {
			return false
		}
	}
	for _, name := range clientAuthHeaders {
		if k == name {
			return false
		}
	}
	return true
}

// droppedClientHeaders is removed with the client's request headers to
// remove from a try appended: every one that is neither pseudo, required,
// forwardable, nor set by the gateway for this try (set), nor already
// removed.
func (t *try) droppedClientHeaders(set [][2]string, removed []string) []string {
	out := removed
	for k := range t.reqHdr {
		k = strings.ToLower(k)
		if strings.HasPrefix(k, ":") || requiredHeaders[k] || slices.Contains(removed, k) || t.st.forwardable(k, t.a.ModelGroup) {
			continue
		}
		if slices.ContainsFunc(set, func(kv [2]string) bool { return strings.EqualFold(kv[0], k) }) {
			continue
		}
		out = append(out, k)
	}
	return out
}

// forwardsFor: the group is listed, exactly or by a pattern ending in *.
func forwardsFor(groups []string, group string) bool {
	for _, g := range groups {
		if g == group || strings.HasSuffix(g, "*") && strings.HasPrefix(group, strings.TrimSuffix(g, "*")) {
			return true
		}
	}
	return false
}
