package store

import (
	"context"
	"strconv"
	"sync"
	"time"
)

// Memory is the in-process Store: the default for a single gateway instance.
// It models the same keys and expiries as Redis.
type Memory struct {
	clock Clock
	k     keys
	// inflightTTL bounds how long an in-flight count survives without End.
	inflightTTL time.Duration

	mu        sync.Mutex
	ints      map[string]intEntry
	bytes     map[string]bytesEntry
	lists     map[string]listEntry
	lastSweep time.Time
}

type intEntry struct {
	n   int64
	exp time.Time // zero: none
}

type bytesEntry struct {
	b   []byte
	exp time.Time
}

type listEntry struct {
	v   []float64
	exp time.Time
}

// NewMemory returns an empty in-memory store. A nil clock means time.Now.
func NewMemory(clock Clock) *Memory {
	if clock == nil {
		clock = time.Now
	}
	return &Memory{
		clock:       clock,
		k:           keys{prefix: defaultPrefix},
		inflightTTL: defaultInFlightTTL,
		ints:        map[string]intEntry{},
		bytes:       map[string]bytesEntry{},
		lists:       map[string]listEntry{},
	}
}

func expired(exp, now time.Time) bool { return !exp.IsZero() && !now.Before(exp) }

func expiry(now time.Time, ttl time.Duration) time.Time {
	if ttl <= 0 {
		return time.Time{}
	}
	return now.Add(ttl)
}

// getInt returns a live integer key; callers hold mu.
func (m *Memory) getInt(key string, now time.Time) (intEntry, bool) {
	e, ok := m.ints[key]
	if !ok {
		return intEntry{}, false
	}
	if expired(e.exp, now) {
		delete(m.ints, key)
		return intEntry{}, false
	}
	return e, true
}

// getIntBytes is getInt for a key in a buffer; callers hold mu.
func (m *Memory) getIntBytes(key []byte, now time.Time) (intEntry, bool) {
	e, ok := m.ints[string(key)]
	if !ok {
		return intEntry{}, false
	}
	if expired(e.exp, now) {
		delete(m.ints, string(key))
		return intEntry{}, false
	}
	return e, true
}

// incr adds by to key; a new key gets ttl. refresh also resets the ttl on an existing key.
func (m *Memory) incr(key string, by int64, ttl time.Duration, refresh bool, now time.Time) int64 {
	e, ok := m.getInt(key, now)
	if !ok || refresh {
		e.exp = expiry(now, ttl)
	}
	e.n += by
	m.ints[key] = e
	return e.n
}

// sweep drops expired keys at most once a minute; callers hold mu.
func (m *Memory) sweep(now time.Time) {
	if now.Sub(m.lastSweep) < time.Minute {
		return
	}
	m.lastSweep = now
	for k, e := range m.ints {
		if expired(e.exp, now) {
			delete(m.ints, k)
		}
	}
	for k, e := range m.bytes {
		if expired(e.exp, now) {
			delete(m.bytes, k)
		}
	}
	for k, e := range m.lists {
		if expired(e.exp, now) {
			delete(m.lists, k)
		}
	}
}

// Read implements Store.
func (m *Memory) Read(ctx context.Context, ids []string, opt ReadOptions) (map[string]DeploymentState, error) {
	out := make(map[string]DeploymentState, len(ids))
	return out, m.ReadInto(ctx, ids, opt, out)
}

// ReadInto implements MapReader.
func (m *Memory) ReadInto(_ context.Context, ids []string, opt ReadOptions, out map[string]DeploymentState) error {
	now := m.clock()
	m.mu.Lock()
	defer m.mu.Unlock()
	// The keys are the ones keys.rpm, tpm, inflight and cooldown name,
	// written into one buffer: a map lookup by string(buf) does not copy.
	var arr [128]byte
	minute := appendMinute(arr[:0:16], now)
	buf := arr[16:16]
	for _, id := range ids {
		var st DeploymentState
		buf = append(append(append(append(buf[:0], m.k.prefix...), "rpm:"...), id...), ':')
		if e, ok := m.getIntBytes(append(buf, minute...), now); ok {
			st.RPM = e.n
		}
		buf = append(append(append(append(buf[:0], m.k.prefix...), "tpm:"...), id...), ':')
		if e, ok := m.getIntBytes(append(buf, minute...), now); ok {
			st.TPM = e.n
		}
		buf = append(append(append(buf[:0], m.k.prefix...), "inflight:"...), id...)
		if e, ok := m.getIntBytes(buf, now); ok && e.n > 0 {
			st.InFlight = e.n
		}
		buf = append(append(append(buf[:0], m.k.prefix...), "cooldown:"...), id...)
		if e, ok := m.getIntBytes(buf, now); ok {
			st.CooldownUntil = time.UnixMilli(e.n)
		}
		if opt.IO {
			if e, ok := m.getInt(m.k.itpm(id, now), now); ok {
				st.ITPM = e.n
			}
			if e, ok := m.getInt(m.k.otpm(id, now), now); ok {
				st.OTPM = e.n
			}
		}
		if opt.DayStart != nil {
			if off, ok := opt.DayStart(id); ok {
				if e, ok := m.getInt(m.k.rpd(id, now, off), now); ok {
					st.RPD = e.n
				}
				if e, ok := m.getInt(m.k.tpd(id, now, off), now); ok {
					st.TPD = e.n
				}
			}
		}
		if opt.Latencies {
			if l, ok := m.lists[m.k.latency(id)]; ok && !expired(l.exp, now) {
				st.Latencies = append([]float64(nil), l.v...)
			}
		}
		out[id] = st
	}
	return nil
}

// Begin implements Store.
func (m *Memory) Begin(_ context.Context, id string, lim Limits) (BeginResult, error) {
	now := m.clock()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(now)
	return m.begin(id, lim, now), nil
}

func (m *Memory) begin(id string, lim Limits, now time.Time) BeginResult {
	rk, ik := m.k.rpm(id, now), m.k.inflight(id)
	rpm, _ := m.getInt(rk, now)
	inf, _ := m.getInt(ik, now)
	if inf.n < 0 {
		inf.n = 0
	}
	res := BeginResult{RPM: rpm.n, InFlight: inf.n}
	if lim.RPM > 0 && rpm.n+1 > lim.RPM {
		res.Reason = "rpm"
		return res
	}
	if lim.MaxParallel > 0 && inf.n+1 > lim.MaxParallel {
		res.Reason = "max_parallel_requests"
		return res
	}
	res.Allowed = true
	res.RPM = m.incr(rk, 1, minuteKeyTTL, false, now)
	m.ints[ik] = intEntry{n: inf.n + 1, exp: expiry(now, m.inflightTTL)}
	res.InFlight = inf.n + 1
	return res
}

// End implements Store.
func (m *Memory) End(_ context.Context, id string) error {
	now := m.clock()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.end(id, now)
	return nil
}

func (m *Memory) end(id string, now time.Time) {
	ik := m.k.inflight(id)
	e, ok := m.getInt(ik, now)
	if !ok {
		return
	}
	if e.n <= 1 {
		delete(m.ints, ik)
		return
	}
	e.n--
	m.ints[ik] = e
}

// Record implements Store.
func (m *Memory) Record(_ context.Context, r Record) (RecordResult, error) {
	now := m.clock()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(now)
	return m.record(r, now), nil
}

func (m *Memory) record(r Record, now time.Time) RecordResult {
	var res RecordResult
	id := r.DeploymentID
	if r.Tokens != 0 {
		res.TPM = m.incr(m.k.tpm(id, now), r.Tokens, minuteKeyTTL, false, now)
	} else if e, ok := m.getInt(m.k.tpm(id, now), now); ok {
		res.TPM = e.n
	}
	m.k.counts(r, now, func(key string, by int64, ttl time.Duration) { m.incr(key, by, ttl, false, now) })
	if r.HasLatency {
		max, ttl := latencyDefaults(r)
		lk := m.k.latency(id)
		l := m.lists[lk]
		if expired(l.exp, now) {
			l.v = nil
		}
		v := make([]float64, 0, max)
		v = append(v, r.Latency)
		v = append(v, l.v...)
		if len(v) > max {
			v = v[:max]
		}
		m.lists[lk] = listEntry{v: v, exp: expiry(now, ttl)}
	}
	cool := r.CooldownNow
	if r.FailureClass != "" {
		res.Failures = m.incr(m.k.failure(id, r.FailureClass, now), 1, minuteKeyTTL, false, now)
		if r.CooldownAfter >= 0 && res.Failures > r.CooldownAfter {
			cool = true
		}
	}
	if cool && r.CooldownUntil.After(now) {
		res.CooldownUntil = m.cooldown(id, r.CooldownUntil, now)
		res.CooledDown = true
	} else if e, ok := m.getInt(m.k.cooldown(id), now); ok {
		res.CooldownUntil = time.UnixMilli(e.n)
	}
	return res
}

func latencyDefaults(r Record) (int, time.Duration) {
	max, ttl := r.LatencyMax, r.LatencyTTL
	if max <= 0 {
		max = defaultLatencyMax
	}
	if ttl <= 0 {
		ttl = defaultLatencyTTL
	}
	return max, ttl
}

// Cooldown implements Store.
func (m *Memory) Cooldown(_ context.Context, id string, until time.Time) (time.Time, error) {
	now := m.clock()
	m.mu.Lock()
	defer m.mu.Unlock()
	if !until.After(now) {
		if e, ok := m.getInt(m.k.cooldown(id), now); ok {
			return time.UnixMilli(e.n), nil
		}
		return time.Time{}, nil
	}
	return m.cooldown(id, until, now), nil
}

// cooldown sets or extends a cooldown (never shortens it); callers hold mu.
func (m *Memory) cooldown(id string, until, now time.Time) time.Time {
	ck := m.k.cooldown(id)
	until = time.UnixMilli(until.UnixMilli())
	if e, ok := m.getInt(ck, now); ok && e.n >= until.UnixMilli() {
		return time.UnixMilli(e.n)
	}
	m.ints[ck] = intEntry{n: until.UnixMilli(), exp: until}
	return until
}

// Get implements Store.
func (m *Memory) Get(_ context.Context, key string) ([]byte, bool, error) {
	now := m.clock()
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.bytes[m.k.kv(key)]; ok && !expired(e.exp, now) {
		return append([]byte(nil), e.b...), true, nil
	}
	if e, ok := m.getInt(m.k.kv(key), now); ok {
		return strconv.AppendInt(nil, e.n, 10), true, nil
	}
	return nil, false, nil
}

// Set implements Store.
func (m *Memory) Set(_ context.Context, key string, val []byte, ttl time.Duration) error {
	now := m.clock()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(now)
	delete(m.ints, m.k.kv(key))
	m.bytes[m.k.kv(key)] = bytesEntry{b: append([]byte(nil), val...), exp: expiry(now, ttl)}
	return nil
}

// Delete implements Store.
func (m *Memory) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.bytes, m.k.kv(key))
	delete(m.ints, m.k.kv(key))
	return nil
}

// Incr implements Store.
func (m *Memory) Incr(_ context.Context, key string, by int64, ttl time.Duration) (int64, error) {
	now := m.clock()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(now)
	return m.incr(m.k.kv(key), by, ttl, false, now), nil
}

// Close implements Store.
func (m *Memory) Close() error { return nil }

var _ Store = (*Memory)(nil)
