package jwtauth

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmgate/llmgate/config"
)

// TestIntrospector: the token-info GET (bearer) and the RFC 7662 POST
// (Basic client credentials) as LiteLLM's Oauth2Handler sends them; the
// fields read; answers remembered (a good one until its exp, at most
// OAuth2CacheTTL; a refusal OAuth2RefusalTTL; a 5xx not at all).
func TestIntrospector(t *testing.T) {
	var calls atomic.Int64
	var status atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if s := status.Load(); s != 0 {
			w.WriteHeader(int(s))
			return
		}
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if strings.HasSuffix(r.URL.Path, "/introspect") {
			if u, p, _ := r.BasicAuth(); u != "id" || p != "secret" {
				w.WriteHeader(401)
				return
			}
			tok = r.PostFormValue("token")
		}
		switch tok {
		case "admin":
			_ = json.NewEncoder(w).Encode(map[string]any{"active": true, "uid": "boss", "r": "proxy_admin"})
		case "short":
			_ = json.NewEncoder(w).Encode(map[string]any{"active": true, "uid": "u1", "team": "t1", "exp": float64(1000)})
		case "team":
			_ = json.NewEncoder(w).Encode(map[string]any{"active": true, "uid": "u1", "team": "t1"})
		case "inactive":
			_ = json.NewEncoder(w).Encode(map[string]any{"active": false})
		default:
			w.WriteHeader(401)
		}
	}))
	defer srv.Close()
	now := time.Unix(900, 0)
	for _, ep := range []string{"/tokeninfo", "/oauth2/introspect"} {
		calls.Store(0)
		i := NewIntrospector(config.OAuth2Auth{TokenInfoEndpoint: srv.URL + ep, UserIDField: "uid", UserRoleField: "r", TeamIDField: "team",
			ClientID: "id", ClientSecret: "secret"}, nil)
		i.now = func() time.Time { return now }
		ctx := context.Background()
		if p, e := i.Check(ctx, "admin"); e != nil || !p.Admin {
			t.Errorf("%s admin: %+v %v", ep, p, e)
		}
		if p, e := i.Check(ctx, "team"); e != nil || p.TeamID != "t1" || p.UserID != "u1" || p.Admin {
			t.Errorf("%s team: %+v %v", ep, p, e)
		}
		if _, e := i.Check(ctx, "nope"); e == nil || e.Status != 401 ||
			!strings.HasPrefix(e.Message, "Authentication Error, Oauth 2.0 Token validation failed: Client error '401 Unauthorized' for url '"+srv.URL+ep+"'") {
			t.Errorf("%s refused: %v", ep, e)
		}
		if ep == "/oauth2/introspect" {
			if _, e := i.Check(ctx, "inactive"); e == nil || e.Message != "Authentication Error, An error occurred during token validation: Token is not active" {
				t.Errorf("inactive: %v", e)
			}
		}
		n := calls.Load()
		for _, tok := range []string{"admin", "team", "nope"} {
			i.Check(ctx, tok)
		}
		if calls.Load() != n {
			t.Errorf("%s: %d calls for answers already known", ep, calls.Load()-n)
		}
		// exp bounds a good answer; a refusal is kept 5 s; a good one 60 s.
		i.Check(ctx, "short")
		now = now.Add(OAuth2RefusalTTL + time.Second) // before "short"'s exp (1000)
		n = calls.Load()
		i.Check(ctx, "short")
		i.Check(ctx, "nope")
		if got := calls.Load() - n; got != 1 {
			t.Errorf("%s after the refusal TTL: %d calls, want 1 (the refusal again)", ep, got)
		}
		now = time.Unix(1001, 0)
		n = calls.Load()
		i.Check(ctx, "short")
		if got := calls.Load() - n; got != 1 {
			t.Errorf("%s after the answer's exp: %d calls, want 1", ep, got)
		}
		now = now.Add(OAuth2CacheTTL + time.Second)
		n = calls.Load()
		i.Check(ctx, "team")
		if got := calls.Load() - n; got != 1 {
			t.Errorf("%s after the cache TTL: %d calls, want 1", ep, got)
		}
		// A 5xx is not remembered.
		status.Store(503)
		if _, e := i.Check(ctx, "other"); e == nil || !strings.Contains(e.Message, "Server error '503 Service Unavailable'") {
			t.Errorf("%s 503: %v", ep, e)
		}
		status.Store(0)
		if p, e := i.Check(ctx, "admin-x"); e == nil {
			t.Errorf("%s unknown token served: %+v", ep, p)
		}
		now = time.Unix(900, 0)
	}
}
