package bench

import (
	"slices"
	"time"
)

// Tail is a latency distribution read for its tail (docs/architecture.md
// D66): the percentiles of every request of every run pooled, so that a
// p99.9 at concurrency 1 rests on thousands of requests rather than on the
// median run's hundreds.
type Tail struct {
	P50, P90, P99, P999 time.Duration
	N                   int
}

// PooledTail is the Tail of all the runs' successful requests together.
func PooledTail(rs []LoadResult) Tail {
	var all []time.Duration
	for _, r := range rs {
		all = append(all, r.Latencies...)
	}
	slices.Sort(all)
	return Tail{percentile(all, 0.50), percentile(all, 0.90), percentile(all, 0.99), percentile(all, 0.999), len(all)}
}
