package store

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// Leases of rpm allowance (docs/architecture.md D67): a gateway takes part
// of a deployment's rpm for one UTC minute from the same counter Begin
// counts in, capped at the limit, and hands it to its in-Envoy module,
// which spends it without a round trip. Whatever is leased counts as used
// for every other instance, so the requests of all instances (leased or
// counted by Begin) never exceed the limit.

// Leaser is a Store that leases rpm allowance.
type Leaser interface {
	// Lease adds up to want requests to the rpm counter of deployment id
	// for the UTC minute of at, never taking it above limit, and returns
	// how many it added and the counter after.
	Lease(ctx context.Context, id string, at int64, want, limit int64) (granted, count int64, err error)
}

// Lease implements Leaser. at is a unix time in seconds within the minute.
func (m *Memory) Lease(_ context.Context, id string, at int64, want, limit int64) (int64, int64, error) {
	now := m.clock()
	key := m.k.rpm(id, unixSec(at))
	m.mu.Lock()
	defer m.mu.Unlock()
	e, _ := m.getInt(key, now)
	g := max(min(want, limit-e.n), 0)
	if g == 0 {
		return 0, e.n, nil
	}
	return g, m.incr(key, g, minuteKeyTTL, false, now), nil
}

// KEYS: rpm. ARGV: want, limit, ttl ms.
var leaseScript = redis.NewScript(`
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local g = math.min(tonumber(ARGV[1]), tonumber(ARGV[2]) - cur)
if g <= 0 then return {0, cur} end
cur = redis.call('INCRBY', KEYS[1], g)
if cur == g then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return {g, cur}
`)

// Lease implements Leaser: one atomic script; the local mirror while Redis
// is down (each instance then leases from its own counts, as Begin does).
func (s *Redis) Lease(ctx context.Context, id string, at int64, want, limit int64) (int64, int64, error) {
	if !s.try() {
		return s.local.Lease(ctx, id, at, want, limit)
	}
	c, cancel := s.ctx(ctx)
	defer cancel()
	v, err := leaseScript.Run(c, s.c, []string{s.k.rpm(id, unixSec(at))}, want, limit, ms(minuteKeyTTL)).Int64Slice()
	if s.done(err) != nil || len(v) != 2 {
		return s.local.Lease(ctx, id, at, want, limit)
	}
	if v[0] > 0 {
		// The mirror counts it too, so that a Redis outage starts from here.
		_, _, _ = s.local.Lease(ctx, id, at, v[0], limit)
	}
	return v[0], v[1], nil
}

var (
	_ Leaser = (*Memory)(nil)
	_ Leaser = (*Redis)(nil)
)

func unixSec(s int64) time.Time { return time.Unix(s, 0) }
