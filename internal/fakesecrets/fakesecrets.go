package fakesecrets

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
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

// Reads returns "aws <name>" / "vault <name>" / "vault-login" for every
// request answered so far (failed ones included).
func (s *Server) Reads() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.reads...)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/" && r.Header.Get("X-Amz-Target") != "":
		s.aws(w, r, body)
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/v1/auth/") && strings.HasSuffix(r.URL.Path, "/login"):
		s.vaultLogin(w, body)
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v1/"):
		s.vaultRead(w, r)
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
