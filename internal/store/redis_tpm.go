package store

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// A success's tokens in Redis (docs/architecture.md D95). Every answer's
// Record with usage and nothing else (no latency sample, no failure: the
// usage-based and rpm/tpm configs' common case) used to be one script round
// trip on the caller's goroutine — for the module's outcomes, one after the
// other on the intake (≈ a third of the gateway's CPU on the bench's Redis
// config). Such a Record now adds its tokens to the local mirror, as every
// Record does, and queues them; one flusher writes what is queued in one
// script call per batch (INCRBY each minute's tpm counter, its TTL set when
// the call created it — the record script's own tpm step) and starts again
// while more is queued, so a burst of answers costs one round trip, and a
// lone answer is written at once. Each INCRBY is atomic in Redis as before:
// the counters other instances read hold every token, at most one round trip
// later than before. Read waits for the batches queued before it (an
// instance reads its own tokens, as before), Close writes what is queued.
// The script also returns the batch's deployments' cooldowns, which the local
// mirror takes, as Record took them from its script: a success's Record
// result reports a cooldown another instance started once a batch has seen it.

// tpmBatchKeys bounds the counters of one script call.
const tpmBatchKeys = 500

// tpmQueue is the tokens not yet written to Redis, by tpm counter key.
type tpmQueue struct {
	mu      sync.Mutex
	cond    sync.Cond // signalled when a batch is written
	pending map[string]*tpmAdd
	busy    bool   // a flusher is running
	taken   uint64 // batches the flusher took
	written uint64 // batches written (or given up)
}

type tpmAdd struct {
	id     string
	tokens int64
	ttl    int64 // ms, set when the script creates the key
}

// countsOnly: a Record whose only effect in Redis is on counters (its
// tokens, and the counters of D180).
func countsOnly(r Record) bool {
	return !r.HasLatency && r.FailureClass == "" && !r.CooldownNow
}

// queueTPM queues tokens for key (a tpm counter, or one of D180's: itpm,
// otpm, rpd, tpd; ttl for a new key) and starts the flusher when none runs.
func (s *Redis) queueTPM(id, key string, tokens int64, ttl time.Duration) {
	q := &s.tpm
	q.mu.Lock()
	if q.pending == nil {
		q.pending = make(map[string]*tpmAdd)
	}
	if a, ok := q.pending[key]; ok {
		a.tokens += tokens
	} else {
		q.pending[key] = &tpmAdd{id: id, tokens: tokens, ttl: ms(ttl)}
	}
	start := !q.busy
	q.busy = true
	q.mu.Unlock()
	if start {
		go s.flushTPM()
	}
}

// flushTPM writes the queued tokens, batch after batch, until none is queued.
func (s *Redis) flushTPM() {
	q := &s.tpm
	for {
		q.mu.Lock()
		batch := q.pending
		q.pending = nil
		if len(batch) == 0 {
			q.busy = false
			q.cond.Broadcast()
			q.mu.Unlock()
			return
		}
		q.taken++
		q.mu.Unlock()
		s.writeTPM(batch)
		q.mu.Lock()
		q.written++
		q.cond.Broadcast()
		q.mu.Unlock()
	}
}

// waitTPM returns once the tokens queued before the call are written.
func (s *Redis) waitTPM() {
	q := &s.tpm
	q.mu.Lock()
	target := q.taken
	if len(q.pending) > 0 {
		target++ // the flusher takes it next
	}
	for q.written < target {
		q.cond.Wait()
	}
	q.mu.Unlock()
}

// KEYS: the counters, then the same deployments' cooldown keys.
// ARGV: the tokens of each counter, then each counter's ttl ms.
// Returns each deployment's cooldown deadline (ms, 0 for none).
var tpmScript = redis.NewScript(`
local n = #KEYS / 2
local out = {}
for i = 1, n do
  local by = tonumber(ARGV[i])
  local v = redis.call('INCRBY', KEYS[i], by)
  if v == by then redis.call('PEXPIRE', KEYS[i], ARGV[n + i]) end
  out[i] = tonumber(redis.call('GET', KEYS[n + i]) or '0')
end
return out
`)

// writeTPM writes one batch, tpmBatchKeys counters per script call. When
// Redis fails the tokens stay in the local mirror only, as a Record's did.
func (s *Redis) writeTPM(batch map[string]*tpmAdd) {
	ks := make([]string, 0, 2*min(len(batch), tpmBatchKeys))
	args := make([]any, 0, 2*min(len(batch), tpmBatchKeys))
	ids := make([]string, 0, min(len(batch), tpmBatchKeys))
	ttls := make([]int64, 0, min(len(batch), tpmBatchKeys))
	send := func() {
		if len(ids) == 0 {
			return
		}
		for _, id := range ids {
			ks = append(ks, s.k.cooldown(id))
		}
		for _, t := range ttls {
			args = append(args, t)
		}
		if s.try() {
			c, cancel := s.ctx(context.Background())
			v, err := tpmScript.Run(c, s.c, ks, args...).Int64Slice()
			cancel()
			if s.done(err) == nil && len(v) == len(ids) {
				now := s.opt.Clock()
				s.local.mu.Lock()
				for i, id := range ids {
					if v[i] > 0 && v[i] > now.UnixMilli() {
						s.local.cooldown(id, time.UnixMilli(v[i]), now)
					}
				}
				s.local.mu.Unlock()
			}
		}
		ks, args, ids, ttls = ks[:0], args[:0], ids[:0], ttls[:0]
	}
	for key, a := range batch {
		ks = append(ks, key)
		args = append(args, strconv.FormatInt(a.tokens, 10))
		ids = append(ids, a.id)
		ttls = append(ttls, a.ttl)
		if len(ids) == tpmBatchKeys {
			send()
		}
	}
	send()
}
