package keys

import (
	"encoding/json"
	"os"
	"testing"
)

// Stored litellm_params are encrypted as LiteLLM encrypts them, both ways:
// testdata/litellm_crypto.json holds values LiteLLM 1.108.7 encrypted (its
// default NaCl secretbox scheme and its v2:gcm: AES-GCM one), which llmgate
// must open, and values llmgate encrypted with the plaintext LiteLLM's
// decrypt_value_helper returned for them (recorded once; CI has no LiteLLM).
func TestEncryptionAgainstLiteLLM(t *testing.T) {
	b, err := os.ReadFile("testdata/litellm_crypto.json")
	if err != nil {
		t.Fatal(err)
	}
	type pair struct {
		Plaintext, Encrypted string
		LiteLLMDecrypted     string `json:"litellm_decrypted"`
	}
	var rec struct {
		SaltKey             string `json:"salt_key"`
		LLMGateEncrypted    []pair `json:"llmgate_encrypted"`
		LiteLLMEncrypted    []pair `json:"litellm_encrypted"`
		LiteLLMEncryptedGCM []pair `json:"litellm_encrypted_gcm"`
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.LLMGateEncrypted) == 0 || len(rec.LiteLLMEncrypted) == 0 || len(rec.LiteLLMEncryptedGCM) == 0 {
		t.Fatalf("incomplete record: %+v", rec)
	}
	for _, p := range append(rec.LiteLLMEncrypted, rec.LiteLLMEncryptedGCM...) {
		got, ok := DecryptValue(p.Encrypted, rec.SaltKey)
		if !ok || got != p.Plaintext {
			t.Errorf("LiteLLM's %q: llmgate read %q (%v), want %q", p.Encrypted, got, ok, p.Plaintext)
		}
		if _, ok := DecryptValue(p.Encrypted, "another-salt"); ok {
			t.Errorf("%q opened under another salt key", p.Encrypted)
		}
	}
	for _, p := range rec.LLMGateEncrypted {
		if p.LiteLLMDecrypted != p.Plaintext {
			t.Errorf("LiteLLM read llmgate's %q as %q, want %q", p.Encrypted, p.LiteLLMDecrypted, p.Plaintext)
		}
		if got, ok := DecryptValue(p.Encrypted, rec.SaltKey); !ok || got != p.Plaintext {
			t.Errorf("the recorded llmgate value %q no longer opens: %q", p.Encrypted, got)
		}
		// Today's EncryptValue writes the same scheme: same length, and it opens.
		now := EncryptValue(p.Plaintext, rec.SaltKey)
		if len(now) != len(p.Encrypted) {
			t.Errorf("EncryptValue(%q) is %d characters, the recorded one %d: the scheme changed", p.Plaintext, len(now), len(p.Encrypted))
		}
	}
}
