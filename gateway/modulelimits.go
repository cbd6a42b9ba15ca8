package gateway

import (
	"context"
	"time"

	"github.com/llmgate/llmgate/internal/store"
)

// Shared state for the module (docs/architecture.md D67): with Redis the
// module serves what it can, and the gateway brings it, off the request
// path, what other instances put in Redis.

// cooldownPoll is how often the gateway reads the cooldown keys of the
// config's deployments from Redis besides the announcements it hears.
const cooldownPoll = time.Second

// moduleStore wraps the gateway's store so that the module hears of every
// cooldown: this instance's as they start (coolingStore), and with Redis
// every other instance's (announced on Redis pub/sub, and polled).
func (g *Gateway) moduleStore(ctx context.Context, st store.Store) store.Store {
	if r, ok := st.(*store.Redis); ok {
		go r.WatchCooldowns(ctx, g.deploymentIDs, cooldownPoll, g.cooled)
	}
	return &coolingStore{Store: st, cooled: g.cooled}
}

// deploymentIDs are the deployments of the config in force.
func (g *Gateway) deploymentIDs() []string {
	if g.ext == nil {
		return nil
	}
	st := g.ext.State()
	if st == nil {
		return nil
	}
	ds := st.Router.Model().Deployments
	ids := make([]string, 0, len(ds))
	for _, d := range ds {
		if !d.Wildcard && !d.Mock() {
			ids = append(ids, d.ID)
		}
	}
	return ids
}

// sharedRedis is the Redis store under the gateway's store (ok false: the
// store is in memory).
func sharedRedis(st store.Store) (*store.Redis, bool) {
	if c, ok := st.(*coolingStore); ok {
		st = c.Store
	}
	r, ok := st.(*store.Redis)
	return r, ok
}
