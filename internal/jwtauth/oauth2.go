package jwtauth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/llmgate/llmgate/config"
)

// Introspector is LiteLLM's Oauth2Handler.check_oauth2_token
// (general_settings.enable_oauth2_auth, D118): it asks the token-info
// endpoint (GET with the token as bearer) or, with client credentials and
// "introspect" in the URL, the RFC 7662 introspection endpoint (POST
// token=…, HTTP Basic client credentials) whether a token is good, and
// reads the caller's user, role and team from the answer. LiteLLM asks on
// every request; an Introspector remembers each answer by the token's
// sha256 — a good one until the answer's exp, at most OAuth2CacheTTL, a
// refusal for OAuth2RefusalTTL — so a token costs one round trip per TTL.
// It is safe for concurrent use.
type Introspector struct {
	cfg config.OAuth2Auth
	hc  *http.Client
	now func() time.Time

	mu    sync.Mutex
	cache map[[32]byte]introspected
}

type introspected struct {
	p     Principal
	err   *Error
	until time.Time
}

// Bounds of the introspection cache and calls.
const (
	// OAuth2CacheTTL bounds how long a good answer is reused: a token the
	// identity provider revokes is refused at most this long after.
	OAuth2CacheTTL = 60 * time.Second
	// OAuth2RefusalTTL is how long a refusal (4xx, inactive) is reused.
	OAuth2RefusalTTL = 5 * time.Second
	oauth2CacheMax   = 4096
	oauth2Timeout    = 10 * time.Second
	oauth2MaxAnswer  = 1 << 20
	oauth2MaxID      = 256
)

// NewIntrospector returns cfg's introspector; hc nil is a client with a
// 10 s timeout that follows no redirect.
func NewIntrospector(cfg config.OAuth2Auth, hc *http.Client) *Introspector {
	if hc == nil {
		hc = &http.Client{Timeout: oauth2Timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return &Introspector{cfg: cfg, hc: hc, now: time.Now, cache: map[[32]byte]introspected{}}
}

// Same reports whether i was made from cfg (a reload that keeps the
// settings keeps the introspector and its cache).
func (i *Introspector) Same(cfg config.OAuth2Auth) bool { return i != nil && i.cfg == cfg }

// Check returns the token's caller: Admin when its role is proxy_admin,
// else its team and user (LiteLLM builds UserAPIKeyAuth from them and
// checks nothing more). A refusal is LiteLLM's 401 "Authentication Error,
// Oauth 2.0 Token validation failed: …" or "… An error occurred during
// token validation: …".
func (i *Introspector) Check(ctx context.Context, token string) (Principal, *Error) {
	if len(token) > MaxTokenBytes {
		return Principal{}, authError("An error occurred during token validation: token too long")
	}
	sum := sha256.Sum256([]byte(token))
	now := i.now()
	i.mu.Lock()
	c, ok := i.cache[sum]
	i.mu.Unlock()
	if ok && now.Before(c.until) {
		return c.p, c.err
	}
	p, exp, e, keep := i.ask(ctx, token)
	if keep {
		until := now.Add(OAuth2CacheTTL)
		if e != nil {
			until = now.Add(OAuth2RefusalTTL)
		} else if !exp.IsZero() && exp.Before(until) {
			until = exp
		}
		i.mu.Lock()
		if len(i.cache) >= oauth2CacheMax {
			clear(i.cache)
		}
		i.cache[sum] = introspected{p: p, err: e, until: until}
		i.mu.Unlock()
	}
	return p, e
}

// ask calls the endpoint once. keep: the answer may be cached (not a
// network error or a 5xx).
func (i *Introspector) ask(ctx context.Context, token string) (p Principal, exp time.Time, e *Error, keep bool) {
	ctx, cancel := context.WithTimeout(ctx, oauth2Timeout)
	defer cancel()
	o := i.cfg
	var req *http.Request
	var err error
	introspect := o.Introspect()
	if introspect {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, o.TokenInfoEndpoint, strings.NewReader(url.Values{"token": {token}}.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(o.ClientID+":"+o.ClientSecret)))
		}
	} else {
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, o.TokenInfoEndpoint, nil)
		if err == nil {
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Content-Type", "application/json")
		}
	}
	if err != nil {
		return p, exp, authError("An error occurred during token validation: %s", err.Error()), false
	}
	resp, err := i.hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is said once, without the token
		}
		return p, exp, authError("An error occurred during token validation: %s", err.Error()), false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, oauth2MaxAnswer+1))
	if resp.StatusCode >= 400 {
		kind := "Client error"
		if resp.StatusCode >= 500 {
			kind = "Server error"
		}
		msg := fmt.Sprintf("Oauth 2.0 Token validation failed: %s '%s' for url '%s'\nFor more information check: https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/%d",
			kind, resp.Status, o.TokenInfoEndpoint, resp.StatusCode)
		return p, exp, authError("%s", msg), resp.StatusCode < 500
	}
	if err != nil || len(body) > oauth2MaxAnswer {
		return p, exp, authError("An error occurred during token validation: the answer could not be read"), false
	}
	var data map[string]any
	if err := json.Unmarshal(body, &data); err != nil {
		return p, exp, authError("An error occurred during token validation: the answer is not a JSON object"), false
	}
	if introspect {
		if active, ok := data["active"].(bool); ok && !active {
			return p, exp, authError("An error occurred during token validation: Token is not active"), true
		}
	}
	field := func(name string) string {
		switch v := data[name].(type) {
		case string:
			if len(v) <= oauth2MaxID {
				return v
			}
		case float64:
			return fmt.Sprint(v)
		}
		return ""
	}
	if f, ok := data["exp"].(float64); ok && f > 0 {
		exp = time.Unix(int64(f), 0)
	}
	if field(o.UserRoleField) == "proxy_admin" {
		return Principal{Admin: true}, exp, nil, true
	}
	return Principal{TeamID: field(o.TeamIDField), UserID: field(o.UserIDField)}, exp, nil, true
}
