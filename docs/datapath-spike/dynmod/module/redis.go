package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisClient is the probe's shared counter store: what an rpm limit
// across Envoys and replicas needs per request (the same client library
// the gateway's store uses).
type redisClient struct {
	c      *redis.Client
	errors atomic.Uint64
}

func newRedis(addr string) *redisClient {
	return &redisClient{c: redis.NewClient(&redis.Options{Addr: addr, PoolSize: 32})}
}

// countRequest runs on a goroutine: one round trip (INCR + EXPIRE
// pipelined) on the current minute's counter of the group.
func (c *config) countRequest() {
	key := fmt.Sprintf("llmgate:dynmod:rpm:%s:%d", c.group, time.Now().Unix()/60)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	p := c.rdb.c.Pipeline()
	p.Incr(ctx, key)
	p.Expire(ctx, key, 2*time.Minute)
	if _, err := p.Exec(ctx); err != nil {
		if c.rdb.errors.Add(1) == 1 {
			envoyLog(logWarn, "llmgate dynmod: redis: "+err.Error())
		}
	}
}
