package keys

import (
	"testing"

	"github.com/llmgate/llmgate/internal/keystore"
)

// enforce_user_param and enforced_params on a body (D90), with LiteLLM's
// statuses and messages: the user check for a virtual key only, the
// config's fields then the key's metadata.enforced_params, two levels at
// most, `metadata` always present (LiteLLM adds it before checking);
// service_account_settings' fields for service account keys only.
func TestCheckBody(t *testing.T) {
	rules := NewRequestRules(true, []string{"max_tokens", "metadata.trace"}, nil)
	key := &keystore.Key{Metadata: map[string]any{"enforced_params": []any{"temperature", "a.b.c"}}}
	saRules := NewRequestRules(false, []string{"max_tokens"}, []string{"team_tag"})
	saKey := &keystore.Key{Metadata: map[string]any{"service_account_id": "ci-bot", "enforced_params": []any{"temperature"}}}
	userMsg := "Authentication Error, 'user' param not passed in. 'enforce_user_param'=True"
	for _, tc := range []struct {
		name   string
		r      *RequestRules
		k      *keystore.Key
		body   string
		status int
		msg    string
	}{
		{"nothing set", nil, &keystore.Key{}, `{}`, 0, ""},
		{"key without user", rules, key, `{"max_tokens":1}`, 401, userMsg},
		{"null user counts", rules, key, `{"user":null,"max_tokens":1,"metadata":{"trace":1},"temperature":0}`, 0, ""},
		{"master key needs no user", rules, nil, `{"max_tokens":1,"metadata":{"trace":1}}`, 0, ""},
		{"config field", rules, nil, `{}`, 500, "BadRequest please pass param=max_tokens in request body. This is a required param"},
		{"second level", rules, nil, `{"max_tokens":1,"metadata":{}}`, 500, "BadRequest please pass param=[metadata][trace] in request body. This is a required param"},
		{"second level, no metadata", rules, nil, `{"max_tokens":1}`, 500, "BadRequest please pass param=[metadata][trace] in request body. This is a required param"},
		{"key's own field", rules, key, `{"user":"u","max_tokens":1,"metadata":{"trace":1}}`, 500, "BadRequest please pass param=temperature in request body. This is a required param"},
		{"key's own only", nil, key, `{}`, 500, "BadRequest please pass param=temperature in request body. This is a required param"},
		{"metadata alone always there", NewRequestRules(false, []string{"metadata"}, nil), nil, `{}`, 0, ""},
		// service_account_settings.enforced_params: after the config's, for a
		// key whose metadata has service_account_id (null too), not for others.
		{"service account field", saRules, saKey, `{"max_tokens":1}`, 500, "BadRequest please pass param=team_tag in request body. This is a required param"},
		{"service account, null id", saRules, &keystore.Key{Metadata: map[string]any{"service_account_id": nil}}, `{"max_tokens":1}`, 500, "BadRequest please pass param=team_tag in request body. This is a required param"},
		{"config's field first", saRules, saKey, `{}`, 500, "BadRequest please pass param=max_tokens in request body. This is a required param"},
		{"service account, then its own", saRules, saKey, `{"max_tokens":1,"team_tag":"x"}`, 500, "BadRequest please pass param=temperature in request body. This is a required param"},
		{"service account, all there", saRules, saKey, `{"max_tokens":1,"team_tag":"x","temperature":0}`, 0, ""},
		{"not a service account", saRules, &keystore.Key{}, `{"max_tokens":1}`, 0, ""},
		{"master key is no service account", saRules, nil, `{"max_tokens":1}`, 0, ""},
		{"dots in a field name are not paths", NewRequestRules(false, []string{"x*"}, nil), nil, `{"xy":1}`, 500, "BadRequest please pass param=x* in request body. This is a required param"},
	} {
		e := CheckBody(tc.r, tc.k, []byte(tc.body))
		if tc.status == 0 {
			if e != nil {
				t.Errorf("%s: refused %+v", tc.name, e)
			}
			continue
		}
		if e == nil || e.Status != tc.status || e.Message != tc.msg {
			t.Errorf("%s: %+v, want %d %q", tc.name, e, tc.status, tc.msg)
		}
	}
}
