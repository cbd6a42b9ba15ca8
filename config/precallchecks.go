package config

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// optionalPreCallChecks reads router_settings.optional_pre_call_checks
// (LiteLLM's OptionalPreCallChecks) and reports whether it names
// responses_api_deployment_check (nil: not set). router_budget_limiting is
// what provider_budget_config and deployment budgets do whenever they are
// set; the checks not built are warned about one by one.
func (p *parser) optionalPreCallChecks(n *yaml.Node, key string) *bool {
	items, ok := p.sequence(n, key)
	if !ok {
		return nil
	}
	responses := false
	for i, it := range items {
		path := fmt.Sprintf("%s[%d]", key, i)
		name, ok := p.str(it, path)
		if !ok {
			continue
		}
		switch name {
		case "responses_api_deployment_check":
			responses = true
		case "router_budget_limiting":
		case "prompt_caching", "deployment_affinity", "session_affinity", "forward_client_headers_by_model_group",
			"enforce_model_rate_limits", "encrypted_content_affinity":
			p.warnAt(deref(it), path, "%q is accepted, not implemented yet", name)
		default:
			p.warnAt(deref(it), path, "%q is not one of LiteLLM's optional pre-call checks; ignored", name)
		}
	}
	return &responses
}
