package keys

import (
	"strings"

	"github.com/llmgate/llmgate/internal/keystore"
)

// ModelLimits are a model group's default per-key limits: the smallest
// litellm_params.default_api_key_rpm_limit / default_api_key_tpm_limit of
// its deployments (0: none), as LiteLLM's _get_deployment_default_limit.
type ModelLimits struct {
	RPM int64 `json:"rpm,omitempty"`
	TPM int64 `json:"tpm,omitempty"`
}

// SetKeyModelDefaults sets the model groups' default per-key limits of the
// config in force (D109); a config reload calls it again.
func (s *Service) SetKeyModelDefaults(m map[string]ModelLimits) {
	s.mu.Lock()
	s.keyModelDefaults = m
	s.mu.Unlock()
	s.viewChanged(true)
}

// keyModelCounter is the counters' id of a key's requests to one model
// group (LiteLLM's model_per_key descriptor, "<api_key>:<group>").
func keyModelCounter(token, group string) string { return "keymodel:" + token + ":" + group }

// keyModelEntity is a caller's limits on the model group it calls (token:
// a virtual key's hash, or a keyless caller's api_key, IsCaller):
// LiteLLM's get_key_model_rpm_limit / get_key_model_tpm_limit, whose first
// sources (the key's and its team's metadata.model_rpm_limit, its
// model_max_budget's rpm_limit) llmgate does not read, so the deployments'
// default_api_key_rpm_limit / default_api_key_tpm_limit are what applies.
// Every key is counted on its own (the limit is per key, not shared).
func (s *Service) keyModelEntity(token, group string) (limited, bool) {
	if token == "" || group == "" {
		return limited{}, false
	}
	s.mu.RLock()
	d, ok := s.keyModelDefaults[group]
	s.mu.RUnlock()
	if !ok || d.RPM == 0 && d.TPM == 0 {
		return limited{}, false
	}
	return limited{kind: "model_per_key", name: token + ":" + group, id: keyModelCounter(token, group), rpm: d.RPM, tpm: d.TPM}, true
}

// withKeyModel appends the model_per_key entity of the key k, else of the
// keyless caller, for group to ents (last, as LiteLLM's v3 limiter builds
// its descriptors).
func (s *Service) withKeyModel(ents []limited, k *keystore.Key, caller, group string) []limited {
	if k != nil {
		caller = k.Token
	}
	if e, ok := s.keyModelEntity(caller, group); ok {
		return append(ents, e)
	}
	return ents
}

// keyModelLimits are CounterLimits for a keymodel counter ("<token>:<group>").
func (s *Service) keyModelLimits(rest string) (rpm, tpm int64) {
	token, group, ok := strings.Cut(rest, ":")
	if !ok {
		return 0, 0
	}
	if !IsCaller(token) {
		k, _, _ := s.cached(token)
		if k == nil {
			return 0, 0
		}
		token = k.Token
	}
	if e, ok := s.keyModelEntity(token, group); ok {
		return e.rpm, e.tpm
	}
	return 0, 0
}

// requestGroup is a check's model group: the last of its model names (the
// requested name, then its group).
func requestGroup(models []string) string {
	if len(models) == 0 {
		return ""
	}
	return models[len(models)-1]
}
