package store

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// Cooldowns shared through Redis, learnt off the request path
// (docs/architecture.md D67): every cooldown the Record and Cooldown scripts
// start or extend is announced on a pub/sub channel in the same script (no
// extra round trip), and WatchCooldowns delivers those announcements, plus
// a periodic read of the cooldown keys for what a subscriber missed (a
// reconnect, a Redis restart, an instance of an older build).

func (s *Redis) cooldownChannel() string { return s.opt.Prefix + "cooldowns" }

// subscribe calls fn with every message published on channel until ctx
// ends or fn returns false.
func (s *Redis) subscribe(ctx context.Context, channel string, fn func(payload string) bool) {
	ps := s.c.Subscribe(ctx, channel)
	defer ps.Close()
	ch := ps.Channel()
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-ch:
			if !ok || !fn(m.Payload) {
				return
			}
		}
	}
}

// WatchCooldowns calls fn(id, until) for the cooldowns running in Redis:
// each one announced as it starts, and every poll interval those of ids()
// read from their keys (fn sees a cooldown again at every poll while it
// runs; the caller keeps the latest end). It returns when ctx ends. fn is
// called from one goroutine at a time.
func (s *Redis) WatchCooldowns(ctx context.Context, ids func() []string, poll time.Duration, fn func(id string, until time.Time)) {
	events := make(chan [2]string, 256)
	go s.subscribe(ctx, s.cooldownChannel(), func(payload string) bool {
		id, until, ok := strings.Cut(payload, " ")
		if !ok {
			return true
		}
		select {
		case events <- [2]string{id, until}:
			return true
		case <-ctx.Done():
			return false
		}
	})
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-events:
			if ms, err := strconv.ParseInt(e[1], 10, 64); err == nil {
				if until := time.UnixMilli(ms); until.After(s.opt.Clock()) {
					fn(e[0], until)
				}
			}
		case <-t.C:
			s.pollCooldowns(ctx, ids(), fn)
		}
	}
}

// pollCooldowns reads the cooldown keys of ids from Redis (in batches of
// 1,000; nothing when Redis is down: the local mirror has this instance's
// own, which the caller already heard of).
func (s *Redis) pollCooldowns(ctx context.Context, ids []string, fn func(id string, until time.Time)) {
	for len(ids) > 0 && s.try() {
		n := min(len(ids), 1000)
		batch := ids[:n]
		ids = ids[n:]
		ks := make([]string, len(batch))
		for i, id := range batch {
			ks[i] = s.k.cooldown(id)
		}
		c, cancel := s.ctx(ctx)
		vals, err := s.c.MGet(c, ks...).Result()
		cancel()
		if s.done(err) != nil {
			return
		}
		now := s.opt.Clock()
		for i, v := range vals {
			if ms := toInt(v); ms > 0 {
				if until := time.UnixMilli(ms); until.After(now) {
					fn(batch[i], until)
				}
			}
		}
	}
}
