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
