package keys

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// NotifyChannel is the Redis pub/sub channel of key changes.
const NotifyChannel = "llmgate:keys:changed"

// RedisNotifier publishes key changes to the other gateway instances.
type RedisNotifier struct{ C *redis.Client }

// Publish announces that the key stored under token changed.
func (n RedisNotifier) Publish(ctx context.Context, token string) error {
	return n.C.Publish(ctx, NotifyChannel, token).Err()
}

// Subscribe calls fn for every change announced until ctx ends; go-redis
// reconnects a dropped subscription by itself.
func (n RedisNotifier) Subscribe(ctx context.Context, fn func(token string)) {
	subscribe(ctx, n.C, NotifyChannel, fn)
}

// subscribe calls fn with every message published on channel until ctx
// ends (the key changes here, the model-budget windows in sharedwindows.go).
func subscribe(ctx context.Context, c *redis.Client, channel string, fn func(payload string)) {
	ps := c.Subscribe(ctx, channel)
	defer ps.Close()
	ch := ps.Channel(redis.WithChannelHealthCheckInterval(10 * time.Second))
	for {
		select {
		case <-ctx.Done():
			return
		case m, ok := <-ch:
			if !ok {
				return
			}
			fn(m.Payload)
		}
	}
}
