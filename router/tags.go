package router

import (
	"regexp"
	"slices"
)

// defaultTag marks a deployment that takes the requests no other
// deployment's tags match (LiteLLM's tag routing).
const defaultTag = "default"

// tagFilter is LiteLLM's tag routing (router_strategy/tag_based_routing.py,
// enable_tag_filtering) over the deployments that can take a request. It
// filters when the request has tags, or has a User-Agent and a deployment
// has tag_regex: to the deployments whose litellm_params.tags match the
// tags (matchAny: sharing one; else carrying every one) or, failing that,
// whose tag_regex matches "User-Agent: <ua>" (not when matchAny is false and
// the deployment has tags: the regex cannot get round the strict tags);
// else to those tagged "default"; else to none (the caller's
// TagRoutingError). Otherwise: those tagged "default" when there are any,
// else all of them.
func tagFilter(cs []candidate, tags []string, ua string, matchAny bool) []candidate {
	header := ""
	if ua != "" && slices.ContainsFunc(cs, func(c candidate) bool { return len(c.d.TagRegex) > 0 }) {
		header = "User-Agent: " + ua
	}
	var matched, defaults []candidate
	for _, c := range cs {
		dt := c.d.Tags
		if slices.Contains(dt, defaultTag) {
			defaults = append(defaults, c)
		}
		if len(tags) > 0 && len(dt) > 0 && tagsMatch(dt, tags, matchAny) ||
			header != "" && !(!matchAny && len(dt) > 0) && regexMatch(c.d.TagRegex, header) {
			matched = append(matched, c)
		}
	}
	switch {
	case len(matched) > 0:
		return matched
	case len(defaults) > 0:
		return defaults
	case len(tags) > 0 || header != "":
		return nil
	}
	return cs
}

func regexMatch(res []*regexp.Regexp, s string) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
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
