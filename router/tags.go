package router

import "slices"

// defaultTag marks a deployment that takes the requests no other
// deployment's tags match (LiteLLM's tag routing).
const defaultTag = "default"

// tagFilter is LiteLLM's tag routing (router_strategy/tag_based_routing.py,
// enable_tag_filtering) over the deployments that can take a request: with
// request tags, the deployments whose litellm_params.tags match them
// (matchAny: sharing one; else carrying every one), else those tagged
// "default", else none (the caller's TagRoutingError); without request tags,
// those tagged "default" when there are any, else all of them.
func tagFilter(cs []candidate, tags []string, matchAny bool) []candidate {
	var matched, defaults []candidate
	for _, c := range cs {
		dt := c.d.Tags
		if slices.Contains(dt, defaultTag) {
			defaults = append(defaults, c)
		}
		if len(tags) > 0 && len(dt) > 0 && tagsMatch(dt, tags, matchAny) {
			matched = append(matched, c)
		}
	}
	switch {
	case len(matched) > 0:
		return matched
	case len(defaults) > 0:
		return defaults
	case len(tags) > 0:
		return nil
	}
	return cs
}

// tagsMatch is LiteLLM's is_valid_deployment_tag.
func tagsMatch(deployment, request []string, matchAny bool) bool {
	for _, t := range request {
		has := slices.Contains(deployment, t)
		if matchAny && has {
			return true
		}
		if !matchAny && !has {
			return false
		}
	}
	return !matchAny
}
