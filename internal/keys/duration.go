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
// "2w", "1mo" (30 days); a bare number is seconds.
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
