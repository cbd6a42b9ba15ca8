package config

import (
	"fmt"
	"regexp"

	"gopkg.in/yaml.v3"
)

// ClientsideAuthParam is one entry of litellm_params.configurable_clientside_auth_params
// (D156): a param name the request body may carry for this model group, or
// {api_base: regex}, an api_base the request may name when the regex matches
// at its start (Python's re.match) or equals it.
type ClientsideAuthParam struct {
	// Name is the param of a plain string entry ("" for a regex entry).
	Name string
	// APIBase is a regex entry's pattern as written; APIBaseRe the compiled
	// pattern anchored at the start.
	APIBase   string
	APIBaseRe *regexp.Regexp
}

// ClientsideAllows reports whether the entries let a request body carry param with
// value (LiteLLM's _is_param_allowed): a string entry naming param, or for
// api_base an entry whose regex matches the value at its start or equals it.
func ClientsideAllows(entries []ClientsideAuthParam, param, value string) bool {
	for _, e := range entries {
		if e.APIBaseRe == nil {
			if e.Name == param {
				return true
			}
			continue
		}
		if param == "api_base" && (e.APIBaseRe.MatchString(value) || e.APIBase == value) {
			return true
		}
	}
	return false
}

// clientsideAuthParams reads configurable_clientside_auth_params: a list of
// strings and {api_base: regex} mappings. A regex Go cannot compile is an
// error at load (LiteLLM fails each request that reaches it instead).
func (p *parser) clientsideAuthParams(n *yaml.Node, path string) []ClientsideAuthParam {
	items, ok := p.sequence(n, path)
	if !ok {
		return nil
	}
	out := make([]ClientsideAuthParam, 0, len(items))
	for i, it := range items {
		ip := fmt.Sprintf("%s[%d]", path, i)
		if deref(it) != nil && deref(it).Kind == yaml.MappingNode {
			es, _ := p.mapping(it, ip)
			for _, e := range es {
				if e.Key != "api_base" {
					p.errAt(e.KeyNode, joinKey(ip, e.Key), "only api_base takes a regex (LiteLLM's ConfigurableClientsideParamsCustomAuth)")
					continue
				}
				s, ok := p.str(e.Value, joinKey(ip, e.Key))
				if !ok {
					continue
				}
				re, err := regexp.Compile("^(?:" + s + ")")
				if err != nil {
					p.errAt(e.Value, joinKey(ip, e.Key), "is not a regex Go can compile: %v", err)
					continue
				}
				out = append(out, ClientsideAuthParam{APIBase: s, APIBaseRe: re})
			}
			continue
		}
		if s, ok := p.str(it, ip); ok {
			out = append(out, ClientsideAuthParam{Name: s})
		}
	}
	return out
}
