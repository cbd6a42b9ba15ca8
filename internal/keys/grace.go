package keys

import (
	"context"
	"errors"
	"time"

	"github.com/llmgate/llmgate/internal/keystore"
)

// GracePeriodEnv is LiteLLM's default grace period of /key/regenerate when a
// request names none.
const GracePeriodEnv = "LITELLM_KEY_ROTATION_GRACE_PERIOD"

// gracePeriod is /key/regenerate's grace_period, as LiteLLM's
// _insert_deprecated_key reads it: the request's value, else the
// environment's default; a value that does not parse, or 0, revokes the old
// value at once (LiteLLM logs a warning and does not refuse the request).
// Durations are bounded by ParseDuration (100 years).
func (s *Service) gracePeriod(req map[string]any) time.Duration {
	v, _ := req["grace_period"].(string)
	if v == "" {
		v = s.o.GracePeriod
	}
	if v == "" {
		return 0
	}
	d, err := ParseDuration(v)
	if err != nil {
		s.log.Warn("/key/regenerate: grace_period ignored, the old key is revoked at once", "grace_period", v, "error", err.Error())
		return 0
	}
	return d
}

// deprecate keeps old working until now+grace as the key active (LiteLLM's
// LiteLLM_DeprecatedVerificationToken row); a failure only warns, as in
// LiteLLM: the regenerate itself stands.
func (s *Service) deprecate(ctx context.Context, old, active string, grace time.Duration) {
	if grace <= 0 {
		return
	}
	d := keystore.DeprecatedKey{Token: old, ActiveToken: active, RevokeAt: s.now().UTC().Add(grace)}
	if err := s.o.Store.DeprecateKey(ctx, d); err != nil {
		s.log.Warn("/key/regenerate: grace period not recorded, the old key is revoked at once", "error", err.Error())
		return
	}
	s.setDeprecated(d)
}

func (s *Service) setDeprecated(d keystore.DeprecatedKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.deprecated == nil {
		s.deprecated = map[string]keystore.DeprecatedKey{}
	}
	s.deprecated[d.Token] = d
}

// activeToken is the token an old key value stands for during its grace
// period ("" when none); s.mu held for reading.
func (s *Service) activeTokenLocked(token string) string {
	d, ok := s.deprecated[token]
	if !ok || !s.now().Before(d.RevokeAt) {
		return ""
	}
	return d.ActiveToken
}

// loadDeprecated reads the old key values still in their grace period (at
// each refresh).
func (s *Service) loadDeprecated(ctx context.Context) (map[string]keystore.DeprecatedKey, error) {
	ds, err := s.o.Store.DeprecatedKeys(ctx, s.now())
	if err != nil {
		return nil, err
	}
	out := make(map[string]keystore.DeprecatedKey, len(ds))
	for _, d := range ds {
		out[d.Token] = d
	}
	return out, nil
}

// reloadDeprecated re-reads one old key value another instance regenerated.
func (s *Service) reloadDeprecated(ctx context.Context, token string) {
	d, err := s.o.Store.GetDeprecatedKey(ctx, token, s.now())
	if err != nil {
		if !errors.Is(err, keystore.ErrNotFound) {
			s.log.Warn("regenerated key's grace period not loaded; the next refresh will", "error", err.Error())
		}
		return
	}
	s.setDeprecated(*d)
}
