package keys

// loggingKeys are the metadata entries of LiteLLM's key- and team-based
// logging.
var loggingKeys = [...]string{"logging", "callback_settings"}

// LoggingMetadata returns the logging entries ("logging",
// "callback_settings") of a key's metadata (by its hash, as the outcome
// events carry it) and of a team's: LiteLLM's key- and team-based logging.
// The logging callbacks read them off the request path (internal/callbacks,
// D64); nil when there are none. The values are the cached records': read
// only.
func (s *Service) LoggingMetadata(keyHash, teamID string) (key, team map[string]any) {
	pick := func(md map[string]any) map[string]any {
		var out map[string]any
		for _, k := range loggingKeys {
			if v, ok := md[k]; ok {
				if out == nil {
					out = map[string]any{}
				}
				out[k] = v
			}
		}
		return out
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if k := s.keys[keyHash]; k != nil && keyHash != "" {
		key = pick(k.Metadata)
	}
	if t := s.teams[teamID]; t != nil && teamID != "" {
		team = pick(t.Metadata)
	}
	return key, team
}
