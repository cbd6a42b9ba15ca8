package config

import "strings"

// FallbackKind names one of the fallback lists.
type FallbackKind int

const (
	// GeneralFallbacks are fallbacks (and default_fallbacks).
	GeneralFallbacks FallbackKind = iota
	// ContextWindowFallbacks are context_window_fallbacks.
	ContextWindowFallbacks
	// ContentPolicyFallbacks are content_policy_fallbacks.
	ContentPolicyFallbacks
)

func (k FallbackKind) String() string {
	switch k {
	case ContextWindowFallbacks:
		return "context_window_fallbacks"
	case ContentPolicyFallbacks:
		return "content_policy_fallbacks"
	}
	return "fallbacks"
}

// FallbackGroups is the fallback list of a kind for a model group, as
// LiteLLM reads it: keys match the exact group, then the group without its
// provider prefix, then "*"; default_fallbacks act as {"*": [...]} for the
// general list. The list is cleaned (CleanFallbacks). The runtime plan and
// the default plan rendered into Envoy's routes both come from here.
func (rs *RouterSettings) FallbackGroups(group string, kind FallbackKind) []string {
	list := rs.fallbackList(kind)
	keys := []string{group}
	if i := strings.IndexByte(group, '/'); i > 0 {
		keys = append(keys, group[i+1:])
	}
	keys = append(keys, "*")
	for _, k := range keys {
		for _, f := range list {
			if f.Group == k {
				return rs.CleanFallbacks(group, f.To)
			}
		}
	}
	return nil
}

// ExactFallbacks is the general fallback list keyed exactly on name (the
// name a client asked a wildcard group for), cleaned for group; false when
// no entry has that key.
func (rs *RouterSettings) ExactFallbacks(name, group string) ([]string, bool) {
	for _, f := range rs.fallbackList(GeneralFallbacks) {
		if f.Group == name {
			return rs.CleanFallbacks(group, f.To), true
		}
	}
	return nil, false
}

// CleanFallbacks leaves the group itself and repeats out of a fallback
// list and cuts it at max_fallbacks (default 5).
func (rs *RouterSettings) CleanFallbacks(group string, to []string) []string {
	maxN := rs.MaxFallbacks
	if maxN <= 0 {
		maxN = DefaultMaxFallbacks
	}
	seen := map[string]bool{group: true}
	var out []string
	for _, g := range to {
		if seen[g] || len(out) >= maxN {
			continue
		}
		seen[g] = true
		out = append(out, g)
	}
	return out
}

func (rs *RouterSettings) fallbackList(kind FallbackKind) []Fallback {
	switch kind {
	case ContextWindowFallbacks:
		return rs.ContextWindowFallbacks
	case ContentPolicyFallbacks:
		return rs.ContentPolicyFallbacks
	}
	list := rs.Fallbacks
	if len(rs.DefaultFallbacks) > 0 {
		list = append(append([]Fallback(nil), list...), Fallback{Group: "*", To: rs.DefaultFallbacks})
	}
	return list
}
