package keys

import "github.com/llmgate/llmgate/internal/outcome"

// What the Prometheus metrics read of the key table for their custom labels
// (D91), on the metrics sink's goroutine, off the request path.

// RequestTags are a try's request_tags as its spend log carries them (D84):
// custom_prometheus_tags' labels are read from them. Read only.
func (s *Service) RequestTags(t *outcome.Try) []string { return s.requestTags(t) }

// KeyMetadata is a key's metadata by its hash (the active key's for a
// regenerated key's old hash), nil for an unknown key: LiteLLM's
// user_api_key_auth_metadata, which custom_prometheus_metadata_labels read.
// The cached record's map: read only.
func (s *Service) KeyMetadata(keyHash string) map[string]any {
	s.mu.RLock()
	defer s.mu.RUnlock()
	k := s.keys[keyHash]
	if k == nil {
		if a := s.activeTokenLocked(keyHash); a != "" {
			k = s.keys[a]
		}
	}
	if k == nil {
		return nil
	}
	return k.Metadata
}
