package keys

import "slices"

// modelAllowed reports whether a key's or team's model list allows one of
// the request's model names: a name in the list, a wildcard entry
// (openai/*), all-proxy-models, or an access group (model_info.access_groups)
// that holds the model group.
func (s *Service) modelAllowed(allowed, models []string) bool {
	if first(models) == "" {
		return true // no model named (a pass-through request's body may name none): LiteLLM checks none (D128)
	}
	if modelAllowedPlain(allowed, models) {
		return true
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, a := range allowed {
		for _, m := range models {
			if m != "" && slices.Contains(s.accessGroups[a], m) {
				return true
			}
		}
	}
	return false
}

// SetAccessGroups sets the access groups of the config in force (group name
// → model groups); a config reload calls it again.
func (s *Service) SetAccessGroups(groups map[string][]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accessGroups = groups
	s.viewChanged(true)
}
