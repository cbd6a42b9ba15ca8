package keys

import (
	"context"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/keystore"
)

// "<n>mo" durations are calendar months, as LiteLLM's duration_in_seconds
// (a key's expires) and get_budget_reset_time (the first of the next month)
// count them (D90); other units keep their fixed lengths.
func TestMonthDurations(t *testing.T) {
	at := func(y int, m time.Month, d, h int) time.Time { return time.Date(y, m, d, h, 7, 9, 500, time.UTC) }
	midnight := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	for _, c := range []struct {
		now       time.Time
		dur       string
		end, next time.Time
	}{
		{at(2026, 1, 31, 10), "1mo", at(2026, 2, 28, 10), midnight(2026, 2, 1)},
		{at(2028, 1, 31, 10), "1mo", at(2028, 2, 29, 10), midnight(2028, 2, 1)},
		{at(2026, 3, 31, 23), "1mo", at(2026, 4, 30, 23), midnight(2026, 4, 1)},
		{at(2026, 12, 15, 8), "1mo", at(2027, 1, 15, 8), midnight(2027, 1, 1)},
		{at(2026, 11, 29, 8), "3mo", at(2027, 2, 28, 8), midnight(2027, 2, 1)},
		{at(2026, 12, 31, 8), "14mo", at(2028, 2, 29, 8), midnight(2028, 2, 1)},
		{at(2026, 1, 31, 10), "30d", at(2026, 3, 2, 10), at(2026, 3, 2, 10)},
		{at(2026, 1, 31, 10), "2h", at(2026, 1, 31, 12), at(2026, 1, 31, 12)},
	} {
		end, err := EndOf(c.now, c.dur)
		if err != nil || !end.Equal(c.end) {
			t.Errorf("EndOf(%v, %q) = %v, %v; want %v", c.now, c.dur, end, err, c.end)
		}
		next, err := NextReset(c.now, c.dur)
		if err != nil || !next.Equal(c.next) {
			t.Errorf("NextReset(%v, %q) = %v, %v; want %v", c.now, c.dur, next, err, c.next)
		}
	}
	// A non-UTC clock gives the same instants.
	ny := time.FixedZone("x", -5*3600)
	if next, _ := NextReset(time.Date(2026, 1, 31, 22, 0, 0, 0, ny), "1mo"); !next.Equal(midnight(2026, 3, 1)) {
		t.Errorf("NextReset in another zone: %v", next)
	}
	if _, err := EndOf(clock, "1300mo"); err == nil {
		t.Error("1300mo (over 100 years) accepted")
	}
	// upperbound_key_generate_params compares the months from now: from
	// 31 January "1mo" is 28 days (under "30d"), from 1 January 31 (over it).
	up := map[string]any{"duration": "30d"}
	if e := checkUpperBounds(map[string]any{"duration": "1mo"}, up, false, at(2026, 1, 31, 10)); e != nil {
		t.Errorf("1mo from 31 January over 30d: %+v", e)
	}
	if e := checkUpperBounds(map[string]any{"duration": "1mo"}, up, false, at(2026, 1, 1, 10)); e == nil {
		t.Error("1mo from 1 January (31 days) not over 30d")
	}
}

// A key generated with duration and budget_duration "1mo" expires a calendar
// month on and restarts its budget on the first of each month — on the
// embedded store and on PostgreSQL.
func TestMonthlyKey(t *testing.T) {
	for name, open := range keyStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			now := time.Date(2026, 1, 31, 10, 0, 0, 0, time.UTC)
			ks := open(t)
			s := clockService(t, ks, &now)
			key := generate(t, s, `{"max_budget":1,"budget_duration":"1mo","duration":"1mo"}`)
			tok := keystore.HashKey(key)
			k, err := ks.GetKey(ctx, tok)
			must(t, err)
			if want := time.Date(2026, 2, 28, 10, 0, 0, 0, time.UTC); k.Expires == nil || !k.Expires.Equal(want) {
				t.Fatalf("expires %v, want %v", k.Expires, want)
			}
			if want := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC); k.BudgetResetAt == nil || !k.BudgetResetAt.Equal(want) {
				t.Fatalf("budget_reset_at %v, want %v", k.BudgetResetAt, want)
			}
			s.Record(SpendEvent{KeyToken: tok, Cost: 2})
			must(t, s.flush(ctx))
			if _, e := s.Authorize(ctx, tok, key, []string{"m"}); e == nil || e.Type != "budget_exceeded" {
				t.Fatalf("over budget: %+v", e)
			}
			now = time.Date(2026, 2, 1, 0, 0, 1, 0, time.UTC)
			s.resetDue(ctx)
			if _, e := s.Authorize(ctx, tok, key, []string{"m"}); e != nil {
				t.Fatalf("after the first of the month: %+v", e)
			}
			k, err = ks.GetKey(ctx, tok)
			must(t, err)
			if want := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC); k.Spend != 0 || k.BudgetResetAt == nil || !k.BudgetResetAt.Equal(want) {
				t.Fatalf("after the reset: spend %v, budget_reset_at %v, want %v", k.Spend, k.BudgetResetAt, want)
			}
			now = time.Date(2026, 2, 28, 10, 0, 1, 0, time.UTC)
			if _, e := s.Authorize(ctx, tok, key, []string{"m"}); e == nil {
				t.Fatal("served after its expiry")
			}
		})
	}
}
