package backendauth

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// EntraSettings are what an Entra ID token is asked with: client
// credentials (TenantID, ClientID, ClientSecret) or, without a client
// secret, a user's password (Username, Password, ClientID; TenantID else
// "organizations"), for Scope, from AuthorityHost.
type EntraSettings struct {
	AuthorityHost, TenantID, ClientID string
	ClientSecret                      Secret
	Username                          string
	Password                          Secret
	Scope                             string
}

// entraEarlyExpiry renews a token this long before it expires.
const entraEarlyExpiry = 5 * time.Minute

// Entra is an injector whose token comes from Entra ID's token endpoint,
// cached and renewed before it expires (Refresh renews it off the request
// path).
type Entra struct {
	mu     sync.Mutex
	src    oauth2.TokenSource
	client string
}

// NewEntra builds an Entra ID injector. ctx carries the token requests (an
// *http.Client under oauth2.HTTPClient is honoured) and must outlive it.
func NewEntra(ctx context.Context, s EntraSettings) *Entra {
	tenant := s.TenantID
	if tenant == "" {
		tenant = "organizations"
	}
	tokenURL := strings.TrimRight(s.AuthorityHost, "/") + "/" + tenant + "/oauth2/v2.0/token"
	var src oauth2.TokenSource
	if s.ClientSecret != "" {
		src = (&clientcredentials.Config{ClientID: s.ClientID, ClientSecret: s.ClientSecret.Reveal(), TokenURL: tokenURL,
			Scopes: []string{s.Scope}, AuthStyle: oauth2.AuthStyleInParams}).TokenSource(ctx)
	} else {
		cfg := &oauth2.Config{ClientID: s.ClientID, Scopes: []string{s.Scope},
			Endpoint: oauth2.Endpoint{TokenURL: tokenURL, AuthStyle: oauth2.AuthStyleInParams}}
		src = passwordSource{ctx, cfg, s.Username, s.Password}
	}
	return &Entra{src: oauth2.ReuseTokenSourceWithExpiry(nil, src, entraEarlyExpiry), client: s.ClientID}
}

// passwordSource asks for a token with a user's password (resource owner
// password credentials).
type passwordSource struct {
	ctx      context.Context
	cfg      *oauth2.Config
	user     string
	password Secret
}

func (p passwordSource) Token() (*oauth2.Token, error) {
	return p.cfg.PasswordCredentialsToken(p.ctx, p.user, p.password.Reveal())
}

// Headers implements Injector: the cached token, or a fresh one.
func (e *Entra) Headers(Request) (map[string]string, error) {
	tok, err := e.token()
	if err != nil {
		return nil, err
	}
	return map[string]string{"authorization": "Bearer " + tok}, nil
}

// Refresh asks for the token if the cached one is near its expiry (a
// background tick calls it, so that requests find a valid one).
func (e *Entra) Refresh() error {
	_, err := e.token()
	return err
}

func (e *Entra) token() (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	tok, err := e.src.Token()
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil {
			return "", errors.New("entra id: token request for client " + e.client + " failed: " + re.Response.Status + " " + re.ErrorCode)
		}
		return "", errors.New("entra id: token request for client " + e.client + " failed")
	}
	if tok.AccessToken == "" {
		return "", errors.New("entra id: the token endpoint returned no access token for client " + e.client)
	}
	return tok.AccessToken, nil
}
