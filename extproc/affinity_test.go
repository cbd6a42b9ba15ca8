package extproc

import (
	"testing"

	"github.com/llmgate/llmgate/internal/jwtauth"
	"github.com/llmgate/llmgate/internal/keys"
)

// sessionID reads LiteLLM's session id sources in its order (D168);
// affinityCaller names the caller as LiteLLM's user_api_key_hash does.
func TestSessionID(t *testing.T) {
	body := []byte(`{"model":"m","litellm_session_id":"top","metadata":{"session_id":"meta"}}`)
	for _, c := range []struct {
		h        map[string]string
		body     string
		readBody bool
		want     string
	}{
		{map[string]string{"x-litellm-trace-id": "tr", "x-litellm-session-id": "ss"}, string(body), true, "tr"},
		{map[string]string{"x-litellm-session-id": "ss", "x-claude-code-session-id": "abcdefgh-1"}, string(body), true, "ss"},
		{map[string]string{"x-claude-code-session-id": "abcdefgh-1", "x-session-id": "zzzzzzzz"}, "", false, "abcdefgh-1"},
		{map[string]string{"x-b-session-id": "bbbbbbbb", "x-a-session-id": "aaaaaaaa"}, "", false, "aaaaaaaa"},
		{map[string]string{"x-claude-code-session-id": "short", "x-session-id": "opencode-1"}, "", false, "opencode-1"},
		{map[string]string{"x-session-id": "has space"}, "", false, ""},
		{map[string]string{}, string(body), true, "top"},
		{map[string]string{}, `{"metadata":{"session_id":"meta"}}`, true, "meta"},
		{map[string]string{}, `{"litellm_metadata":{"session_id":"lm"}}`, true, "lm"},
		{map[string]string{}, `{"metadata":{"session_id":7}}`, true, ""},
		{map[string]string{}, string(body), false, ""},
	} {
		if got := sessionID(c.h, []byte(c.body), c.readBody); got != c.want {
			t.Errorf("sessionID(%v, %s, %v) = %q, want %q", c.h, c.body, c.readBody, got, c.want)
		}
	}
	for _, c := range []struct {
		id   identity
		want string
	}{
		{identity{token: "abc"}, "abc"},
		{identity{master: true, caller: keys.MasterKeyAlias}, keys.MasterKeyAlias},
		{identity{viaJWT: true, principal: &jwtauth.Principal{UserID: "u1"}, caller: "jwt"}, "user_id:u1"},
		{identity{master: true}, ""},
	} {
		if got := affinityCaller(c.id); got != c.want {
			t.Errorf("affinityCaller(%+v) = %q, want %q", c.id, got, c.want)
		}
	}
}
