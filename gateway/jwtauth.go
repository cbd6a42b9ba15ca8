package gateway

import (
	"context"
	"strings"
	"sync"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/jwtauth"
)

// jwtKeys is the gateway's JWKS cache for enable_jwt_auth (D97): one
// jwtauth.KeySet per JWT_PUBLIC_KEY_URL and public_key_ttl, fetched once
// when a config first names them (before it serves) and then every ttl by
// its own goroutine, off the request path; a reload that keeps them keeps
// the set.
type jwtKeys struct {
	mu     sync.Mutex
	id     string
	set    *jwtauth.KeySet
	cancel context.CancelFunc
}

// verifier is cfg's JWT verifier (nil without enable_jwt_auth).
func (g *Gateway) jwtVerifier(cfg *config.Config) *jwtauth.Verifier {
	j := cfg.General.JWTAuth
	k := &g.jwt
	k.mu.Lock()
	defer k.mu.Unlock()
	if j == nil {
		if k.cancel != nil {
			k.cancel()
		}
		k.id, k.set, k.cancel = "", nil, nil
		return nil
	}
	id := strings.Join(j.KeyURLs, ",") + "|" + j.PublicKeyTTL.String()
	if k.id != id {
		if k.cancel != nil {
			k.cancel()
		}
		ctx, cancel := context.WithCancel(context.Background())
		set := jwtauth.NewKeySet(j.KeyURLs, j.PublicKeyTTL, g.log)
		if n := set.Refresh(ctx); n == 0 {
			g.log.Info("JWT public keys fetched", "urls", len(j.KeyURLs))
		}
		go set.Run(ctx)
		k.id, k.set, k.cancel = id, set, cancel
	}
	return jwtauth.NewVerifier(*j, k.set)
}

// oauth2Introspector is cfg's enable_oauth2_auth introspector (nil: off);
// a reload that keeps the settings keeps it and the answers it remembers.
func (g *Gateway) oauth2Introspector(cfg *config.Config) *jwtauth.Introspector {
	o := cfg.General.OAuth2Auth
	g.jwt.mu.Lock()
	defer g.jwt.mu.Unlock()
	if o == nil {
		g.oauth2 = nil
		return nil
	}
	if !g.oauth2.Same(*o) {
		g.oauth2 = jwtauth.NewIntrospector(*o, nil)
	}
	return g.oauth2
}
