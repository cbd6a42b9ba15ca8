package keys

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// MasterKeyAlias is the api_key LiteLLM (LITELLM_PROXY_MASTER_KEY_ALIAS)
// gives a master-key caller: its spend logs', its rate limits' and its
// metrics' key, never the master key or its hash.
const MasterKeyAlias = "litellm_proxy_master_key"

// jwtCallerPrefix starts a JWT caller's api_key (LiteLLM's
// UserAPIKeyAuth._safe_hash_litellm_api_key: "hashed-jwt-<sha256 hex>").
const jwtCallerPrefix = "hashed-jwt-"

// JWTCaller is the api_key LiteLLM gives the caller of a JWT.
func JWTCaller(token string) string {
	sum := sha256.Sum256([]byte(token))
	return jwtCallerPrefix + hex.EncodeToString(sum[:])
}

// IsCaller reports whether token is a keyless caller's api_key (the master
// key's alias or a JWT's hash), not a virtual key's hash: it has no key
// row, and its limits are the model groups' defaults only (D136).
func IsCaller(token string) bool {
	return token == MasterKeyAlias || strings.HasPrefix(token, jwtCallerPrefix)
}

// CallerLimited reports whether the model group has a default per-key
// limit (default_api_key_rpm_limit / _tpm_limit), which LiteLLM's v3
// limiter applies to every caller's api_key, the master key's alias and a
// JWT's hash included (its model_per_key descriptor).
func (s *Service) CallerLimited(group string) bool {
	if group == "" {
		return false
	}
	s.mu.RLock()
	d, ok := s.keyModelDefaults[group]
	s.mu.RUnlock()
	return ok && (d.RPM > 0 || d.TPM > 0)
}
