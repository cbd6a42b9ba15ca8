package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisOptions configure the Redis store.
type RedisOptions struct {
	Addr     string // host:port
	Password string // secret; never logged
	URL      string // redis:// or rediss:// URL; wins over Addr/Password
	DB       int
	// Timeout bounds every operation (dial, read, write); default 500ms: long
	// enough that a busy host does not fall back to local counting (which
	// loosens hard limits), short enough that a dead Redis never stalls a request long.
	Timeout time.Duration
	// RetryInterval is how long the store serves locally after a Redis
	// failure before trying Redis again; default 1s.
	RetryInterval time.Duration
	// InFlightTTL is the safety TTL of in-flight counts; default 15m.
	InFlightTTL time.Duration
	// HolderTTL is how long an instance's in-flight slots outlive its last
	// sign of life in Redis (a crashed instance's slots come back after
	// it); default 10s, renewed every third of it.
	HolderTTL time.Duration
	Prefix    string // key prefix; default "llmgate:"
	Clock     Clock
	Logger    *slog.Logger
}

// RedisSettings are router_settings.redis_host / redis_port / redis_password /
// redis_url as written in the config (empty when unset).
type RedisSettings struct {
	Host, Port, Password, URL string
}

// RedisOptionsFromSettings reads the router's Redis settings, falling back to
// the REDIS_URL, REDIS_HOST, REDIS_PORT and REDIS_PASSWORD environment
// variables as LiteLLM does. ok is false when no Redis is configured.
func RedisOptionsFromSettings(rs RedisSettings, getenv func(string) string) (opt RedisOptions, ok bool) {
	pick := func(v, env string) string {
		if v != "" {
			return v
		}
		if getenv != nil {
			return getenv(env)
		}
		return ""
	}
	url := pick(rs.URL, "REDIS_URL")
	host := pick(rs.Host, "REDIS_HOST")
	port := pick(rs.Port, "REDIS_PORT")
	pass := pick(rs.Password, "REDIS_PASSWORD")
	if url == "" && host == "" {
		return RedisOptions{}, false
	}
	if port == "" {
		port = "6379"
	}
	opt = RedisOptions{URL: url, Password: pass}
	if host != "" {
		opt.Addr = net.JoinHostPort(host, port)
	}
	return opt, true
}

// Open returns the Redis store when the settings (or environment) name a
// Redis, else an in-memory store.
func Open(rs RedisSettings, getenv func(string) string, clock Clock, log *slog.Logger) (Store, error) {
	opt, ok := RedisOptionsFromSettings(rs, getenv)
	if !ok {
		return NewMemory(clock), nil
	}
	opt.Clock, opt.Logger = clock, log
	return NewRedis(opt)
}

// Redis is the Store shared by several gateway instances. Every write is
// also applied to a local Memory mirror; while Redis is unreachable every
// operation is served from that mirror, and sharing resumes when Redis is back.
type Redis struct {
	c     *redis.Client
	opt   RedisOptions
	k     keys
	local *Memory
	log   *slog.Logger

	down      atomic.Bool
	retryAtNs atomic.Int64 // unix ns after which Redis is tried again

	tpm tpmQueue // tokens-only Records not yet written (redis_tpm.go)

	// holder names this instance's in-flight slots (D146); holding starts
	// holderLoop at the first Begin; closed stops it.
	holder    string
	holding   sync.Once
	closed    chan struct{}
	closeOnce sync.Once
}

// NewRedis connects lazily (no I/O here) to the Redis in opt.
func NewRedis(opt RedisOptions) (*Redis, error) {
	if opt.Timeout <= 0 {
		opt.Timeout = 500 * time.Millisecond
	}
	if opt.RetryInterval <= 0 {
		opt.RetryInterval = time.Second
	}
	if opt.InFlightTTL <= 0 {
		opt.InFlightTTL = defaultInFlightTTL
	}
	if opt.HolderTTL <= 0 {
		opt.HolderTTL = defaultHolderTTL
	}
	if opt.Prefix == "" {
		opt.Prefix = defaultPrefix
	}
	if opt.Clock == nil {
		opt.Clock = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	var ro *redis.Options
	if opt.URL != "" {
		var err error
		ro, err = redis.ParseURL(opt.URL)
		if err != nil {
			// The URL may hold a password: do not echo it.
			return nil, errors.New("redis: invalid redis_url")
		}
	} else {
		if opt.Addr == "" {
			return nil, errors.New("redis: no address")
		}
		ro = &redis.Options{Addr: opt.Addr, Password: opt.Password, DB: opt.DB}
	}
	ro.DialTimeout = opt.Timeout
	ro.ReadTimeout = opt.Timeout
	ro.WriteTimeout = opt.Timeout
	ro.PoolTimeout = opt.Timeout
	ro.MaxRetries = -1
	ro.ContextTimeoutEnabled = true
	local := NewMemory(opt.Clock)
	local.inflightTTL = opt.InFlightTTL
	local.k = keys{prefix: opt.Prefix}
	s := &Redis{
		c:      redis.NewClient(ro),
		opt:    opt,
		k:      keys{prefix: opt.Prefix},
		local:  local,
		log:    opt.Logger,
		holder: newHolderID(),
		closed: make(chan struct{}),
	}
	s.tpm.cond.L = &s.tpm.mu
	return s, nil
}

// Local returns the local mirror (tests and diagnostics).
func (s *Redis) Local() *Memory { return s.local }

// Healthy reports whether the last Redis operation succeeded.
func (s *Redis) Healthy() bool { return !s.down.Load() }

// try reports whether to use Redis now.
func (s *Redis) try() bool {
	if !s.down.Load() {
		return true
	}
	return time.Now().UnixNano() >= s.retryAtNs.Load()
}

// done records the result of a Redis call. It returns err unchanged.
func (s *Redis) done(err error) error {
	if err == nil || errors.Is(err, redis.Nil) {
		if s.down.CompareAndSwap(true, false) {
			s.log.Info("redis reachable again; shared router state resumed", "addr", s.addrForLog())
		}
		return nil
	}
	s.retryAtNs.Store(time.Now().Add(s.opt.RetryInterval).UnixNano())
	if s.down.CompareAndSwap(false, true) {
		s.log.Warn("redis unreachable; using local state until it is back", "addr", s.addrForLog(), "err", err.Error())
	}
	return err
}

func (s *Redis) addrForLog() string {
	if s.opt.Addr != "" {
		return s.opt.Addr
	}
	return s.c.Options().Addr
}

func (s *Redis) ctx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.opt.Timeout)
}

func ms(d time.Duration) int64 {
	if d <= 0 {
		return 1
	}
	return d.Milliseconds()
}

// Read implements Store: one pipelined round trip.
func (s *Redis) Read(ctx context.Context, ids []string, opt ReadOptions) (map[string]DeploymentState, error) {
	if len(ids) == 0 || !s.try() {
		return s.local.Read(ctx, ids, opt)
	}
	s.waitTPM() // this instance's own tokens are in Redis
	now := s.opt.Clock()
	ks := make([]string, 0, 4*len(ids))
	for _, id := range ids {
		ks = append(ks, s.k.rpm(id, now), s.k.tpm(id, now), s.k.inflight(id), s.k.cooldown(id))
	}
	if opt.IO || opt.DayStart != nil {
		for _, id := range ids {
			if opt.IO {
				ks = append(ks, s.k.itpm(id, now), s.k.otpm(id, now))
			}
			if opt.DayStart != nil {
				if off, ok := opt.DayStart(id); ok {
					ks = append(ks, s.k.rpd(id, now, off), s.k.tpd(id, now, off))
				}
			}
		}
	}
	c, cancel := s.ctx(ctx)
	defer cancel()
	pipe := s.c.Pipeline()
	mget := pipe.MGet(c, ks...)
	var lats []*redis.StringSliceCmd
	if opt.Latencies {
		for _, id := range ids {
			lats = append(lats, pipe.LRange(c, s.k.latency(id), 0, -1))
		}
	}
	_, err := pipe.Exec(c)
	if s.done(err) != nil {
		return s.local.Read(ctx, ids, opt)
	}
	vals := mget.Val()
	out := make(map[string]DeploymentState, len(ids))
	extra := 4 * len(ids) // the counters of D180 follow, in the order they were asked for
	for i, id := range ids {
		st := DeploymentState{
			RPM:      toInt(vals[4*i]),
			TPM:      toInt(vals[4*i+1]),
			InFlight: max(toInt(vals[4*i+2]), 0),
		}
		if opt.IO {
			st.ITPM, st.OTPM = toInt(vals[extra]), toInt(vals[extra+1])
			extra += 2
		}
		if opt.DayStart != nil {
			if _, ok := opt.DayStart(id); ok {
				st.RPD, st.TPD = toInt(vals[extra]), toInt(vals[extra+1])
				extra += 2
			}
		}
		if cd := toInt(vals[4*i+3]); cd > 0 {
			st.CooldownUntil = time.UnixMilli(cd)
		}
		if opt.Latencies {
			for _, v := range lats[i].Val() {
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					st.Latencies = append(st.Latencies, f)
				}
			}
		}
		out[id] = st
	}
	return out, nil
}

func toInt(v any) int64 {
	s, ok := v.(string)
	if !ok {
		return 0
	}
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// Holders (D146): an in-flight count in Redis is also kept per instance
// (the hash inflight-by:<id>, one field per instance's holder id), and each
// instance keeps its liveness key live:<holder> alive while it runs
// (holderLoop). A Begin first takes back the slots of every holder whose
// liveness key has expired (a crashed or cut-off instance), so a crashed
// instance's slots come back within HolderTTL, not when the in-flight
// count's own safety TTL ends (which every Begin renews).

// KEYS: rpm, inflight, inflight-by, own liveness key.
// ARGV: rpm limit, parallel limit, rpm ttl ms, inflight ttl ms, holder id,
// liveness ttl ms, liveness key prefix.
var beginScript = redis.NewScript(`
local rpm = tonumber(redis.call('GET', KEYS[1]) or '0')
local inf = tonumber(redis.call('GET', KEYS[2]) or '0')
if inf < 0 then inf = 0 end
redis.call('SET', KEYS[4], '1', 'PX', ARGV[6])
local taken = 0
if inf > 0 then
  local hs = redis.call('HGETALL', KEYS[3])
  for i = 1, #hs, 2 do
    if hs[i] ~= ARGV[5] and redis.call('EXISTS', ARGV[7] .. hs[i]) == 0 then
      taken = taken + (tonumber(hs[i + 1]) or 0)
      redis.call('HDEL', KEYS[3], hs[i])
    end
  end
  inf = math.max(inf - taken, 0)
end
local rl, pl = tonumber(ARGV[1]), tonumber(ARGV[2])
local refused = 0
if rl > 0 and rpm + 1 > rl then refused = 1
elseif pl > 0 and inf + 1 > pl then refused = 2 end
if refused > 0 then
  if taken > 0 then
    if inf > 0 then redis.call('SET', KEYS[2], inf, 'PX', ARGV[4]) else redis.call('DEL', KEYS[2]) end
  end
  return {0, refused, rpm, inf}
end
rpm = redis.call('INCR', KEYS[1])
if rpm == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
redis.call('SET', KEYS[2], inf + 1, 'PX', ARGV[4])
redis.call('HINCRBY', KEYS[3], ARGV[5], 1)
redis.call('PEXPIRE', KEYS[3], ARGV[4])
return {1, 0, rpm, inf + 1}
`)

// Begin implements Store: one atomic script.
func (s *Redis) Begin(ctx context.Context, id string, lim Limits) (BeginResult, error) {
	now := s.opt.Clock()
	if !s.try() {
		return s.local.Begin(ctx, id, lim)
	}
	s.holding.Do(func() { go s.holderLoop() })
	c, cancel := s.ctx(ctx)
	defer cancel()
	v, err := beginScript.Run(c, s.c, []string{s.k.rpm(id, now), s.k.inflight(id), s.k.inflightBy(id), s.k.live(s.holder)},
		lim.RPM, lim.MaxParallel, ms(minuteKeyTTL), ms(s.opt.InFlightTTL), s.holder, ms(s.opt.HolderTTL), s.k.live("")).Int64Slice()
	if s.done(err) != nil || len(v) != 4 {
		return s.local.Begin(ctx, id, lim)
	}
	res := BeginResult{Allowed: v[0] == 1, RPM: v[2], InFlight: v[3]}
	switch v[1] {
	case 1:
		res.Reason = "rpm"
	case 2:
		res.Reason = "max_parallel_requests"
	}
	if res.Allowed {
		s.local.mu.Lock()
		s.local.begin(id, Limits{}, now)
		s.local.mu.Unlock()
	}
	return res, nil
}

// KEYS: inflight, inflight-by. ARGV: holder id. A holder whose slots were
// taken back (its liveness key expired) ends nothing: the count no longer
// holds them.
var endScript = redis.NewScript(`
local mine = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if mine <= 0 then return -1 end
if mine == 1 then redis.call('HDEL', KEYS[2], ARGV[1]) else redis.call('HINCRBY', KEYS[2], ARGV[1], -1) end
local inf = tonumber(redis.call('GET', KEYS[1]) or '0')
if inf <= 1 then redis.call('DEL', KEYS[1]) return 0 end
redis.call('DECR', KEYS[1])
return inf - 1
`)

// End implements Store.
func (s *Redis) End(ctx context.Context, id string) error {
	_ = s.local.End(ctx, id)
	if !s.try() {
		return nil
	}
	c, cancel := s.ctx(ctx)
	defer cancel()
	_ = s.done(endScript.Run(c, s.c, []string{s.k.inflight(id), s.k.inflightBy(id)}, s.holder).Err())
	return nil
}

// holderLoop keeps this instance's liveness key alive (every third of
// HolderTTL) until Close.
func (s *Redis) holderLoop() {
	t := time.NewTicker(s.opt.HolderTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-s.closed:
			return
		case <-t.C:
		}
		if !s.try() {
			continue
		}
		c, cancel := s.ctx(context.Background())
		_ = s.done(s.c.Set(c, s.k.live(s.holder), "1", s.opt.HolderTTL).Err())
		cancel()
	}
}

// KEYS: tpm, latency, failure, cooldown.
// ARGV: tokens, minute ttl ms, has latency, latency, latency max, latency ttl ms,
// has failure, cooldown after, cooldown now, until ms, now ms, cooldown
// channel, deployment id (a cooldown started or extended is announced on
// the channel: redis_watch.go).
var recordScript = redis.NewScript(`
local tpm
if tonumber(ARGV[1]) ~= 0 then
  tpm = redis.call('INCRBY', KEYS[1], ARGV[1])
  if tpm == tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
else
  tpm = tonumber(redis.call('GET', KEYS[1]) or '0')
end
if ARGV[3] == '1' then
  redis.call('LPUSH', KEYS[2], ARGV[4])
  redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[5]) - 1)
  redis.call('PEXPIRE', KEYS[2], ARGV[6])
end
local fails = 0
local cool = ARGV[9] == '1'
if ARGV[7] == '1' then
  fails = redis.call('INCR', KEYS[3])
  if fails == 1 then redis.call('PEXPIRE', KEYS[3], ARGV[2]) end
  local after = tonumber(ARGV[8])
  if after >= 0 and fails > after then cool = true end
end
local untilms, nowms = tonumber(ARGV[10]), tonumber(ARGV[11])
local cur = tonumber(redis.call('GET', KEYS[4]) or '0')
local cooled = 0
if cool and untilms > nowms then
  cooled = 1
  if untilms > cur then
    redis.call('SET', KEYS[4], untilms, 'PX', untilms - nowms)
    cur = untilms
    redis.call('PUBLISH', ARGV[12], ARGV[13] .. ' ' .. cur)
  end
end
return {tpm, fails, cur, cooled}
`)

// Record implements Store: one atomic script.
func (s *Redis) Record(ctx context.Context, r Record) (RecordResult, error) {
	now := s.opt.Clock()
	s.local.mu.Lock()
	lres := s.local.record(r, now)
	s.local.mu.Unlock()
	if !s.try() {
		return lres, nil
	}
	// The counters of D180 are written in the tpm batches whatever else
	// the Record does (they take no part in its cooldown).
	s.k.counts(r, now, func(key string, by int64, ttl time.Duration) { s.queueTPM(r.DeploymentID, key, by, ttl) })
	if countsOnly(r) {
		// A success's usage: written in a batch, off the caller's path.
		if r.Tokens > 0 {
			s.queueTPM(r.DeploymentID, s.k.tpm(r.DeploymentID, now), r.Tokens, minuteKeyTTL)
		}
		return lres, nil
	}
	maxLen, ttl := latencyDefaults(r)
	id := r.DeploymentID
	fk := s.k.failure(id, r.FailureClass, now)
	c, cancel := s.ctx(ctx)
	defer cancel()
	v, err := recordScript.Run(c, s.c,
		[]string{s.k.tpm(id, now), s.k.latency(id), fk, s.k.cooldown(id)},
		r.Tokens, ms(minuteKeyTTL), b2s(r.HasLatency), strconv.FormatFloat(r.Latency, 'g', -1, 64), maxLen, ms(ttl),
		b2s(r.FailureClass != ""), r.CooldownAfter, b2s(r.CooldownNow), untilMs(r.CooldownUntil), now.UnixMilli(),
		s.cooldownChannel(), id,
	).Int64Slice()
	if s.done(err) != nil || len(v) != 4 {
		return lres, nil
	}
	res := RecordResult{TPM: v[0], Failures: v[1], CooledDown: v[3] == 1}
	if v[2] > 0 && v[2] > now.UnixMilli() {
		res.CooldownUntil = time.UnixMilli(v[2])
		s.local.mu.Lock()
		s.local.cooldown(id, res.CooldownUntil, now)
		s.local.mu.Unlock()
	}
	return res, nil
}

func untilMs(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func b2s(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

var cooldownScript = redis.NewScript(`
local untilms, nowms = tonumber(ARGV[1]), tonumber(ARGV[2])
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if untilms > nowms and untilms > cur then
  redis.call('SET', KEYS[1], untilms, 'PX', untilms - nowms)
  cur = untilms
  redis.call('PUBLISH', ARGV[3], ARGV[4] .. ' ' .. cur)
end
return cur
`)

// Cooldown implements Store.
func (s *Redis) Cooldown(ctx context.Context, id string, until time.Time) (time.Time, error) {
	now := s.opt.Clock()
	local, _ := s.local.Cooldown(ctx, id, until)
	if !s.try() {
		return local, nil
	}
	c, cancel := s.ctx(ctx)
	defer cancel()
	v, err := cooldownScript.Run(c, s.c, []string{s.k.cooldown(id)}, untilMs(until), now.UnixMilli(), s.cooldownChannel(), id).Int64()
	if s.done(err) != nil {
		return local, nil
	}
	if v <= now.UnixMilli() {
		return time.Time{}, nil
	}
	t := time.UnixMilli(v)
	s.local.mu.Lock()
	s.local.cooldown(id, t, now)
	s.local.mu.Unlock()
	return t, nil
}

// Get implements Store.
func (s *Redis) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if !s.try() {
		return s.local.Get(ctx, key)
	}
	c, cancel := s.ctx(ctx)
	defer cancel()
	v, err := s.c.Get(c, s.k.kv(key)).Bytes()
	if errors.Is(err, redis.Nil) {
		_ = s.done(nil)
		return nil, false, nil
	}
	if s.done(err) != nil {
		return s.local.Get(ctx, key)
	}
	return v, true, nil
}

// Set implements Store.
func (s *Redis) Set(ctx context.Context, key string, val []byte, ttl time.Duration) error {
	_ = s.local.Set(ctx, key, val, ttl)
	if !s.try() {
		return nil
	}
	c, cancel := s.ctx(ctx)
	defer cancel()
	if ttl < 0 {
		ttl = 0
	}
	_ = s.done(s.c.Set(c, s.k.kv(key), val, ttl).Err())
	return nil
}

// Delete implements Store.
func (s *Redis) Delete(ctx context.Context, key string) error {
	_ = s.local.Delete(ctx, key)
	if !s.try() {
		return nil
	}
	c, cancel := s.ctx(ctx)
	defer cancel()
	_ = s.done(s.c.Del(c, s.k.kv(key)).Err())
	return nil
}

var incrScript = redis.NewScript(`
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
if v == tonumber(ARGV[1]) and tonumber(ARGV[2]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return v
`)

// Incr implements Store.
func (s *Redis) Incr(ctx context.Context, key string, by int64, ttl time.Duration) (int64, error) {
	local, _ := s.local.Incr(ctx, key, by, ttl)
	if !s.try() {
		return local, nil
	}
	c, cancel := s.ctx(ctx)
	defer cancel()
	var ttlMs int64
	if ttl > 0 {
		ttlMs = ms(ttl)
	}
	v, err := incrScript.Run(c, s.c, []string{s.k.kv(key)}, by, ttlMs).Int64()
	if s.done(err) != nil {
		return local, nil
	}
	return v, nil
}

// Ping checks the connection (startup diagnostics).
func (s *Redis) Ping(ctx context.Context) error {
	c, cancel := s.ctx(ctx)
	defer cancel()
	if err := s.done(s.c.Ping(c).Err()); err != nil {
		return fmt.Errorf("redis %s: %w", s.addrForLog(), err)
	}
	return nil
}

// Close implements Store.
func (s *Redis) Close() error {
	s.waitTPM() // the tokens queued are written first
	s.closeOnce.Do(func() { close(s.closed) })
	return s.c.Close()
}

var _ Store = (*Redis)(nil)

// newHolderID is a random id for this instance's in-flight slots.
func newHolderID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Client is the Redis client (for pub/sub: key-change notices between
// gateway instances).
func (s *Redis) Client() *redis.Client { return s.c }
