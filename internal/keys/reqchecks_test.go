package keys

import (
	"testing"

	"github.com/llmgate/llmgate/internal/keystore"
)

// enforce_user_param and enforced_params on a body (D90), with LiteLLM's
// statuses and messages: the user check for a virtual key only, the
// config's fields then the key's metadata.enforced_params, two levels at
// most, `metadata` always present (LiteLLM adds it before checking).
func TestCheckBody(t *testing.T) {
	rules := NewRequestRules(true, []string{"max_tokens", "metadata.trace"})
	key := &keystore.Key{Metadata: map[string]any{"enforced_params": []any{"temperature", "a.b.c"}}}
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
		{"metadata alone always there", NewRequestRules(false, []string{"metadata"}), nil, `{}`, 0, ""},
		{"dots in a field name are not paths", NewRequestRules(false, []string{"x*"}), nil, `{"xy":1}`, 500, "BadRequest please pass param=x* in request body. This is a required param"},
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
