package backendauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/jwt"
)

// Vertex AI credentials: a Google service account (vertex_credentials in the
// config) is exchanged for an OAuth2 access token, sent as
// "Authorization: Bearer <token>". Tokens are cached and refreshed a few minutes
// before they expire.
//
// Unlike the key-based injectors this one performs network I/O: on a cache
// miss Headers calls the token endpoint named by the service account's
// token_uri. LoadVertexCredentials reads a file or GOOGLE_APPLICATION_CREDENTIALS.
// It uses golang.org/x/oauth2/jwt (the service-account flow of
// golang.org/x/oauth2/google, without that package's metadata-server dependency).

// VertexScope is the OAuth2 scope Vertex AI needs.
const VertexScope = "https://www.googleapis.com/auth/cloud-platform"

// vertexEarlyExpiry refreshes a token this long before it expires.
const vertexEarlyExpiry = 5 * time.Minute

// defaultGoogleTokenURI is used when a service account has no token_uri.
const defaultGoogleTokenURI = "https://oauth2.googleapis.com/token"

// LoadVertexCredentials returns service-account JSON from vertex_credentials,
// which holds either the JSON itself or a path to a file with it. When it is
// empty the file named by GOOGLE_APPLICATION_CREDENTIALS is read. Errors name
// the file, never its content.
func LoadVertexCredentials(vertexCredentials string) (Secret, error) {
	v := strings.TrimSpace(vertexCredentials)
	if strings.HasPrefix(v, "{") {
		return Secret(v), nil
	}
	path := v
	if path == "" {
		path = os.Getenv("GOOGLE_APPLICATION_CREDENTIALS")
		if path == "" {
			return "", fmt.Errorf("vertex credentials: vertex_credentials is empty and GOOGLE_APPLICATION_CREDENTIALS is not set: %w", ErrNoCredentials)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("vertex credentials: read %s: %w", path, err)
	}
	return Secret(b), nil
}

type serviceAccount struct {
	Type         string `json:"type"`
	ClientEmail  string `json:"client_email"`
	PrivateKey   string `json:"private_key"`
	PrivateKeyID string `json:"private_key_id"`
	TokenURI     string `json:"token_uri"`
	ProjectID    string `json:"project_id"`
}

// Vertex is the Vertex AI injector.
type Vertex struct {
	email     string
	projectID string
	mu        sync.Mutex
	src       oauth2.TokenSource
}

// NewVertex builds a Vertex injector from service-account JSON. ctx is used for
// token requests (an *http.Client under oauth2.HTTPClient is honoured) and must
// outlive the injector.
func NewVertex(ctx context.Context, serviceAccountJSON Secret) (*Vertex, error) {
	var sa serviceAccount
	if err := json.Unmarshal([]byte(serviceAccountJSON.Reveal()), &sa); err != nil {
		// The JSON error may quote the input, so it is not wrapped.
		return nil, errors.New("vertex credentials: not valid service-account JSON")
	}
	if sa.Type != "" && sa.Type != "service_account" {
		return nil, fmt.Errorf("vertex credentials: type %q is not supported, only service_account", sa.Type)
	}
	if sa.ClientEmail == "" || sa.PrivateKey == "" {
		return nil, errors.New("vertex credentials: client_email and private_key are required")
	}
	tokenURI := sa.TokenURI
	if tokenURI == "" {
		tokenURI = defaultGoogleTokenURI
	}
	cfg := &jwt.Config{
		Email:        sa.ClientEmail,
		PrivateKey:   []byte(sa.PrivateKey),
		PrivateKeyID: sa.PrivateKeyID,
		Scopes:       []string{VertexScope},
		TokenURL:     tokenURI,
	}
	return &Vertex{
		email:     sa.ClientEmail,
		projectID: sa.ProjectID,
		src:       oauth2.ReuseTokenSourceWithExpiry(nil, cfg.TokenSource(ctx), vertexEarlyExpiry),
	}, nil
}

// ProjectID is the service account's project, the default vertex_project.
func (v *Vertex) ProjectID() string { return v.projectID }

// Headers implements Injector: a cached token, or a fresh one from the token endpoint.
func (v *Vertex) Headers(Request) (map[string]string, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	tok, err := v.src.Token()
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil {
			return nil, fmt.Errorf("vertex credentials: token request for %s failed: HTTP %d %s", v.email, re.Response.StatusCode, re.ErrorCode)
		}
		return nil, fmt.Errorf("vertex credentials: token request for %s failed: %w", v.email, err)
	}
	if tok.AccessToken == "" {
		return nil, fmt.Errorf("vertex credentials: token endpoint returned no access token for %s", v.email)
	}
	return map[string]string{"authorization": "Bearer " + tok.AccessToken}, nil
}
