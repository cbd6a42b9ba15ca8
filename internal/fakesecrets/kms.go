package fakesecrets

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// kmsMagic starts every ciphertext the fake makes; Decrypt refuses others.
var kmsMagic = []byte("fake-kms-v1:")

// Encrypt is the base64 ciphertext of plaintext, as the fake KMS services
// (AWS and Google) decrypt it: their stand-in for an encrypted environment
// value. Not encryption: the plaintext is only reversed.
func Encrypt(plaintext string) string {
	b := append([]byte(nil), kmsMagic...)
	for i := len(plaintext) - 1; i >= 0; i-- {
		b = append(b, plaintext[i])
	}
	return base64.StdEncoding.EncodeToString(b)
}

// kmsDecrypt undoes Encrypt's bytes (ct is the decoded ciphertext).
func kmsDecrypt(ct []byte) ([]byte, bool) {
	rest, ok := bytes.CutPrefix(ct, kmsMagic)
	if !ok {
		return nil, false
	}
	p := make([]byte, len(rest))
	for i := range rest {
		p[len(rest)-1-i] = rest[i]
	}
	return p, true
}

// awsKMS answers TrentService.Decrypt as AWS KMS does (AWS JSON 1.1, the
// blobs base64), SigV4 checked for service kms.
func (s *Server) awsKMS(w http.ResponseWriter, r *http.Request, body []byte) {
	var in struct {
		CiphertextBlob []byte
	}
	_ = json.Unmarshal(body, &in)
	s.mu.Lock()
	s.reads = append(s.reads, "aws-kms")
	down := s.down
	s.mu.Unlock()
	creds := aws.Credentials{AccessKeyID: s.opts.AWSAccessKeyID, SecretAccessKey: s.opts.AWSSecretAccessKey}
	if err := fakeprovider.VerifySigV4(r, body, creds, "kms", s.opts.AWSRegion, time.Now()); err != nil {
		exc, msg := fakeprovider.SigV4Exception(err)
		awsError(w, 400, exc, msg)
		return
	}
	if down {
		awsError(w, 500, "KMSInternalException", "An internal error occurred.")
		return
	}
	p, ok := kmsDecrypt(in.CiphertextBlob)
	if !ok {
		awsError(w, 400, "InvalidCiphertextException", "")
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"KeyId":               "arn:aws:kms:" + s.opts.AWSRegion + ":123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		"Plaintext":           p,
		"EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
	})
}

// googleToken answers Google's OAuth token endpoint for a service
// account's JWT-bearer grant (POST /google/token): the assertion must be an
// RS256 JWT signed by GoogleKey, for GoogleEmail, asking for the
// cloud-platform scope; it answers GoogleToken.
func (s *Server) googleToken(w http.ResponseWriter, body []byte) {
	s.mu.Lock()
	s.reads = append(s.reads, "google-token")
	s.mu.Unlock()
	form, _ := url.ParseQuery(string(body))
	fail := func(desc string) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(400)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant", "error_description": desc})
	}
	if form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		fail("Invalid grant_type")
		return
	}
	parts := strings.Split(form.Get("assertion"), ".")
	if len(parts) != 3 || s.opts.GoogleKey == nil {
		fail("Invalid JWT.")
		return
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err != nil || rsa.VerifyPKCS1v15(&s.opts.GoogleKey.PublicKey, crypto.SHA256, sum[:], sig) != nil {
		fail("Invalid JWT Signature.")
		return
	}
	claims, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var c struct {
		Iss   string `json:"iss"`
		Scope string `json:"scope"`
	}
	_ = json.Unmarshal(claims, &c)
	if c.Iss != s.opts.GoogleEmail || !strings.Contains(c.Scope, "https://www.googleapis.com/auth/cloud-platform") {
		fail("Invalid JWT: issuer or scope.")
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": s.opts.GoogleToken, "expires_in": 3599, "token_type": "Bearer"})
}

func googleError(w http.ResponseWriter, status int, st, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": status, "message": msg, "status": st}})
}

// googleKMS answers Cloud KMS's decrypt (POST /v1/{key}:decrypt) for the
// key GoogleKMSKey.
func (s *Server) googleKMS(w http.ResponseWriter, r *http.Request, body []byte) {
	key := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/v1/"), ":decrypt")
	s.mu.Lock()
	s.reads = append(s.reads, "google-kms")
	down := s.down
	s.mu.Unlock()
	var in struct {
		Ciphertext string `json:"ciphertext"`
	}
	switch {
	case s.opts.GoogleToken == "" || r.Header.Get("Authorization") != "Bearer "+s.opts.GoogleToken:
		googleError(w, 401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
		return
	case key != s.opts.GoogleKMSKey:
		googleError(w, 404, "NOT_FOUND", "CryptoKey "+key+" not found.")
		return
	case down:
		googleError(w, 503, "UNAVAILABLE", "The service is currently unavailable.")
		return
	case json.Unmarshal(body, &in) != nil:
		googleError(w, 400, "INVALID_ARGUMENT", "Invalid JSON payload received.")
		return
	}
	ct, err := base64.StdEncoding.DecodeString(in.Ciphertext)
	p, ok := kmsDecrypt(ct)
	if err != nil || !ok {
		googleError(w, 400, "INVALID_ARGUMENT", "Decryption failed: the ciphertext is invalid.")
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_ = json.NewEncoder(w).Encode(map[string]any{"plaintext": base64.StdEncoding.EncodeToString(p), "usedPrimary": true, "protectionLevel": "SOFTWARE"})
}

// googleSecret answers Secret Manager's access (GET
// /v1/projects/{GoogleProject}/secrets/{name}/versions/latest:access) from
// the secrets Put.
func (s *Server) googleSecret(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/v1/projects/")
	project, rest, _ := strings.Cut(rest, "/secrets/")
	name, ok := strings.CutSuffix(rest, "/versions/latest:access")
	s.mu.Lock()
	s.reads = append(s.reads, "google-sm "+name)
	down := s.down
	val, found := s.secrets[name]
	s.mu.Unlock()
	switch {
	case s.opts.GoogleToken == "" || r.Header.Get("Authorization") != "Bearer "+s.opts.GoogleToken:
		googleError(w, 401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
	case !ok || project != s.opts.GoogleProject:
		googleError(w, 404, "NOT_FOUND", "Project or path not found.")
	case down:
		googleError(w, 503, "UNAVAILABLE", "The service is currently unavailable.")
	case !found:
		googleError(w, 404, "NOT_FOUND", "Secret [projects/"+project+"/secrets/"+name+"] not found or has no versions.")
	default:
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"name":    "projects/" + project + "/secrets/" + name + "/versions/1",
			"payload": map[string]any{"data": base64.StdEncoding.EncodeToString([]byte(val)), "dataCrc32c": "0"},
		})
	}
}
