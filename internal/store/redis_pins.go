package store

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// Pins shared through Redis (docs/architecture.md D179): the router's stored
// pins (prompt_caching's prefixes, the sessions' re-pins) are kept by each
// instance in memory and read there with no round trip; an instance that
// stores one announces it on a pub/sub channel, off the request path, and
// every instance adds the pins it hears. An instance that was not
// listening (started later, cut from Redis) misses them: a pin is an
// optimization, and the request then goes where the routing strategy sends
// it, as LiteLLM's does on a cache miss.

func (s *Redis) pinChannel() string { return s.opt.Prefix + "pins" }

// PublishPin announces a pin: key → deployment for ttl.
func (s *Redis) PublishPin(ctx context.Context, key, deployment string, ttl time.Duration) error {
	if !s.try() {
		return nil
	}
	c, cancel := s.ctx(ctx)
	defer cancel()
	msg := strconv.FormatInt(ttl.Milliseconds(), 10) + "\n" + deployment + "\n" + key // (the key last: it may hold any byte)
	return s.done(s.c.Publish(c, s.pinChannel(), msg).Err())
}

// WatchPins calls fn(key, deployment, ttl) for every pin announced (this
// instance's own too) until ctx ends. fn is called from one goroutine.
func (s *Redis) WatchPins(ctx context.Context, fn func(key, deployment string, ttl time.Duration)) {
	s.subscribe(ctx, s.pinChannel(), func(payload string) bool {
		ttl, rest, ok := strings.Cut(payload, "\n")
		dep, key, ok2 := strings.Cut(rest, "\n")
		if n, err := strconv.ParseInt(ttl, 10, 64); ok && ok2 && err == nil && n > 0 {
			fn(key, dep, time.Duration(n)*time.Millisecond)
		}
		return true
	})
}
