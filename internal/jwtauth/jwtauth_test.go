package jwtauth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/golang-jwt/jwt/v5"

	"github.com/llmgate/llmgate/config"
)

// idp is a test identity provider: a JWKS endpoint on 127.0.0.1 and its
// signing keys.
type idp struct {
	srv  *httptest.Server
	keys atomic.Pointer[[]byte]
}

func newIDP(t *testing.T, keys ...*rsa.PrivateKey) (*idp, []string) {
	t.Helper()
	p := &idp{}
	kids := p.publish(t, keys...)
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(*p.keys.Load())
	}))
	t.Cleanup(p.srv.Close)
	return p, kids
}

func (p *idp) publish(t *testing.T, keys ...*rsa.PrivateKey) []string {
	t.Helper()
	var set jose.JSONWebKeySet
	var kids []string
	for i, k := range keys {
		kid := "kid-" + string(rune('a'+i))
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Algorithm: "RS256", Use: "sig"})
		kids = append(kids, kid)
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	p.keys.Store(&b)
	return kids
}

func rsaKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func sign(t *testing.T, k any, method jwt.SigningMethod, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testConfig(url string) config.JWTAuth {
	return config.JWTAuth{KeyURLs: []string{url}, AdminScope: config.DefaultJWTAdminScope,
		AdminAllowedRoutes: config.DefaultJWTAdminAllowedRoutes, TeamAllowedRoutes: config.DefaultJWTTeamAllowedRoutes,
		TeamIDField: "resource_access.team", UserIDField: "sub", EndUserIDField: "customer", PublicKeyTTL: time.Hour}
}

func TestAuthenticate(t *testing.T) {
	k1, k2, other := rsaKey(t), rsaKey(t), rsaKey(t)
	p, kids := newIDP(t, k1, k2)
	cfg := testConfig(p.srv.URL)
	ks := NewKeySet(cfg.KeyURLs, cfg.PublicKeyTTL, nil)
	if n := ks.Refresh(context.Background()); n != 0 {
		t.Fatalf("%d endpoints failed", n)
	}
	v := NewVerifier(cfg, ks)
	exp := time.Now().Add(time.Hour).Unix()
	team := jwt.MapClaims{"sub": "u1", "exp": exp, "customer": "c9", "resource_access": map[string]any{"team": "t1"}}
	admin := jwt.MapClaims{"sub": "boss", "exp": exp, "scope": "openid litellm_proxy_admin"}
	cases := []struct {
		what, token, route string
		want               Principal
		err                string
	}{
		{"a team token on a chat route", sign(t, k2, jwt.SigningMethodRS256, kids[1], team), "/v1/chat/completions",
			Principal{TeamID: "t1", UserID: "u1", EndUserID: "c9"}, ""},
		{"an admin token on a management route", sign(t, k1, jwt.SigningMethodRS256, kids[0], admin), "/key/generate",
			Principal{Admin: true, UserID: "boss"}, ""},
		{"an admin token with a list scope", sign(t, k1, jwt.SigningMethodRS256, kids[0], jwt.MapClaims{"scope": []any{"litellm_proxy_admin"}}), "/key/{token_id}/regenerate",
			Principal{Admin: true}, ""},
		{"an admin token on a route not in admin_allowed_routes", sign(t, k1, jwt.SigningMethodRS256, kids[0], admin), "/v1/chat/completions",
			Principal{}, "Authentication Error, Admin not allowed to access this route. Route=/v1/chat/completions, Allowed Routes=['/user/new'"},
		{"a team token on a management route", sign(t, k2, jwt.SigningMethodRS256, kids[1], team), "/key/generate",
			Principal{}, "Authentication Error, Team not allowed to access this route. Route=/key/generate, Allowed Routes=['/engines/{model}/chat/completions'"},
		{"expired", sign(t, k1, jwt.SigningMethodRS256, kids[0], jwt.MapClaims{"sub": "u1", "exp": time.Now().Add(-time.Minute).Unix()}), "/v1/chat/completions",
			Principal{}, "Authentication Error, Token Expired"},
		{"signed by another key under a published kid", sign(t, other, jwt.SigningMethodRS256, kids[0], team), "/v1/chat/completions",
			Principal{}, "Authentication Error, Validation fails: Signature verification failed"},
		{"an unknown kid", sign(t, other, jwt.SigningMethodRS256, "kid-z", team), "/v1/chat/completions",
			Principal{}, "Authentication Error, No matching public key found. keys=['" + p.srv.URL + "'], kid=kid-z"},
		{"no kid with two published keys", sign(t, k1, jwt.SigningMethodRS256, "", team), "/v1/chat/completions",
			Principal{}, "Authentication Error, No matching public key found."},
		{"HS256 with the public key's bytes as the secret", sign(t, []byte("secret"), jwt.SigningMethodHS256, kids[0], team), "/v1/chat/completions",
			Principal{}, "Authentication Error, Validation fails: Signature verification failed"},
		{"no team claim", sign(t, k1, jwt.SigningMethodRS256, kids[0], jwt.MapClaims{"sub": "u1"}), "/v1/chat/completions",
			Principal{}, "Authentication Error, No team id found in token. Checked team_id field 'resource_access.team'"},
		{"too long", strings.Repeat("a", MaxTokenBytes) + ".b.c", "/v1/chat/completions",
			Principal{}, "Authentication Error, Validation fails: the token is longer than"},
	}
	for _, tc := range cases {
		got, e := v.Authenticate(tc.token, tc.route)
		if tc.err == "" {
			if e != nil || got != tc.want {
				t.Errorf("%s: %+v %v, want %+v", tc.what, got, e, tc.want)
			}
			continue
		}
		if e == nil || e.Status != 401 || !strings.HasPrefix(e.Message, tc.err) {
			t.Errorf("%s: %+v %v, want 401 %q", tc.what, got, e, tc.err)
		}
	}
}

// A kid the provider publishes later is accepted after the next fetch; a
// failed or oversized fetch keeps the last keys.
func TestKeySetRefresh(t *testing.T) {
	k1, k2 := rsaKey(t), rsaKey(t)
	p, kids := newIDP(t, k1)
	cfg := testConfig(p.srv.URL)
	cfg.TeamIDField = ""
	ks := NewKeySet(cfg.KeyURLs, cfg.PublicKeyTTL, nil)
	ks.Refresh(context.Background())
	v := NewVerifier(cfg, ks)
	tok2 := sign(t, k2, jwt.SigningMethodRS256, "kid-b", jwt.MapClaims{"sub": "u"})
	if _, e := v.Authenticate(tok2, "/chat/completions"); e == nil {
		t.Fatal("a token of an unpublished key accepted")
	}
	p.publish(t, k1, k2)
	ks.Refresh(context.Background())
	if _, e := v.Authenticate(tok2, "/chat/completions"); e != nil {
		t.Fatalf("after the key was published: %v", e)
	}
	big := []byte(`{"keys":[` + strings.Repeat(" ", MaxJWKSBytes) + `]}`)
	p.keys.Store(&big)
	if n := ks.Refresh(context.Background()); n != 1 {
		t.Fatalf("an oversized JWKS: %d endpoints failed, want 1", n)
	}
	tok1 := sign(t, k1, jwt.SigningMethodRS256, kids[0], jwt.MapClaims{})
	if _, e := v.Authenticate(tok1, "/chat/completions"); e != nil {
		t.Fatalf("the last keys were dropped after a failed fetch: %v", e)
	}
	// k1 withdrawn: its token, verified (and cached) before, is refused.
	p.publish(t, k2)
	ks.Refresh(context.Background())
	if _, e := v.Authenticate(tok1, "/chat/completions"); e == nil {
		t.Fatal("a token of a withdrawn key still accepted (from the verified-token cache)")
	}
}

// A verified token is trusted from the cache until its exp only.
func TestVerifiedCacheExpiry(t *testing.T) {
	k := rsaKey(t)
	p, kids := newIDP(t, k)
	cfg := testConfig(p.srv.URL)
	cfg.TeamIDField = ""
	ks := NewKeySet(cfg.KeyURLs, cfg.PublicKeyTTL, nil)
	ks.Refresh(context.Background())
	v := NewVerifier(cfg, ks)
	now := time.Now()
	v.now = func() time.Time { return now }
	tok := sign(t, k, jwt.SigningMethodRS256, kids[0], jwt.MapClaims{"sub": "u", "exp": now.Add(time.Minute).Unix()})
	for range 2 {
		if _, e := v.Authenticate(tok, "/chat/completions"); e != nil {
			t.Fatal(e)
		}
	}
	now = now.Add(2 * time.Minute)
	if _, e := v.Authenticate(tok, "/chat/completions"); e == nil || e.Message != "Authentication Error, Token Expired" {
		t.Fatalf("after exp: %v", e)
	}
}

func TestRoutes(t *testing.T) {
	r := NewRoutes([]string{"LiteLLMRoutes.public_routes", "management_routes", "/v1/chat/completions"})
	for path, want := range map[string]bool{
		"/v1/chat/completions": true, "/chat/completions": false, "/health/readiness": true, "/key/generate": true,
		"/key/abc/regenerate": true, "/key/abc/def/regenerate": false, "/key//regenerate": false, "/team/new/x": false,
	} {
		if r.Has(path) != want {
			t.Errorf("%s: %v, want %v", path, !want, want)
		}
	}
	if NewRoutes(nil) != nil || NewRoutes([]string{}).Has("/") {
		t.Error("an empty list")
	}
}

// BenchmarkAuthenticate is a JWT request's added work in the ext_proc
// filter, for a token seen before (the verified-token cache);
// BenchmarkVerify is one RS256 (2048-bit) signature check and claim mapping
// (a token's first request).
func BenchmarkAuthenticate(b *testing.B) { benchAuth(b, false) }

func BenchmarkVerify(b *testing.B) { benchAuth(b, true) }

func benchAuth(b *testing.B, uncached bool) {
	t := &testing.T{}
	k := rsaKey(t)
	p, kids := newIDP(t, k)
	defer p.srv.Close()
	cfg := testConfig(p.srv.URL)
	ks := NewKeySet(cfg.KeyURLs, cfg.PublicKeyTTL, nil)
	ks.Refresh(context.Background())
	v := NewVerifier(cfg, ks)
	tok := sign(t, k, jwt.SigningMethodRS256, kids[0], jwt.MapClaims{"sub": "u1", "exp": time.Now().Add(time.Hour).Unix(),
		"resource_access": map[string]any{"team": "t1"}})
	b.ReportAllocs()
	for b.Loop() {
		if uncached {
			if _, _, e := v.verify(tok); e != nil {
				b.Fatal(e)
			}
			continue
		}
		if _, e := v.Authenticate(tok, "/v1/chat/completions"); e != nil {
			b.Fatal(e)
		}
	}
}
