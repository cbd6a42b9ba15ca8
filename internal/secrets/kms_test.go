package secrets_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/internal/fakesecrets"
	"github.com/llmgate/llmgate/internal/secrets"
)

// TestAWSKMS decrypts environment values with KMS Decrypt, SigV4 checked by
// the fake: a ciphertext (with and without LiteLLM's aws_kms/ prefix) is
// its plaintext; a plain value, one that is base64 but no ciphertext
// (InvalidCiphertextException) and an unset name are not found (the
// environment's value is used, as LiteLLM falls back to os.environ); the
// service down and a wrong key are errors.
func TestAWSKMS(t *testing.T) {
	f := fakesecrets.Start(t, fakesecrets.Options{AWSAccessKeyID: "AKIDFAKE", AWSSecretAccessKey: "fake-secret", AWSRegion: "eu-west-1"})
	env := map[string]string{"AWS_REGION_NAME": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKIDFAKE", "AWS_SECRET_ACCESS_KEY": "fake-secret", "AWS_ENDPOINT_URL_KMS": f.URL,
		"OPENAI_KEY": fakesecrets.Encrypt("sk-from-kms\n"), "PREFIXED": "aws_kms/" + fakesecrets.Encrypt("sk-two"),
		"API_BASE": "https://api.example.com/v1", "MODEL": "gpt4"}
	m, err := secrets.Open(secrets.AWSKMS, secrets.Settings{}, envOf(env), nil)
	if err != nil {
		t.Fatal(err)
	}
	check(t, m, []want{
		{name: "OPENAI_KEY", value: "sk-from-kms", found: true},
		{name: "PREFIXED", value: "sk-two", found: true},
		{name: "API_BASE"},
		{name: "MODEL"},
		{name: "UNSET"},
	})
	if got := strings.Join(f.Reads(), ","); got != "aws-kms,aws-kms,aws-kms" {
		t.Errorf("reads %q: want Decrypt for the two ciphertexts and the base64-looking MODEL only", got)
	}
	f.SetDown(true)
	env["OTHER"] = fakesecrets.Encrypt("x")
	check(t, m, []want{{name: "OTHER", err: "KMSInternalException"}})
	f.SetDown(false)
	env["AWS_SECRET_ACCESS_KEY"] = "wrong"
	m, _ = secrets.Open(secrets.AWSKMS, secrets.Settings{}, envOf(env), nil)
	check(t, m, []want{{name: "OPENAI_KEY", err: "InvalidSignatureException"}})
	delete(env, "AWS_REGION_NAME")
	if _, err := secrets.Open(secrets.AWSKMS, secrets.Settings{}, envOf(env), nil); err == nil || !strings.Contains(err.Error(), "aws_kms needs a region") {
		t.Errorf("no region: %v", err)
	}
}

// TestGoogleKMS decrypts with Cloud KMS: a token from the service account
// of GOOGLE_APPLICATION_CREDENTIALS (an RS256 JWT the fake verifies with
// the account's public key), then decrypt on GOOGLE_KMS_RESOURCE_NAME; and
// reads Secret Manager with the same kind of token.
func TestGoogleKMS(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	const kmsKey = "projects/p1/locations/global/keyRings/r1/cryptoKeys/k1"
	f := fakesecrets.Start(t, fakesecrets.Options{GoogleEmail: "gw@p1.iam.gserviceaccount.com", GoogleKey: key, GoogleToken: "ya29.fake", GoogleKMSKey: kmsKey, GoogleProject: "p1"})
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	sa, _ := json.Marshal(map[string]string{"type": "service_account", "client_email": "gw@p1.iam.gserviceaccount.com", "private_key": string(pemKey),
		"private_key_id": "k1", "token_uri": f.URL + "/google/token", "project_id": "p1"})
	credFile := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(credFile, sa, 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"GOOGLE_KMS_RESOURCE_NAME": kmsKey, "GOOGLE_APPLICATION_CREDENTIALS": credFile, "CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS": f.URL + "/",
		"OPENAI_KEY": fakesecrets.Encrypt("sk-from-google"), "MODEL": "gpt4", "API_BASE": "https://x/v1"}
	m, err := secrets.Open(secrets.GoogleKMS, secrets.Settings{}, envOf(env), nil)
	if err != nil {
		t.Fatal(err)
	}
	check(t, m, []want{
		{name: "OPENAI_KEY", value: "sk-from-google", found: true},
		{name: "MODEL"},
		{name: "API_BASE"},
	})
	if got := strings.Join(f.Reads(), ","); got != "google-token,google-kms,google-kms" {
		t.Errorf("reads %q: want one token, then decrypt for the ciphertext and the base64-looking MODEL", got)
	}
	f.SetDown(true)
	env["OTHER"] = fakesecrets.Encrypt("x")
	check(t, m, []want{{name: "OTHER", err: "503 UNAVAILABLE"}})
	f.SetDown(false)

	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	sa2 := strings.Replace(string(sa), strings.ReplaceAll(string(pemKey), "\n", `\n`),
		strings.ReplaceAll(string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(other)})), "\n", `\n`), 1)
	if err := os.WriteFile(credFile, []byte(sa2), 0o600); err != nil {
		t.Fatal(err)
	}
	m, _ = secrets.Open(secrets.GoogleKMS, secrets.Settings{}, envOf(env), nil)
	check(t, m, []want{{name: "OPENAI_KEY", err: "token request for gw@p1.iam.gserviceaccount.com failed: HTTP 400"}})

	// Secret Manager with the same service account (GCS_PATH_SERVICE_ACCOUNT
	// wins over GOOGLE_APPLICATION_CREDENTIALS, as LiteLLM reads it).
	if err := os.WriteFile(credFile, sa, 0o600); err != nil {
		t.Fatal(err)
	}
	f.Put("OPENAI_KEY", "sk-from-secret-manager")
	smEnv := map[string]string{"GOOGLE_SECRET_MANAGER_PROJECT_ID": "p1", "GCS_PATH_SERVICE_ACCOUNT": credFile, "GOOGLE_APPLICATION_CREDENTIALS": "/nonexistent",
		"CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER": f.URL}
	sm, err := secrets.Open(secrets.GoogleSecretManager, secrets.Settings{}, envOf(smEnv), nil)
	if err != nil {
		t.Fatal(err)
	}
	before := len(f.Reads())
	check(t, sm, []want{
		{name: "OPENAI_KEY", value: "sk-from-secret-manager", found: true},
		{name: "MISSING"},
		{name: "bad.name"},
	})
	if got := strings.Join(f.Reads()[before:], ","); got != "google-token,google-sm OPENAI_KEY,google-sm MISSING" {
		t.Errorf("secret manager reads %q: the name it cannot hold never asked", got)
	}
	f.SetDown(true)
	check(t, sm, []want{{name: "OTHER", err: "503 UNAVAILABLE"}})
	f.SetDown(false)
	delete(smEnv, "GOOGLE_SECRET_MANAGER_PROJECT_ID")
	if _, err := secrets.Open(secrets.GoogleSecretManager, secrets.Settings{}, envOf(smEnv), nil); err == nil || !strings.Contains(err.Error(), "GOOGLE_SECRET_MANAGER_PROJECT_ID") {
		t.Errorf("no project: %v", err)
	}

	env["GOOGLE_KMS_RESOURCE_NAME"] = "my-key"
	if _, err := secrets.Open(secrets.GoogleKMS, secrets.Settings{}, envOf(env), nil); err == nil || !strings.Contains(err.Error(), "is not projects/") {
		t.Errorf("bad key name: %v", err)
	}
	delete(env, "GOOGLE_APPLICATION_CREDENTIALS")
	if _, err := secrets.Open(secrets.GoogleKMS, secrets.Settings{}, envOf(env), nil); err == nil || !strings.Contains(err.Error(), "GOOGLE_APPLICATION_CREDENTIALS") {
		t.Errorf("no credentials: %v", err)
	}
}
