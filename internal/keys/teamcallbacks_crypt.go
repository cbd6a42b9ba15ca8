package keys

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// Encrypted callback variables (docs/architecture.md D74), as LiteLLM keeps
// a team's or key's logging credentials at rest: a callback_vars value
// whose name is credential-bearing is stored as "litellm_enc::" followed by
// LiteLLM's encrypted form of it (encrypt_value_helper: NaCl secretbox under
// sha256(LITELLM_SALT_KEY, else the master key), EncryptValue here); names
// that are not (hosts, projects, regions) stay plain. Reading takes every
// form LiteLLM writes: secretbox, "v2:gcm:" and "v3:gcm:" AES-256-GCM.

// CallbackVarPrefix marks an encrypted callback variable.
const CallbackVarPrefix = "litellm_enc::"

// callbackVarRedacted replaces a credential in GET /team/{id}/callback.
const callbackVarRedacted = "***REDACTED***"

// sensitiveSegments are LiteLLM's SensitiveDataMasker patterns: a name is
// credential-bearing when one of its _- separated segments is one of them
// (and none is "cost"); gcs_path_service_account is added by name.
var sensitiveSegments = map[string]bool{"password": true, "secret": true, "key": true, "token": true, "auth": true,
	"authorization": true, "credential": true, "credentials": true, "secrets": true, "passwords": true, "access": true,
	"private": true, "certificate": true, "certificates": true, "fingerprint": true, "tenancy": true}

// SensitiveCallbackVar reports whether LiteLLM encrypts (and masks) a
// callback variable of this name.
func SensitiveCallbackVar(name string) bool {
	if name == "gcs_path_service_account" {
		return true
	}
	segs := strings.Split(strings.ReplaceAll(strings.ToLower(name), "-", "_"), "_")
	sensitive := false
	for _, s := range segs {
		if s == "cost" {
			return false
		}
		sensitive = sensitive || sensitiveSegments[s]
	}
	return sensitive
}

// EncryptCallbackVar is the stored form of a callback variable: sensitive,
// non-empty and not yet encrypted values are encrypted under secret; the
// rest, and everything without a secret, as given.
func EncryptCallbackVar(name, value, secret string) string {
	if value == "" || secret == "" || !SensitiveCallbackVar(name) || strings.HasPrefix(value, CallbackVarPrefix) {
		return value
	}
	return CallbackVarPrefix + EncryptValue(value, secret)
}

// DecryptCallbackVar reads a stored callback variable: a plain value as it
// is; an encrypted one opened under secret (ok false when it does not open:
// another salt key, or a corrupt value).
func DecryptCallbackVar(value, secret string) (string, bool) {
	inner, enc := strings.CutPrefix(value, CallbackVarPrefix)
	if !enc {
		return value, true
	}
	if rest, v3 := strings.CutPrefix(inner, gcmV3Prefix); v3 {
		return openGCMv3(rest, secret)
	}
	return DecryptValue(inner, secret)
}

// gcmV3Prefix marks LiteLLM's newer AES-256-GCM values: the key is
// HKDF-SHA256 of the secret (no salt, info "litellm-at-rest-v3"), a 12-byte
// nonce first, URL-safe base64.
const gcmV3Prefix = "v3:gcm:"

func openGCMv3(rest, secret string) (string, bool) {
	raw, err := base64.URLEncoding.DecodeString(rest)
	if err != nil || len(raw) < 12+16 {
		return "", false
	}
	key, err := hkdf.Key(sha256.New, []byte(secret), nil, "litellm-at-rest-v3", 32)
	if err != nil {
		return "", false
	}
	blk, err := aes.NewCipher(key)
	if err != nil {
		return "", false
	}
	gcm, err := cipher.NewGCM(blk)
	if err != nil {
		return "", false
	}
	out, err := gcm.Open(nil, raw[:12], raw[12:], nil)
	return string(out), err == nil
}

// SetSaltKey sets the secret callback variables are encrypted under:
// LITELLM_SALT_KEY, else the master key (a config reload calls it again).
func (s *Service) SetSaltKey(secret string) { s.salt.Store(&secret) }

func (s *Service) saltKey() string {
	if p := s.salt.Load(); p != nil {
		return *p
	}
	return ""
}

// encryptLoggingVars returns metadata with the credentials of its logging
// entries and callback_settings encrypted, as LiteLLM's
// encrypt_callback_vars stores /key/generate's, /team/new's and
// /team/update's metadata (the given map is not changed).
func (s *Service) encryptLoggingVars(md map[string]any) map[string]any {
	secret := s.saltKey()
	if md == nil || secret == "" {
		return md
	}
	return mapCallbackVars(md, func(k string, v any) any {
		if str, ok := v.(string); ok {
			return EncryptCallbackVar(k, str, secret)
		}
		return v
	})
}

// mapCallbackVars returns md with fn applied to every variable of its
// logging entries' and its callback_settings' callback_vars (the places
// LiteLLM keeps a key's or team's callback credentials); the maps on the
// way are copied, md itself is not changed (and is returned as it is when
// it has neither).
func mapCallbackVars(md map[string]any, fn func(k string, v any) any) map[string]any {
	vars := func(vs any) any {
		m, ok := vs.(map[string]any)
		if !ok {
			return vs
		}
		out := make(map[string]any, len(m))
		for k, v := range m {
			out[k] = fn(k, v)
		}
		return out
	}
	withVars := func(m map[string]any) map[string]any {
		c := make(map[string]any, len(m))
		for k, v := range m {
			c[k] = v
		}
		if vs, ok := m["callback_vars"]; ok {
			c["callback_vars"] = vars(vs)
		}
		return c
	}
	var out map[string]any
	set := func(k string, v any) {
		if out == nil {
			out = make(map[string]any, len(md))
			for mk, mv := range md {
				out[mk] = mv
			}
		}
		out[k] = v
	}
	if l, ok := md["logging"].([]any); ok {
		nl := make([]any, len(l))
		for i, e := range l {
			if em, ok := e.(map[string]any); ok {
				e = withVars(em)
			}
			nl[i] = e
		}
		set("logging", nl)
	}
	if cs, ok := md["callback_settings"].(map[string]any); ok {
		set("callback_settings", withVars(cs))
	}
	if out == nil {
		return md
	}
	return out
}
