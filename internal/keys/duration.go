package keys

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// maxDuration bounds every client-given duration (100 years).
const maxDuration = 100 * 365 * 24 * time.Hour

// ParseDuration reads LiteLLM's durations: "30s", "30m", "30h", "30d",
// "2w", "1mo"; a bare number is seconds. A month has no fixed length: this
// counts it as 30 days, which only bounds and compares durations — the time a
// duration ends is EndOf's, a budget period's end NextReset's.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	unit := time.Second
	num := s
	switch {
	case strings.HasSuffix(s, "mo"):
		unit, num = 30*24*time.Hour, strings.TrimSuffix(s, "mo")
	case strings.HasSuffix(s, "s"):
		num = strings.TrimSuffix(s, "s")
	case strings.HasSuffix(s, "m"):
		unit, num = time.Minute, strings.TrimSuffix(s, "m")
	case strings.HasSuffix(s, "h"):
		unit, num = time.Hour, strings.TrimSuffix(s, "h")
	case strings.HasSuffix(s, "d"):
		unit, num = 24*time.Hour, strings.TrimSuffix(s, "d")
	case strings.HasSuffix(s, "w"):
		unit, num = 7*24*time.Hour, strings.TrimSuffix(s, "w")
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid duration %q: use a number and one of s, m, h, d, w, mo (30d)", s)
	}
	if n > int64(maxDuration/unit) {
		return 0, fmt.Errorf("duration %q is longer than 100 years", s)
	}
	return time.Duration(n) * unit, nil
}

// months is the number of calendar months of a duration written "<n>mo", or
// 0 when it is not one (ParseDuration has accepted s).
func months(s string) int {
	s = strings.TrimSpace(s)
	if !strings.HasSuffix(s, "mo") {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSuffix(s, "mo"))
	return n
}

// addMonths is t n calendar months on, at the same time of day; a day the
// target month lacks becomes its last day (31 January + 1mo is 28 or 29
// February), as LiteLLM's duration_in_seconds computes "<n>mo".
func addMonths(t time.Time, n int) time.Time {
	t = t.UTC()
	y, m, d := t.Date()
	last := time.Date(y, m+time.Month(n)+1, 0, 0, 0, 0, 0, time.UTC).Day()
	if d > last {
		d = last
	}
	h, mi, sec := t.Clock()
	return time.Date(y, m+time.Month(n), d, h, mi, sec, t.Nanosecond(), time.UTC)
}

// EndOf is when a duration that starts at now ends — a key's duration (its
// expires), as LiteLLM's duration_in_seconds counts it: "<n>mo" is n calendar
// months on (addMonths), any other unit its fixed length.
func EndOf(now time.Time, s string) (time.Time, error) {
	d, err := ParseDuration(s)
	if err != nil {
		return time.Time{}, err
	}
	if n := months(s); n > 0 {
		return addMonths(now, n), nil
	}
	return now.Add(d), nil
}

// NextReset is when a budget period of duration s that starts at now ends
// (budget_reset_at). For "1mo" it is LiteLLM's get_budget_reset_time: the
// first of the next month at 00:00 UTC. LiteLLM refuses monthly resets of more
// than one month; here "<n>mo" is the first of the month n months on. Other
// units end after their fixed length.
func NextReset(now time.Time, s string) (time.Time, error) {
	d, err := ParseDuration(s)
	if err != nil {
		return time.Time{}, err
	}
	if n := months(s); n > 0 {
		y, m, _ := now.UTC().Date()
		return time.Date(y, m+time.Month(n), 1, 0, 0, 0, 0, time.UTC), nil
	}
	return now.Add(d), nil
}
