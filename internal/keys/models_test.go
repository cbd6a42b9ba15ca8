package keys

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"testing"
)

// litellm_params values are stored as LiteLLM stores them (NaCl secretbox
// under sha256 of the salt or master key, URL-safe base64); a value not
// encrypted with the secret is read as it is.
func TestModelParamsEncryption(t *testing.T) {
	enc := EncryptValue("sk-provider-secret", "sk-master")
	if enc == "sk-provider-secret" || len(enc) < 40 {
		t.Fatalf("encrypted: %q", enc)
	}
	if v, ok := DecryptValue(enc, "sk-master"); !ok || v != "sk-provider-secret" {
		t.Fatalf("decrypted: %q %v", v, ok)
	}
	if _, ok := DecryptValue(enc, "another-key"); ok {
		t.Fatal("decrypted with the wrong secret")
	}
	// LiteLLM's AES-GCM values ("v2:gcm:", key sha256(secret), nonce first).
	blk, _ := aes.NewCipher(secretKey("sk-master")[:])
	gcm, _ := cipher.NewGCM(blk)
	nonce := make([]byte, 12)
	gv := gcmV2Prefix + base64.URLEncoding.EncodeToString(append(nonce, gcm.Seal(nil, nonce, []byte("sk-gcm"), nil)...))
	if v, ok := DecryptValue(gv, "sk-master"); !ok || v != "sk-gcm" {
		t.Fatalf("v2:gcm: %q %v", v, ok)
	}
	// Older LiteLLM versions wrote standard base64.
	raw, _ := base64.URLEncoding.DecodeString(enc)
	if v, ok := DecryptValue(base64.StdEncoding.EncodeToString(raw), "sk-master"); !ok || v != "sk-provider-secret" {
		t.Fatalf("standard base64: %q %v", v, ok)
	}
	p := cryptParams(map[string]any{"model": "openai/gpt-4o", "rpm": 10.0}, "s", true)
	if p["model"] == "openai/gpt-4o" || p["rpm"] != 10.0 {
		t.Fatalf("encrypted params: %v", p)
	}
	back := cryptParams(map[string]any{"model": p["model"], "plain": "as-is"}, "s", false)
	if back["model"] != "openai/gpt-4o" || back["plain"] != "as-is" {
		t.Fatalf("decrypted params: %v", back)
	}
}

// Without store_model_in_db, /model/new answers LiteLLM's error.
func TestModelRoutesNeedStoreModelInDB(t *testing.T) {
	s := newService(t, embedded(t), "")
	defer s.Close()
	st, m := callAs(t, s, Caller{Admin: true}, "POST", "/model/new", `{"model_name":"m","litellm_params":{"model":"openai/x"}}`)
	if st != 500 || errMsg(m) != "Set `'STORE_MODEL_IN_DB='True'` in your env to enable this feature." {
		t.Fatalf("%d %v", st, m)
	}
	applied := 0
	s.SetModelSettings(ModelSettings{StoreInDB: true, Secret: "k", Apply: func(context.Context) error { applied++; return nil }})
	if st, m := callAs(t, s, Caller{Admin: true}, "POST", "/model/new", `{"model_name":"m","litellm_params":{"model":"openai/x","api_key":"sk-p"}}`); st != 200 ||
		m["litellm_params"].(map[string]any)["api_key"] != "<redacted>" || applied != 1 {
		t.Fatalf("/model/new: %d %v (applied %d)", st, m, applied)
	}
	if st, _ := callAs(t, s, Caller{Token: "x"}, "POST", "/model/new", `{}`); st != 401 {
		t.Fatalf("a virtual key added a model: %d", st)
	}
	ms, err := s.StoredModels(context.Background(), "k")
	if err != nil || len(ms) != 1 || ms[0].LitellmParams["api_key"] != "sk-p" || ms[0].ModelInfo["db_model"] != true {
		t.Fatalf("stored: %+v %v", ms, err)
	}
}
