package model

import (
	"strings"

	"github.com/llmgate/llmgate/config"
)

// FallbackKind names one of the fallback lists.
type FallbackKind int

// The fallback lists.
const (
	// GeneralFallbacks are fallbacks (and default_fallbacks).
	GeneralFallbacks FallbackKind = iota
	// ContextWindowFallbacks are context_window_fallbacks.
	ContextWindowFallbacks
	// ContentPolicyFallbacks are content_policy_fallbacks.
	ContentPolicyFallbacks
	numKinds
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

// Fallbacks is the fallback list of a kind for a model group name, as
// LiteLLM reads it: keys match the exact group, then the group without its
// provider prefix, then "*"; default_fallbacks act as {"*": [...]} for the
// general list. The list is cleaned (CleanFallbacks). Groups of the config
// have theirs compiled; any other name is looked up now.
func (m *Model) Fallbacks(group string, kind FallbackKind) []string {
	if kind < 0 || kind >= numKinds {
		return nil
	}
	if g, ok := m.groups[group]; ok {
		return g.fallbacks[kind]
	}
	return m.fallbackGroups(group, kind)
}

func (m *Model) fallbackGroups(group string, kind FallbackKind) []string {
	list := m.fallbackList(kind)
	keys := []string{group}
	if i := strings.IndexByte(group, '/'); i > 0 {
		keys = append(keys, group[i+1:])
	}
	keys = append(keys, "*")
	for _, k := range keys {
		for _, f := range list {
			if f.Group == k {
				return m.CleanFallbacks(group, f.To)
			}
		}
	}
	return nil
}

// ExactFallbacks is the general fallback list keyed exactly on name (the
// name a client asked a wildcard group for), cleaned for group; false when
// no entry has that key.
func (m *Model) ExactFallbacks(name, group string) ([]string, bool) {
	for _, f := range m.fallbackList(GeneralFallbacks) {
		if f.Group == name {
			return m.CleanFallbacks(group, f.To), true
		}
	}
	return nil, false
}

// CleanFallbacks leaves the group itself and repeats out of a fallback list
// (the config's or a request's) and cuts it at max_fallbacks (default 5).
func (m *Model) CleanFallbacks(group string, to []string) []string {
	maxN := m.rs.MaxFallbacks
	if maxN <= 0 {
		maxN = config.DefaultMaxFallbacks
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

func (m *Model) fallbackList(kind FallbackKind) []config.Fallback {
	rs := m.rs
	switch kind {
	case ContextWindowFallbacks:
		return rs.ContextWindowFallbacks
	case ContentPolicyFallbacks:
		return rs.ContentPolicyFallbacks
	}
	list := rs.Fallbacks
	if len(rs.DefaultFallbacks) > 0 {
		list = append(append([]config.Fallback(nil), list...), config.Fallback{Group: "*", To: rs.DefaultFallbacks})
	}
	return list
}
