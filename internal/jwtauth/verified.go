package jwtauth

import (
	"crypto/sha256"
	"sync"
	"time"
)

// A signature check costs ≈ 50 µs (RS256, 2048 bits; BenchmarkAuthenticate);
// a client sends the same token for many requests. verifiedCache keeps the
// principal of a token verified under the current keys.
const (
	// CacheFor bounds how long a verified token is trusted without a new
	// signature check (its exp bounds it too).
	CacheFor = 5 * time.Minute
	// maxCached bounds the cache; when full it starts again empty.
	maxCached = 4096
)

type verifiedEntry struct {
	p     Principal
	until time.Time
	gen   uint64
}

// verifiedCache maps a token's sha256 to what its verification gave.
type verifiedCache struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]verifiedEntry
}

func (c *verifiedCache) get(token string, gen uint64, now time.Time) (Principal, bool) {
	sum := sha256.Sum256([]byte(token))
	c.mu.Lock()
	e, ok := c.m[sum]
	c.mu.Unlock()
	if !ok || e.gen != gen || !now.Before(e.until) {
		return Principal{}, false
	}
	return e.p, true
}

// put remembers a verified token until its exp (at most CacheFor from now).
func (c *verifiedCache) put(token string, p Principal, exp time.Time, gen uint64, now time.Time) {
	until := now.Add(CacheFor)
	if !exp.IsZero() && exp.Before(until) {
		until = exp
	}
	sum := sha256.Sum256([]byte(token))
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCached {
		c.m = make(map[[sha256.Size]byte]verifiedEntry, 64)
	}
	c.m[sum] = verifiedEntry{p: p, until: until, gen: gen}
}
