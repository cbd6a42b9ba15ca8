package fakesecrets

import (
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// Options configure the fake. The zero values of the credentials refuse
// every request of that kind.
type Options struct {
	// AWS: the credentials and region requests must be signed with.
	AWSAccessKeyID, AWSSecretAccessKey, AWSRegion string
	// Vault: the token a read must carry; AppRole: the role and secret id
	// a login must send (it answers VaultToken).
	VaultToken, VaultRoleID, VaultSecretID string
	// VaultMount is the KV v2 mount ("secret" when empty).
	VaultMount string
	// Azure: the tenant, client id and secret (or federated assertion) a
	// token request must send; the Key Vault then wants the token it
	// answered (AzureToken).
	AzureTenant, AzureClientID, AzureClientSecret, AzureAssertion string
	AzureToken                                                    string
	// Google: the service account (its e-mail and RSA key) a token grant
	// must be signed by, the token then answered, and the Cloud KMS key
	// (projects/…/cryptoKeys/…) decrypt is served for.
	// GoogleProject is the project Secret Manager serves the Put secrets in.
	GoogleEmail, GoogleToken, GoogleKMSKey, GoogleProject string
	GoogleKey                                             *rsa.PrivateKey
}

// Server is a running fake secret manager: AWS at URL (POST /), Vault at
// URL (GET /v1/<mount>/data/<name>).
type Server struct {
	URL  string
	opts Options

	mu      sync.Mutex
	secrets map[string]string
	down    bool
	reads   []string
}

// Start serves the fake until the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	if o.VaultMount == "" {
		o.VaultMount = "secret"
	}
	s := &Server{opts: o, secrets: map[string]string{}}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Put stores a secret (both services read the same names).
func (s *Server) Put(name, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secrets[name] = value
}

// SetDown makes every request fail (AWS InternalServiceError, Vault 503)
// while down is true.
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// Reads returns "aws <name>" / "vault <name>" / "vault-login" /
// "azure-token" / "azure <name>" for every
// request answered so far (failed ones included).
func (s *Server) Reads() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.reads...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/" && strings.HasPrefix(r.Header.Get("X-Amz-Target"), "TrentService."):
		s.awsKMS(w, r, body)
	case r.Method == http.MethodPost && r.URL.Path == "/" && r.Header.Get("X-Amz-Target") != "":
		s.aws(w, r, body)
	case r.Method == http.MethodPost && r.URL.Path == "/google/token":
		s.googleToken(w, body)
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/v1/projects/") && strings.HasSuffix(r.URL.Path, ":decrypt"):
		s.googleKMS(w, r, body)
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/v1/auth/") && strings.HasSuffix(r.URL.Path, "/login"):
		s.vaultLogin(w, body)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/projects/") && strings.HasSuffix(r.URL.Path, ":access"):
		s.googleSecret(w, r)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/"):
		s.vaultRead(w, r)
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token"):
		s.azureToken(w, r, body)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/secrets/"):
		s.azureRead(w, r)
	default:
		http.NotFound(w, r)
	}
}

func awsError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-Requestid", "fake-request-id")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": typ, "Message": msg})
}

// aws answers GetSecretValue as Secrets Manager does.
func (s *Server) aws(w http.ResponseWriter, r *http.Request, body []byte) {
	var in struct {
		SecretId string
	}
	_ = json.Unmarshal(body, &in)
	s.mu.Lock()
	s.reads = append(s.reads, "aws "+in.SecretId)
	down := s.down
	val, ok := s.secrets[in.SecretId]
	s.mu.Unlock()
	if got := r.Header.Get("Content-Type"); got != "application/x-amz-json-1.1" {
		awsError(w, 400, "SerializationException", "Content-Type must be application/x-amz-json-1.1, got "+got)
		return
	}
	if r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" {
		awsError(w, 400, "UnknownOperationException", "")
		return
	}
	creds := aws.Credentials{AccessKeyID: s.opts.AWSAccessKeyID, SecretAccessKey: s.opts.AWSSecretAccessKey}
	if err := fakeprovider.VerifySigV4(r, body, creds, "secretsmanager", s.opts.AWSRegion, time.Now()); err != nil {
		exc, msg := fakeprovider.SigV4Exception(err)
		awsError(w, 403, exc, msg)
		return
	}
	if down {
		awsError(w, 500, "InternalServiceError", "An error occurred on the server side.")
		return
	}
	if in.SecretId == "" {
		awsError(w, 400, "InvalidParameterException", "You must provide a SecretId.")
		return
	}
	if !ok {
		awsError(w, 400, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"ARN":           fmt.Sprintf("arn:aws:secretsmanager:%s:123456789012:secret:%s-AbCdEf", s.opts.AWSRegion, in.SecretId),
		"Name":          in.SecretId,
		"SecretString":  val,
		"VersionId":     "EXAMPLE1-90ab-cdef-fedc-ba987SECRET1",
		"VersionStages": []string{"AWSCURRENT"},
		"CreatedDate":   1.523477145713e9,
	})
}

func vaultError(w http.ResponseWriter, status int, errs ...string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if errs == nil {
		errs = []string{}
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": errs})
}

// vaultLogin answers an AppRole login.
func (s *Server) vaultLogin(w http.ResponseWriter, body []byte) {
	var in struct {
		RoleID   string `json:"role_id"`
		SecretID string `json:"secret_id"`
	}
	_ = json.Unmarshal(body, &in)
	s.mu.Lock()
	s.reads = append(s.reads, "vault-login")
	s.mu.Unlock()
	if s.opts.VaultRoleID == "" || in.RoleID != s.opts.VaultRoleID || in.SecretID != s.opts.VaultSecretID {
		vaultError(w, 400, "invalid role or secret ID")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"request_id": "fake", "lease_id": "", "renewable": false, "lease_duration": 0, "data": nil,
		"auth": map[string]any{
			"client_token": s.opts.VaultToken, "accessor": "fake-accessor",
			"policies": []string{"default"}, "token_policies": []string{"default"},
			"lease_duration": 2764800, "renewable": true,
		},
	})
}

// vaultRead answers a KV v2 read: GET /v1/<mount>/data/<name>.
func (s *Server) vaultRead(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.URL.Path, "/v1/"+s.opts.VaultMount+"/data/")
	s.mu.Lock()
	s.reads = append(s.reads, "vault "+name)
	down := s.down
	val, found := s.secrets[name]
	s.mu.Unlock()
	if s.opts.VaultToken == "" || r.Header.Get("X-Vault-Token") != s.opts.VaultToken {
		vaultError(w, 403, "permission denied")
		return
	}
	if down {
		vaultError(w, 503, "Vault is sealed")
		return
	}
	if !ok || !found {
		vaultError(w, 404)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"request_id": "036ba77c-018b-31dd-047b-323bcd0cd332", "lease_id": "", "renewable": false, "lease_duration": 0,
		"data": map[string]any{
			"data":     map[string]string{"key": val},
			"metadata": map[string]any{"created_time": "2025-01-01T22:13:50.93942388Z", "custom_metadata": nil, "deletion_time": "", "destroyed": false, "version": 1},
		},
		"wrap_info": nil, "warnings": nil, "auth": nil, "mount_type": "kv",
	})
}

func azureError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}

// azureToken answers Entra ID's client-credentials token request
// (POST /{tenant}/oauth2/v2.0/token, form-encoded) as the v2.0 endpoint
// does: a client secret or a JWT-bearer client assertion, the vault scope.
func (s *Server) azureToken(w http.ResponseWriter, r *http.Request, body []byte) {
	s.mu.Lock()
	s.reads = append(s.reads, "azure-token")
	s.mu.Unlock()
	form, _ := url.ParseQuery(string(body))
	tenant := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/"), "/oauth2/v2.0/token")
	o := s.opts
	oauthErr := func(status int, code, desc string) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]any{"error": code, "error_description": desc, "error_codes": []int{7000215}})
	}
	ok := false
	switch {
	case o.AzureTenant == "" || tenant != o.AzureTenant:
		oauthErr(400, "invalid_request", "AADSTS90002: Tenant '"+tenant+"' not found.")
	case form.Get("grant_type") != "client_credentials" || form.Get("scope") != "https://vault.azure.net/.default":
		oauthErr(400, "invalid_request", "AADSTS900144: bad grant_type or scope")
	case form.Get("client_id") != o.AzureClientID:
		oauthErr(400, "unauthorized_client", "AADSTS700016: Application not found in the directory.")
	case form.Get("client_secret") != "" && form.Get("client_secret") == o.AzureClientSecret:
		ok = true
	case form.Get("client_assertion") != "" && form.Get("client_assertion") == o.AzureAssertion &&
		form.Get("client_assertion_type") == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer":
		ok = true
	default:
		oauthErr(401, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
	}
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": o.AzureToken})
}

// azureRead answers Key Vault's get-secret: GET /secrets/{name}?api-version=…
func (s *Server) azureRead(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/secrets/")
	s.mu.Lock()
	s.reads = append(s.reads, "azure "+name)
	down := s.down
	val, found := s.secrets[name]
	s.mu.Unlock()
	switch {
	case s.opts.AzureToken == "" || r.Header.Get("Authorization") != "Bearer "+s.opts.AzureToken:
		w.Header().Set("WWW-Authenticate", `Bearer authorization="https://login.microsoftonline.com/`+s.opts.AzureTenant+`", resource="https://vault.azure.net"`)
		azureError(w, 401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.")
	case r.URL.Query().Get("api-version") == "":
		azureError(w, 400, "BadParameter", "The api-version query parameter is required.")
	case down:
		azureError(w, 503, "ServiceUnavailable", "The service is unavailable.")
	case !found:
		azureError(w, 404, "SecretNotFound", "A secret with (name/id) "+name+" was not found in this key vault.")
	default:
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"value": val, "id": "https://myvault.vault.azure.net/secrets/" + name + "/4387e9f3d6e14c459867679a90fd0f79",
			"attributes": map[string]any{"enabled": true, "created": 1493938410, "updated": 1493938410, "recoveryLevel": "Recoverable+Purgeable"},
		})
	}
}
