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
