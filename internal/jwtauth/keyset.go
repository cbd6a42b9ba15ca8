package jwtauth

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Bounds on what an identity provider's JWKS endpoint may send.
const (
	// MaxJWKSBytes bounds one JWKS response.
	MaxJWKSBytes = 1 << 20
	// MaxKeysPerURL bounds the keys kept from one response.
	MaxKeysPerURL = 64
	// FetchTimeout bounds one fetch.
	FetchTimeout = 10 * time.Second
	// MinRefetch spaces the fetches a token with an unknown kid asks for.
	MinRefetch = 10 * time.Second
)

// publicKey is one verification key of a JWKS.
type publicKey struct {
	kid    string
	hasKid bool
	key    any // *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey
}

// KeySet holds the public keys of JWT_PUBLIC_KEY_URL's endpoints, fetched
// by Run off the request path every ttl (LiteLLM's public_key_ttl) and when
// a token names a kid none of them has (at most once per MinRefetch). A
// failed fetch keeps the endpoint's last keys. Find reads them without a
// lock or a network call.
type KeySet struct {
	urls   []string
	ttl    time.Duration
	client *http.Client
	log    *slog.Logger
	sets   atomic.Pointer[[][]publicKey] // per URL, in JWT_PUBLIC_KEY_URL's order
	kick   chan struct{}
	last   atomic.Int64 // unix nanos of the last fetch
	// gen counts the key changes: a token verified under other keys is
	// verified again (verified.go).
	gen atomic.Uint64
}

// NewKeySet is a key set for urls, fetched again every ttl.
func NewKeySet(urls []string, ttl time.Duration, log *slog.Logger) *KeySet {
	if log == nil {
		log = slog.Default()
	}
	if ttl <= 0 {
		ttl = 600 * time.Second
	}
	k := &KeySet{urls: append([]string{}, urls...), ttl: ttl, log: log, kick: make(chan struct{}, 1),
		client: &http.Client{Timeout: FetchTimeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	empty := make([][]publicKey, len(urls))
	k.sets.Store(&empty)
	return k
}

// URLs are the endpoints, as configured.
func (k *KeySet) URLs() []string { return k.urls }

// Run fetches the keys every ttl and when a token asks, until ctx ends
// (Refresh fetches them the first time).
func (k *KeySet) Run(ctx context.Context) {
	t := time.NewTicker(k.ttl)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-k.kick:
		}
		k.Refresh(ctx)
	}
}

// Refresh fetches every endpoint once; an endpoint that fails keeps its
// last keys. It reports how many endpoints failed.
func (k *KeySet) Refresh(ctx context.Context) int {
	k.last.Store(time.Now().UnixNano())
	prev := *k.sets.Load()
	next := make([][]publicKey, len(k.urls))
	failed := 0
	for i, u := range k.urls {
		keys, err := k.fetch(ctx, u)
		if err != nil {
			failed++
			next[i] = prev[i]
			k.log.Warn("JWT public keys not fetched; the last ones stay in use", "url", u, "error", err.Error())
			continue
		}
		next[i] = keys
	}
	if !sameKeys(prev, next) {
		k.gen.Add(1)
	}
	k.sets.Store(&next)
	return failed
}

func (k *KeySet) generation() uint64 { return k.gen.Load() }

// sameKeys: the same keys under the same kids, in the same order.
func sameKeys(a, b [][]publicKey) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for j := range a[i] {
			x, y := a[i][j], b[i][j]
			eq, ok := x.key.(interface{ Equal(crypto.PublicKey) bool })
			if x.kid != y.kid || x.hasKid != y.hasKid || !ok || !eq.Equal(y.key) {
				return false
			}
		}
	}
	return true
}

// askRefresh asks Run for a fetch (a token named an unknown kid), at most
// once per MinRefetch.
func (k *KeySet) askRefresh() {
	if time.Since(time.Unix(0, k.last.Load())) < MinRefetch {
		return
	}
	select {
	case k.kick <- struct{}{}:
	default:
	}
}

func (k *KeySet) fetch(ctx context.Context, u string) ([]publicKey, error) {
	ctx, cancel := context.WithTimeout(ctx, FetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxJWKSBytes+1))
	if err != nil {
		return nil, err
	}
	if len(body) > MaxJWKSBytes {
		return nil, fmt.Errorf("response larger than %d bytes", MaxJWKSBytes)
	}
	return parseKeys(body)
}

// parseKeys reads a JWKS as LiteLLM's get_public_key accepts it: an object
// with "keys", a bare list, or one key; an entry may be a JWK or a PEM
// certificate (a string). Entries that are not usable verification keys
// (unknown kty, "use": "enc", malformed) are skipped.
func parseKeys(body []byte) ([]publicKey, error) {
	var top struct {
		Keys []json.RawMessage `json:"keys"`
	}
	var entries []json.RawMessage
	switch {
	case len(body) > 0 && body[0] == '[':
		if err := json.Unmarshal(body, &entries); err != nil {
			return nil, err
		}
	default:
		if err := json.Unmarshal(body, &top); err != nil {
			return nil, err
		}
		entries = top.Keys
		if entries == nil {
			entries = []json.RawMessage{body}
		}
	}
	out := make([]publicKey, 0, min(len(entries), MaxKeysPerURL))
	for _, raw := range entries {
		if len(out) == MaxKeysPerURL {
			break
		}
		if k, ok := parseKey(raw); ok {
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no usable verification key in the response")
	}
	return out, nil
}

func parseKey(raw json.RawMessage) (publicKey, bool) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		b, _ := pem.Decode([]byte(s))
		if b == nil {
			return publicKey{}, false
		}
		cert, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return publicKey{}, false
		}
		return publicKey{key: cert.PublicKey}, true
	}
	var j jose.JSONWebKey
	if err := j.UnmarshalJSON(raw); err != nil || j.Use == "enc" {
		return publicKey{}, false
	}
	if !j.IsPublic() {
		j = j.Public() // never keep a private part an endpoint sent by mistake
	}
	if !j.Valid() || j.Key == nil {
		return publicKey{}, false
	}
	var probe struct {
		Kid *string `json:"kid"`
	}
	_ = json.Unmarshal(raw, &probe)
	return publicKey{kid: j.KeyID, hasKid: probe.Kid != nil, key: j.Key}, true
}

// find is LiteLLM's parse_keys over the endpoints in order: an endpoint with
// one key gives it when its kid is the token's (or the token has none); one
// with several gives the key whose kid is the token's.
func (k *KeySet) find(kid string, hasKid bool) any {
	for _, keys := range *k.sets.Load() {
		switch {
		case len(keys) == 1:
			if !hasKid || keys[0].hasKid && keys[0].kid == kid {
				return keys[0].key
			}
		case len(keys) > 1 && hasKid:
			for _, c := range keys {
				if c.hasKid && c.kid == kid {
					return c.key
				}
			}
		}
	}
	return nil
}
