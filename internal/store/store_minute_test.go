package store

import (
	"testing"
	"time"
)

// TestMinuteOf: the hand-written minute is time.Format's "200601021504" in UTC.
func TestMinuteOf(t *testing.T) {
	for _, tm := range []time.Time{
		time.Date(2026, 1, 2, 3, 4, 59, 0, time.UTC), time.Date(1999, 12, 31, 23, 59, 0, 0, time.FixedZone("x", 5*3600)),
		time.Unix(0, 0), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Now(),
	} {
		if got, want := minuteOf(tm), tm.UTC().Format("200601021504"); got != want {
			t.Errorf("minuteOf(%v) = %q, want %q", tm, got, want)
		}
	}
}
