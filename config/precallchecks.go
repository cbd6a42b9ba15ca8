package config

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// AffinityChecks are the affinities of LiteLLM's DeploymentAffinityCheck
// that a model group (or every group) takes (D162, D168).
type AffinityChecks struct {
	// Responses: responses_api_deployment_check (a Responses request's
	// previous_response_id names its deployment).
	Responses bool
	// Session: session_affinity (a request's session id).
	Session bool
	// Deployment: deployment_affinity (the request's caller: its key).
	Deployment bool
}

// Any: some affinity is on.
func (a AffinityChecks) Any() bool { return a.Responses || a.Session || a.Deployment }

// set turns one of LiteLLM's affinity flags on; false for
// another name.
func (a *AffinityChecks) set(name string) bool {
	switch name {
	case "responses_api_deployment_check":
		a.Responses = true
	case "session_affinity":
		a.Session = true
	case "deployment_affinity":
		a.Deployment = true
	default:
		return false
	}
	return true
}

// preCallChecks are the optional_pre_call_checks the gateway acts on.
type preCallChecks struct {
	AffinityChecks
	enforceLimits bool // enforce_model_rate_limits
	promptCaching bool // prompt_caching
}

// DefaultAffinityTTLSeconds is LiteLLM's deployment_affinity_ttl_seconds
// default.
const DefaultAffinityTTLSeconds = 3600

// optionalPreCallChecks reads router_settings.optional_pre_call_checks
// (LiteLLM's OptionalPreCallChecks; nil: not set): the affinities of
// LiteLLM's DeploymentAffinityCheck, enforce_model_rate_limits (LiteLLM's
// ModelRateLimitingCheck: rpm and tpm are hard limits here whether or not it
// is set; it gives the refusal LiteLLM's message); router_budget_limiting is
// what provider_budget_config and deployment budgets do whenever they are set.
// The checks not built are warned about one by one.
func (p *parser) optionalPreCallChecks(n *yaml.Node, key string) *preCallChecks {
	items, ok := p.sequence(n, key)
	if !ok {
		return nil
	}
	var c preCallChecks
	for i, it := range items {
		path := fmt.Sprintf("%s[%d]", key, i)
		name, ok := p.str(it, path)
		if !ok || c.set(name) {
			continue
		}
		switch name {
		case "router_budget_limiting":
		case "enforce_model_rate_limits":
			c.enforceLimits = true
		case "prompt_caching":
			c.promptCaching = true
		case "forward_client_headers_by_model_group", "encrypted_content_affinity":
			p.warnAt(deref(it), path, "%q is accepted, not implemented yet", name)
		default:
			p.warnAt(deref(it), path, "%q is not one of LiteLLM's optional pre-call checks; ignored", name)
		}
	}
	return &c
}

// groupAffinity reads router_settings.model_group_affinity_config
// ({group: [flag, ...]}): a listed group takes exactly its flags instead of
// optional_pre_call_checks' (LiteLLM's _get_effective_flags).
func (p *parser) groupAffinity(n *yaml.Node, key string) map[string]AffinityChecks {
	es, ok := p.mapping(n, key)
	if !ok {
		return nil
	}
	out := make(map[string]AffinityChecks, len(es))
	for _, e := range es {
		path := joinKey(key, e.Key)
		flags, ok := p.strList(e.Value, path)
		if !ok {
			continue
		}
		var c AffinityChecks
		for _, f := range flags {
			switch {
			case c.set(f):
			case f == "encrypted_content_affinity":
				p.warnAt(deref(e.Value), path, "%q is accepted, not implemented yet", f)
			default:
				p.warnAt(deref(e.Value), path, "unknown flag %q; ignored (valid: deployment_affinity, responses_api_deployment_check, session_affinity, encrypted_content_affinity)", f)
			}
		}
		out[e.Key] = c
	}
	return out
}
