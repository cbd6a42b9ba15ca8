package respcache

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisPrefix prefixes the cache's Redis keys: the gateway's other shared
// state may live in the same Redis, and /cache/flushall removes only these.
const redisPrefix = "llmgate:cache:"

// redisTimeout bounds one Redis operation on the request path.
const redisTimeout = 500 * time.Millisecond

type redisBackend struct {
	c redis.UniversalClient
	// cluster: keys live on several masters (flush scans each, a delete
	// goes key by key).
	cluster bool
}

// stored is an entry as Redis keeps it: LiteLLM's {"timestamp", "response"}
// with the answer's body, and whether it is a stream's.
type stored struct {
	Timestamp float64 `json:"timestamp"`
	Response  string  `json:"response"`
	Stream    bool    `json:"stream,omitempty"`
}

func newRedis(p Params) (*redisBackend, error) {
	const t = redisTimeout
	switch {
	case p.Cluster != "":
		return &redisBackend{cluster: true, c: redis.NewClusterClient(&redis.ClusterOptions{
			Addrs: strings.Split(p.Cluster, ","), Password: p.Password,
			DialTimeout: t, ReadTimeout: t, WriteTimeout: t, PoolTimeout: t,
			MaxRetries: -1, ContextTimeoutEnabled: true,
		})}, nil
	case p.Sentinels != "":
		return &redisBackend{c: redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName: p.Service, SentinelAddrs: strings.Split(p.Sentinels, ","),
			SentinelPassword: p.SentinelPassword, Password: p.Password,
			DialTimeout: t, ReadTimeout: t, WriteTimeout: t, PoolTimeout: t,
			MaxRetries: -1, ContextTimeoutEnabled: true,
		})}, nil
	}
	var o *redis.Options
	if p.URL != "" {
		var err error
		if o, err = redis.ParseURL(p.URL); err != nil {
			return nil, errors.New("cache: invalid redis url") // (it may hold a password)
		}
	} else {
		o = &redis.Options{Addr: p.Addr, Password: p.Password}
	}
	o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.PoolTimeout = redisTimeout, redisTimeout, redisTimeout, redisTimeout
	o.MaxRetries = -1
	o.ContextTimeoutEnabled = true
	return &redisBackend{c: redis.NewClient(o)}, nil
}

func bounded(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, redisTimeout)
}

func (r *redisBackend) get(ctx context.Context, key string) (Entry, bool, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	b, err := r.c.Get(ctx, redisPrefix+key).Bytes()
	if errors.Is(err, redis.Nil) {
		return Entry{}, false, nil
	}
	if err != nil {
		return Entry{}, false, err
	}
	e, ok := decodeStored(b)
	return e, ok, nil
}

// decodeStored reads a stored value (false: not an entry of ours).
func decodeStored(b []byte) (Entry, bool) {
	var s stored
	if json.Unmarshal(b, &s) != nil || s.Response == "" {
		return Entry{}, false
	}
	sec, frac := math.Modf(s.Timestamp)
	return Entry{Stream: s.Stream, Body: []byte(s.Response), Stored: time.Unix(int64(sec), int64(frac*1e9))}, true
}

func (r *redisBackend) getMany(ctx context.Context, keys []string) ([]Entry, error) {
	ctx, cancel := bounded(ctx)
	defer cancel()
	// Pipelined GETs (a cluster client sends each to its node).
	cmds, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range keys {
			p.Get(ctx, redisPrefix+k)
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	out := make([]Entry, len(keys))
	for i, c := range cmds {
		b, err := c.(*redis.StringCmd).Bytes()
		if err == nil {
			out[i], _ = decodeStored(b)
		}
	}
	return out, nil
}

func (r *redisBackend) set(ctx context.Context, key string, e Entry, ttl time.Duration) error {
	b, err := json.Marshal(stored{Timestamp: float64(e.Stored.UnixNano()) / 1e9, Response: string(e.Body), Stream: e.Stream})
	if err != nil {
		return err
	}
	if ttl < 0 {
		ttl = 0
	}
	return r.c.Set(ctx, redisPrefix+key, b, ttl).Err() // ttl 0: no expiry (LiteLLM's redis default)
}

func (r *redisBackend) del(ctx context.Context, keys []string) (int, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	ks := make([]string, len(keys))
	for i, k := range keys {
		ks[i] = redisPrefix + k
	}
	if !r.cluster {
		n, err := r.c.Del(ctx, ks...).Result()
		return int(n), err
	}
	// A cluster's keys sit in several slots: one DEL each (pipelined; the
	// client sends each to its node).
	cmds, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range ks {
			p.Del(ctx, k)
		}
		return nil
	})
	n := 0
	for _, c := range cmds {
		n += int(c.(*redis.IntCmd).Val())
	}
	return n, err
}

func (r *redisBackend) flush(ctx context.Context) (int, error) {
	cc, ok := r.c.(*redis.ClusterClient)
	if !ok {
		return flushNode(ctx, r.c, false)
	}
	var mu sync.Mutex
	total := 0
	err := cc.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
		n, err := flushNode(ctx, node, true)
		mu.Lock()
		total += n
		mu.Unlock()
		return err
	})
	return total, err
}

// flushNode removes the cache's keys from one Redis (a cluster's node
// deletes them one by one: they may sit in many slots).
func flushNode(ctx context.Context, c redis.Cmdable, oneByOne bool) (int, error) {
	total := 0
	var cursor uint64
	for {
		ks, next, err := c.Scan(ctx, cursor, redisPrefix+"*", 500).Result()
		if err != nil {
			return total, err
		}
		for len(ks) > 0 {
			batch := ks
			if oneByOne {
				batch = ks[:1]
			}
			ks = ks[len(batch):]
			n, err := c.Del(ctx, batch...).Result()
			if err != nil {
				return total, err
			}
			total += int(n)
		}
		if cursor = next; cursor == 0 {
			return total, nil
		}
	}
}

func (r *redisBackend) ping(ctx context.Context) error {
	ctx, cancel := bounded(ctx)
	defer cancel()
	if err := r.c.Ping(ctx).Err(); err != nil {
		return err
	}
	// A write too, as LiteLLM's /cache/ping makes one.
	return r.c.Set(ctx, redisPrefix+"llmgate-ping", "1", 10*time.Second).Err()
}

func (r *redisBackend) close() error { return r.c.Close() }
