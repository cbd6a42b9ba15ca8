package extproc

import (
	"crypto/sha256"
	"crypto/subtle"
	"strings"

	"github.com/llmgate/llmgate/translator"
)

// defaultKeyHeaders is LiteLLM's lookup order for the client's key.
var defaultKeyHeaders = []string{"x-litellm-api-key", "authorization", "api-key", "x-api-key", "x-goog-api-key", "ocp-apim-subscription-key"}

// clientAuthHeaders are removed before a request goes upstream: the client's
// key must never reach a provider.
var clientAuthHeaders = []string{"x-litellm-api-key", "authorization", "api-key", "x-api-key", "x-goog-api-key", "ocp-apim-subscription-key"}

func keyHeaderOrder(custom string) []string {
	if custom == "" {
		return defaultKeyHeaders
	}
	return append([]string{strings.ToLower(custom)}, defaultKeyHeaders...)
}

// presentedKey finds the client's key in the request headers.
func (st *State) presentedKey(h map[string]string) string {
	for _, name := range st.keyHeaders {
		v := strings.TrimSpace(h[name])
		if v == "" {
			continue
		}
		if name == "authorization" {
			if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
				v = strings.TrimSpace(v[7:])
			} else if len(v) > 6 && strings.EqualFold(v[:6], "basic ") {
				continue
			}
		}
		return v
	}
	return ""
}

// identity is who a request's key says the caller is.
type identity struct {
	master    bool   // the master key, or no master_key set (everything open)
	token     string // a virtual key's sha256 (hex), as LiteLLM stores it
	presented string // the virtual key as sent (for LiteLLM's abbreviated param)
}

// authenticate checks the key: with no master_key everything is open. The
// master key is compared in constant time over sha256 digests; a virtual key
// is found by its sha256 in the in-memory key cache (no database round trip).
// A route in public_routes needs no key (after allowed_ips, as in LiteLLM)
// unless public is false (the key-management routes, whose public caller
// LiteLLM refuses).
func (st *State) authenticate(h map[string]string, public bool) (identity, *translator.Error) {
	if st.ips != nil {
		if e := st.ips.check(h); e != nil {
			return identity{}, e // allowed_ips (keys.go)
		}
	}
	if public && st.public != nil && st.public.has(h[":path"]) {
		return identity{master: true}, nil
	}
	if !st.hasMaster {
		return identity{master: true}, nil
	}
	key := st.presentedKey(h)
	if key == "" {
		return identity{}, &translator.Error{Status: 401, Type: "auth_error", Code: "401",
			Message: "Authentication Error, No api key passed in."}
	}
	sum := sha256.Sum256([]byte(key))
	if subtle.ConstantTimeCompare(sum[:], st.masterKey[:]) == 1 {
		return identity{master: true}, nil
	}
	if st.keys != nil {
		if token, ok := st.keys.LookupSum(&sum); ok {
			return identity{token: token, presented: key}, nil
		}
	}
	return identity{}, &translator.Error{Status: 401, Type: "auth_error", Code: "401",
		Message: "Authentication Error, Invalid proxy server token passed. Received API key: " + redactKey(key)}
}

// redactKey shows only the start and end of a key, as LiteLLM does.
func redactKey(k string) string {
	if len(k) <= 8 {
		return "****"
	}
	return k[:3] + "****" + k[len(k)-4:]
}
