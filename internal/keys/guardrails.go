package keys

// Guardrails returns a key's metadata.guardrails, else its team's (LiteLLM's
// move_guardrails_to_metadata: a key's or team's guardrails replace the
// request's). ok is false when neither sets them. The value is the cached
// record's: read only.
func (s *Service) Guardrails(keyHash string) (v any, ok bool) {
	if s == nil || keyHash == "" {
		return nil, false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	k := s.keys[keyHash]
	if k == nil {
		return nil, false
	}
	if v, ok := k.Metadata["guardrails"]; ok {
		return v, true
	}
	if t := s.teams[k.TeamID]; t != nil && k.TeamID != "" {
		if v, ok := t.Metadata["guardrails"]; ok {
			return v, true
		}
	}
	return nil, false
}

// DisableGlobalGuardrails reads disable_global_guardrails from a key's
// metadata, else its team's (LiteLLM's admin metadata, the key's winning):
// the config's default_on guardrails then do not run for it.
func (s *Service) DisableGlobalGuardrails(keyHash string) bool {
	if s == nil || keyHash == "" {
		return false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	k := s.keys[keyHash]
	if k == nil {
		return false
	}
	v, ok := k.Metadata["disable_global_guardrails"]
	if t := s.teams[k.TeamID]; !ok && t != nil && k.TeamID != "" {
		v = t.Metadata["disable_global_guardrails"]
	}
	b, _ := v.(bool)
	return b
}
