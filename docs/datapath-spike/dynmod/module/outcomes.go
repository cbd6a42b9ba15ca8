package main

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// outcome is what the request filter learns when a stream completes.
type outcome struct {
	code, attempts uint64
	cluster        string
}

var droppedOutcomes atomic.Uint64

// outbox is where Envoy workers leave outcome records: a mutex-guarded
// slice, drained by the collector on a timer. Unlike a channel send, an
// append never wakes a goroutine, so a worker pays no scheduler work per
// request.
type outbox struct {
	mu  sync.Mutex
	buf []outcome
}

func (b *outbox) put(o outcome) {
	b.mu.Lock()
	if len(b.buf) < 1<<16 {
		b.buf = append(b.buf, o)
	} else {
		droppedOutcomes.Add(1)
	}
	b.mu.Unlock()
}

func (b *outbox) take(into []outcome) []outcome {
	b.mu.Lock()
	into, b.buf = b.buf, into[:0]
	b.mu.Unlock()
	return into
}

// collect runs on a goroutine (a Go-runtime thread, not an Envoy worker):
// it aggregates outcomes off the request path, as a reporter to the gateway
// would, and logs a summary every 2 s.
func (c *config) collect() {
	type key struct {
		cluster string
		code    uint64
	}
	counts := map[key]uint64{}
	var n uint64
	var batch []outcome
	last := time.Now()
	for range time.Tick(20 * time.Millisecond) {
		batch = c.outbox.take(batch)
		for _, o := range batch {
			counts[key{o.cluster, o.code}]++
			n++
		}
		if n > 0 && time.Since(last) > 2*time.Second {
			last = time.Now()
			envoyLog(logInfo, fmt.Sprintf("llmgate dynmod outcomes: %d records, dropped %d, by cluster/code %v", n, droppedOutcomes.Load(), counts))
		}
	}
}
