package config

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// serviceCallbacks reads service_callback (LiteLLM's litellm.service_callback)
// and service_callbacks (the spelling of LiteLLM's settings table): a list
// of names, or one name. "prometheus_system" serves LiteLLM's service
// metrics (Redis, PostgreSQL, self) on /metrics; any other name is
// warned about and ignored.
func (p *parser) serviceCallbacks(ls *LiteLLMSettings, n *yaml.Node, path string) {
	var items []*yaml.Node
	if d := deref(n); d != nil && d.Kind == yaml.ScalarNode {
		items = []*yaml.Node{n}
	} else if seq, ok := p.sequence(n, path); ok {
		items = seq
	}
	for i, it := range items {
		if isNull(it) {
			continue // an unset os.environ/ reference
		}
		at := fmt.Sprintf("%s[%d]", path, i)
		s, ok := p.str(it, at)
		if !ok {
			continue
		}
		if s == "prometheus_system" {
			ls.PrometheusSystem = true
			continue
		}
		p.warnAt(it, at, "service callback %q: not yet implemented (only prometheus_system); ignored", s)
	}
}
