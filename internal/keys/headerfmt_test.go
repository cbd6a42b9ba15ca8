package keys

import (
	"math"
	"strconv"
	"testing"
)

// formatNum gives strconv's 'f', -1 text for every value, cached or not,
// slots shared by many values included.
func TestFormatNum(t *testing.T) {
	vals := []float64{0, 1, 1000000, 0.1, 1e-7, 123.456, 1e21, -3.5, math.MaxFloat64, math.SmallestNonzeroFloat64, math.Inf(1), math.NaN()}
	for i := range 5000 {
		vals = append(vals, float64(i)*0.000123)
	}
	for range 2 {
		for _, v := range vals {
			if got, want := formatNum(v), strconv.FormatFloat(v, 'f', -1, 64); got != want {
				t.Fatalf("formatNum(%v) = %q, want %q", v, got, want)
			}
		}
	}
	formatNum(0.25)
	if n := testing.AllocsPerRun(100, func() { formatNum(0.25) }); n != 0 {
		t.Errorf("a cached number allocates %.0f times", n)
	}
}
