package callbacks

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// TestSQSBodyEncrypted: with application-level encryption a message body
// is LiteLLM's envelope, {"__encrypted__": true, "payload": {nonce,
// ciphertext, tag}}, which AES-256-GCM with the key and the AAD opens to
// the payload (and not without the AAD).
func TestSQSBodyEncrypted(t *testing.T) {
	key := strings.Repeat("k", 32)
	st := &SQSSettings{EncryptionKey: key, EncryptionAAD: "ctx"}
	payload := []byte(`{"id":"c1","status":"success"}`)
	body, err := sqsBody(payload, st)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(body, `{"__encrypted__": true, "payload": {"nonce": "`) {
		t.Fatalf("envelope %s", body)
	}
	var env struct {
		Encrypted bool              `json:"__encrypted__"`
		Payload   map[string]string `json:"payload"`
	}
	if err := json.Unmarshal([]byte(body), &env); err != nil || !env.Encrypted {
		t.Fatalf("%v %s", err, body)
	}
	dec := func(k string) []byte { b, _ := base64.StdEncoding.DecodeString(env.Payload[k]); return b }
	block, _ := aes.NewCipher([]byte(key))
	gcm, _ := cipher.NewGCM(block)
	plain, err := gcm.Open(nil, dec("nonce"), append(dec("ciphertext"), dec("tag")...), []byte("ctx"))
	if err != nil || string(plain) != string(payload) {
		t.Fatalf("opened %q, %v", plain, err)
	}
	if _, err := gcm.Open(nil, dec("nonce"), append(dec("ciphertext"), dec("tag")...), nil); err == nil {
		t.Error("opened without the AAD")
	}
	if b, _ := sqsBody(payload, &SQSSettings{}); b != string(payload) {
		t.Errorf("plain body %q", b)
	}
	if id := sqsDedupID("a b\x01é" + strings.Repeat("x", 200)); len(id) != 128 || !strings.HasPrefix(id, "a_b__") {
		t.Errorf("dedup id %q", id)
	}
}

// TestOpenInferenceSpanKind: LiteLLM's call types mapped as its
// _infer_open_inference_span_kind maps them.
func TestOpenInferenceSpanKind(t *testing.T) {
	for ct, want := range map[string]string{"acompletion": "LLM", "aembedding": "EMBEDDING", "arerank": "RERANKER", "asearch": "RETRIEVER",
		"amoderation": "GUARDRAIL", "call_mcp_tool": "TOOL", "aimage_generation": "LLM", "atranscription": "LLM", "aresponses": "LLM",
		"allm_passthrough_route": "LLM", "acreate_file": "CHAIN", "acreate_batch": "CHAIN", "": "UNKNOWN", "other": "UNKNOWN"} {
		if got := OpenInferenceSpanKind(ct); got != want {
			t.Errorf("%q: %s, want %s", ct, got, want)
		}
	}
}
