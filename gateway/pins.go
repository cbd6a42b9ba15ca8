package gateway

import (
	"context"
	"time"

	"github.com/llmgate/llmgate/internal/store"
	"github.com/llmgate/llmgate/router"
)

// The router's stored pins (docs/architecture.md D179): one table for the
// process, kept across config reloads; with Redis, this instance's pins are
// announced to the others and theirs added, off the request path; the
// sessions' re-pins go to the module with its table.

// pinQueue bounds the pins waiting to be announced (past it a pin stays
// this instance's: the others route that prefix by their strategy).
const pinQueue = 1024

// openPins builds the process's pin table on the gateway's store.
func (g *Gateway) openPins(ctx context.Context, st store.Store) *router.Pins {
	p := router.NewPins(time.Now)
	if r, ok := sharedRedis(st); ok {
		type pin struct {
			key, dep string
			ttl      time.Duration
		}
		q := make(chan pin, pinQueue)
		p.Publish = func(key, dep string, ttl time.Duration) {
			select {
			case q <- pin{key, dep, ttl}:
			default:
			}
		}
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case x := <-q:
					if err := r.PublishPin(ctx, x.key, x.dep, x.ttl); err != nil {
						g.log.Debug("pin not announced", "error", err)
					}
				}
			}
		}()
		go r.WatchPins(ctx, p.Add)
	}
	if g.moduleTables != nil {
		p.OnAffinity = func() { go g.pushModule() }
	}
	return p
}
