package alerting

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/outcome"
)

// TestSpendReports (D98): with spend_reports on and a spend source, the
// periodic report covers the last N days (today − N to today, the source
// asked for [start, tomorrow)), the monthly one the current month, each in
// LiteLLM's message (teams then tags, highest spend first, rounded to 4
// decimals as Python prints them), once per range; nothing is sent with no
// spend, with the type off, without a source, or when the source fails.
// The clock is the alerter's (a fixed date), not the wall clock.
func TestSpendReports(t *testing.T) {
	h := newHook(t)
	s := settings(h)
	s.Types = map[string]bool{SpendReports: true}
	a := quietAlerter(s)
	a.now = func() time.Time { return time.Date(2026, 3, 5, 23, 30, 0, 0, time.UTC) }
	ctx := context.Background()
	if a.SendSpendReport(ctx) || a.SendMonthlySpendReport(ctx) {
		t.Fatal("a report without a spend source")
	}
	var asked [][2]time.Time
	var fail error
	teams := []SpendLine{{"None", 0.00012}, {"platform", 1.23456789}, {"research", 2}}
	tags := []SpendLine{{"User-Agent: curl", 0.5}, {"prod", 3.14159}}
	a.SetSpendSource(func(_ context.Context, start, end time.Time) ([]SpendLine, []SpendLine, error) {
		asked = append(asked, [2]time.Time{start, end})
		return teams, tags, fail
	}, 3)
	if !a.SendSpendReport(ctx) {
		t.Fatal("no periodic report")
	}
	if a.SendSpendReport(ctx) {
		t.Fatal("the same range sent twice")
	}
	if !a.SendMonthlySpendReport(ctx) || a.SendMonthlySpendReport(ctx) {
		t.Fatal("the monthly report: not sent once")
	}
	a.now = func() time.Time { return time.Date(2026, 3, 6, 0, 30, 0, 0, time.UTC) }
	fail = errors.New("database down")
	if a.SendSpendReport(ctx) {
		t.Fatal("a report from a failing source")
	}
	fail = nil
	teams, tags = nil, nil
	if a.SendSpendReport(ctx) {
		t.Fatal("a report with no spend")
	}
	a.Configure(Settings{Types: map[string]bool{}, Default: s.Default})
	teams = []SpendLine{{"x", 1}}
	a.now = func() time.Time { return time.Date(2026, 3, 7, 0, 30, 0, 0, time.UTC) }
	if a.SendSpendReport(ctx) {
		t.Fatal("a report with spend_reports off")
	}
	a.Close()
	d := func(m time.Month, day int) time.Time { return time.Date(2026, m, day, 0, 0, 0, 0, time.UTC) }
	wantAsked := [][2]time.Time{{d(3, 2), d(3, 6)}, {d(3, 1), d(4, 1)}, {d(3, 3), d(3, 7)}, {d(3, 3), d(3, 7)}}
	if len(asked) != len(wantAsked) {
		t.Fatalf("asked %v, want %v", asked, wantAsked)
	}
	for i := range asked {
		if !asked[i][0].Equal(wantAsked[i][0]) || !asked[i][1].Equal(wantAsked[i][1]) {
			t.Errorf("query %d: %v, want %v", i, asked[i], wantAsked[i])
		}
	}
	body := "\n*Team Spend Report:*\nTeam: `research` | Spend: `$2.0`\nTeam: `platform` | Spend: `$1.2346`\nTeam: `None` | Spend: `$0.0001`\n" +
		"\n*Tag Spend Report:*\nTag: `prod` | Spend: `$3.1416`\nTag: `User-Agent: curl` | Spend: `$0.5`\n"
	want := []string{
		"Level: `Low`\nTimestamp: `23:30:00`\n\nMessage: *💸 Spend Report for `03-02-2026 - 03-05-2026` (3 days)*\n" + body,
		"Level: `Low`\nTimestamp: `23:30:00`\n\nMessage: *💸 Monthly Spend Report for `03-01-2026 - 03-31-2026` *\n" + body,
	}
	got := h.texts("/default")
	if len(got) != len(want) {
		t.Fatalf("%d messages, want %d: %q", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("message %d:\n%q\nwant\n%q", i, got[i], want[i])
		}
	}
}

// TestNextMonthStart: the monthly report runs at midnight UTC on the 1st.
func TestNextMonthStart(t *testing.T) {
	for _, tc := range []struct{ now, want time.Time }{
		{time.Date(2026, 1, 31, 23, 59, 0, 0, time.UTC), time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)},
		{time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)},
		{time.Date(2026, 6, 15, 1, 0, 0, 0, time.FixedZone("x", -5*3600)), time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)},
	} {
		if got := nextMonthStart(tc.now); !got.Equal(tc.want) {
			t.Errorf("nextMonthStart(%v) = %v, want %v", tc.now, got, tc.want)
		}
	}
}

// TestSlowAlertRedacted (D98): with redact_messages_in_exceptions (or
// turn_off_message_logging) the llm_too_slow alert ends with LiteLLM's
// Messages line saying they are not logged; without, no Messages line
// (llmgate never quotes the request's messages).
func TestSlowAlertRedacted(t *testing.T) {
	for _, redact := range []bool{false, true} {
		h := newHook(t)
		s := settings(h)
		s.RedactMessages = redact
		a := quietAlerter(s)
		a.Observe(try(func(tr *outcome.Try) { tr.End = tr.Start.Add(2500 * time.Millisecond) }))
		a.Close()
		got := h.texts("/default")
		line := "\nMessages: `Message not logged. litellm.redact_messages_in_exceptions=True`"
		if len(got) != 1 || !strings.Contains(got[0], "Responses are slow") || strings.HasSuffix(got[0], line) != redact || strings.Contains(got[0], "Messages:") != redact {
			t.Errorf("redact %v: %q", redact, got)
		}
	}
}
