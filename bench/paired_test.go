package bench

import (
	"testing"
	"time"
)

// TestPairedEnvoyDelta: the median of the runs' differences, odd and even
// counts, the runs where a was lower, and unequal or empty run lists.
func TestPairedEnvoyDelta(t *testing.T) {
	us := func(vs ...int) []time.Duration {
		out := make([]time.Duration, len(vs))
		for i, v := range vs {
			out[i] = time.Duration(v) * time.Microsecond
		}
		return out
	}
	for _, c := range []struct {
		a, b         []time.Duration
		median       time.Duration
		lower, count int
	}{
		// Run 2 is a noisy run for both: its difference is small.
		{us(500, 900, 480), us(520, 910, 530), -20 * time.Microsecond, 3, 3},
		{us(500, 600, 700, 800), us(510, 590, 650, 800), 5 * time.Microsecond, 1, 4},
		{us(500, 600, 700), us(400, 500), 100 * time.Microsecond, 0, 2},
		{nil, us(1), 0, 0, 0},
	} {
		m, lower, n := PairedEnvoyDelta(VariantResult{EnvoyRuns: c.a}, VariantResult{EnvoyRuns: c.b})
		if m != c.median || lower != c.lower || n != c.count {
			t.Errorf("%v vs %v: %v, lower in %d of %d; want %v, %d of %d", c.a, c.b, m, lower, n, c.median, c.lower, c.count)
		}
	}
}

// TestPairedLatencyDelta: a percentile of each run, paired by run.
func TestPairedLatencyDelta(t *testing.T) {
	q := func(p99s ...int) []Quantiles {
		out := make([]Quantiles, len(p99s))
		for i, v := range p99s {
			out[i] = Quantiles{P50: time.Millisecond, P99: time.Duration(v) * time.Microsecond}
		}
		return out
	}
	a, b := VariantResult{RunQ: q(900, 5000, 800)}, VariantResult{RunQ: q(1000, 4000, 1200)}
	m, lower, n := PairedLatencyDelta(a, b, func(q Quantiles) time.Duration { return q.P99 })
	if m != -100*time.Microsecond || lower != 2 || n != 3 {
		t.Errorf("p99: %v, lower in %d of %d; want -100µs, 2 of 3", m, lower, n)
	}
	if m, lower, _ := PairedLatencyDelta(a, b, func(q Quantiles) time.Duration { return q.P50 }); m != 0 || lower != 0 {
		t.Errorf("p50: %v, lower in %d; want 0, 0", m, lower)
	}
}
