package bench

import (
	"slices"
	"time"
)

// percentile is the nearest-rank q-quantile (0 < q <= 1) of sorted samples;
// zero when there are none.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.999999999) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return sorted[i]
}

// median of the values; zero when there are none. An even count averages the
// two middle values.
func median[T ~int64 | ~float64](v []T) T {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Quantiles are latency percentiles of one run or, in a report, the median of
// each percentile over the runs.
type Quantiles struct {
	P50, P90, P99 time.Duration
}

func quantilesOf(sorted []time.Duration) Quantiles {
	return Quantiles{percentile(sorted, 0.50), percentile(sorted, 0.90), percentile(sorted, 0.99)}
}

// Sub is q − o, percentile by percentile (the latency a hop adds).
func (q Quantiles) Sub(o Quantiles) Quantiles {
	return Quantiles{q.P50 - o.P50, q.P90 - o.P90, q.P99 - o.P99}
}

// medianQuantiles takes the median of each percentile over runs.
func medianQuantiles(runs []Quantiles) Quantiles {
	var a, b, c []time.Duration
	for _, r := range runs {
		a, b, c = append(a, r.P50), append(b, r.P90), append(c, r.P99)
	}
	return Quantiles{median(a), median(b), median(c)}
}
