package config

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// credentialList reads the top-level credential_list: named sets of
// litellm_params values (credential_values) that a deployment takes with
// litellm_params.litellm_credential_name. credential_info is descriptive and
// read by nobody. Names are unique.
func (p *parser) credentialList(n *yaml.Node) {
	items, ok := p.sequence(n, "credential_list")
	if !ok {
		return
	}
	p.credentials = map[string][]entry{}
	for i, it := range items {
		path := fmt.Sprintf("credential_list[%d]", i)
		es, ok := p.mapping(it, path)
		if !ok {
			continue
		}
		name, hasName := "", false
		var values []entry
		for _, e := range es {
			key := joinKey(path, e.Key)
			switch e.Key {
			case "credential_name":
				if s, ok := p.str(e.Value, key); ok && s != "" {
					name, hasName = s, true
				} else {
					p.errAt(e.Value, key, "must be a non-empty string")
					hasName = true
				}
			case "credential_values":
				values, _ = p.mapping(e.Value, key)
			case "credential_info":
				p.mapping(e.Value, key)
			default:
				p.errAt(e.KeyNode, key, "unknown key %q in a credential (credential_name, credential_values, credential_info)", e.Key)
			}
		}
		switch {
		case !hasName:
			p.errAt(deref(it), joinKey(path, "credential_name"), "is required")
		case name == "":
		case p.credentials[name] != nil:
			p.errAt(deref(it), joinKey(path, "credential_name"), "%q is already a credential's name", name)
		default:
			if values == nil {
				values = []entry{}
			}
			p.credentials[name] = values
		}
	}
}

// withCredential is a litellm_params mapping with the values of the
// credential its litellm_credential_name names added, for each key it does
// not write itself (LiteLLM's load_credentials_from_list: the deployment's
// own values win). Errors on a credential value point at credential_list.
func (p *parser) withCredential(es []entry, path string) []entry {
	for _, e := range es {
		if e.Key != "litellm_credential_name" {
			continue
		}
		key := joinKey(path, e.Key)
		name, ok := p.str(e.Value, key)
		if !ok {
			return es
		}
		values, found := p.credentials[name]
		if !found {
			p.errAt(e.Value, key, "no credential named %q in credential_list", name)
			return es
		}
		own := map[string]bool{}
		for _, x := range es {
			own[x.Key] = true
		}
		out := make([]entry, 0, len(es)+len(values))
		for _, x := range es {
			if x.Key != "litellm_credential_name" {
				out = append(out, x)
			}
		}
		for _, v := range values {
			if !own[v.Key] {
				out = append(out, v)
			}
		}
		return out
	}
	return es
}
