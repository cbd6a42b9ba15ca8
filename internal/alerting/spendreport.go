package alerting

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// SpendReports is LiteLLM's spend_reports alert type: every
// general_settings.spend_report_frequency ("7d" by default) the spend per
// team alias and per request tag of the spend logs over the last N days,
// and on the 1st of each month the same over the month (D98).
const SpendReports = "spend_reports"

// DefaultSpendReportDays is LiteLLM's spend_report_frequency, "7d".
const DefaultSpendReportDays = 7

// spendReportFirstRun is how long after the start the first periodic
// report runs (LiteLLM's scheduler: next_run_time now + 10 s).
const spendReportFirstRun = 10 * time.Second

// spendQueryTimeout bounds a report's queries.
const spendQueryTimeout = 30 * time.Second

// SpendLine is one line of a spend report: a team alias ("None" for logs
// of no team or a team without an alias) or a request tag, and its spend.
type SpendLine struct {
	Name  string
	Spend float64
}

// SpendSource sums the spend logs whose startTime falls in [start, end):
// per team alias and per request tag (each a line; the order does not
// matter). It runs off the request path, in the alerter's goroutine.
type SpendSource func(ctx context.Context, start, end time.Time) (teams, tags []SpendLine, err error)

// SetSpendSource gives the alerter the spend logs to report on (nil: no
// spend reports, as LiteLLM without a database) and the report's period in
// days (spend_report_frequency; <= 0: 7).
func (a *Alerter) SetSpendSource(src SpendSource, days int) {
	if days <= 0 {
		days = DefaultSpendReportDays
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.spendSource, a.spendDays = src, days
}

// reportDate is LiteLLM's date in the reports, mm-dd-yyyy.
const reportDate = "01-02-2006"

// day is t's date at midnight UTC (the spend logs' startTime is UTC and
// LiteLLM's query compares its date).
func day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// SendSpendReport sends the spend report of the last spend_report_frequency
// days (LiteLLM's send_weekly_spend_report): the days from today − N to
// today, both included. It is sent once per range (LiteLLM keeps a key per
// range in its cache); false when it is off, was sent, or there is nothing
// to report.
func (a *Alerter) SendSpendReport(ctx context.Context) bool {
	a.mu.Lock()
	days := a.spendDays
	a.mu.Unlock()
	today := day(a.now())
	start := today.AddDate(0, 0, -days)
	title := fmt.Sprintf("*💸 Spend Report for `%s - %s` (%d days)*\n", start.Format(reportDate), today.Format(reportDate), days)
	return a.sendSpendReport(ctx, "weekly_"+start.Format(time.DateOnly)+"_"+today.Format(time.DateOnly), start, today, title)
}

// SendMonthlySpendReport sends the spend report of the current month, its
// first to its last day (LiteLLM's send_monthly_spend_report), once per
// month.
func (a *Alerter) SendMonthlySpendReport(ctx context.Context) bool {
	today := day(a.now())
	first := today.AddDate(0, 0, 1-today.Day())
	last := first.AddDate(0, 1, -1)
	title := fmt.Sprintf("*💸 Monthly Spend Report for `%s - %s` *\n", first.Format(reportDate), last.Format(reportDate))
	return a.sendSpendReport(ctx, "monthly_"+first.Format(time.DateOnly)+"_"+last.Format(time.DateOnly), first, last, title)
}

// maxSentReports bounds the ranges remembered as sent.
const maxSentReports = 64

func (a *Alerter) sendSpendReport(ctx context.Context, key string, first, last time.Time, title string) bool {
	a.mu.Lock()
	src, sent := a.spendSource, a.spendSent[key]
	a.mu.Unlock()
	if src == nil || sent || !a.On(SpendReports) {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, spendQueryTimeout)
	defer cancel()
	teams, tags, err := src(ctx, first, last.AddDate(0, 0, 1))
	if err != nil {
		a.log.Warn("spend report: cannot read the spend logs", "error", err.Error())
		return false
	}
	if len(teams) == 0 && len(tags) == 0 {
		return false
	}
	var b strings.Builder
	b.WriteString(title)
	b.WriteString("\n*Team Spend Report:*\n")
	for _, l := range bySpend(teams) {
		fmt.Fprintf(&b, "Team: `%s` | Spend: `$%s`\n", l.Name, pyFloat(math.Round(l.Spend*1e4)/1e4))
	}
	b.WriteString("\n*Tag Spend Report:*\n")
	for _, l := range bySpend(tags) {
		fmt.Fprintf(&b, "Tag: `%s` | Spend: `$%s`\n", l.Name, pyFloat(math.Round(l.Spend*1e4)/1e4))
	}
	a.Send(Alert{Type: SpendReports, Level: "Low", Message: b.String()})
	a.mu.Lock()
	if len(a.spendSent) >= maxSentReports {
		clear(a.spendSent)
	}
	a.spendSent[key] = true
	a.mu.Unlock()
	return true
}

// bySpend orders the lines by spend, highest first (LiteLLM's ORDER BY
// total_spend DESC), then by name.
func bySpend(lines []SpendLine) []SpendLine {
	out := append([]SpendLine(nil), lines...)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Spend != out[j].Spend {
			return out[i].Spend > out[j].Spend
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// nextMonthStart is midnight UTC on the 1st of the month after t's (the
// monthly report's run: LiteLLM's cron day=1).
func nextMonthStart(t time.Time) time.Time {
	y, m, _ := t.UTC().Date()
	return time.Date(y, m+1, 1, 0, 0, 0, 0, time.UTC)
}

// spendReports runs the reports while a spend source is set: the periodic
// one 10 s after the start and then every spend_report_frequency days, the
// monthly one at midnight UTC on each 1st; until stop.
func (a *Alerter) spendReports(stop chan struct{}) {
	periodic := time.NewTimer(spendReportFirstRun)
	monthly := time.NewTimer(time.Until(nextMonthStart(time.Now())))
	defer periodic.Stop()
	defer monthly.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-stop; cancel() }()
	for {
		select {
		case <-stop:
			return
		case <-periodic.C:
			a.SendSpendReport(ctx)
			a.mu.Lock()
			days := a.spendDays
			a.mu.Unlock()
			if days <= 0 {
				days = DefaultSpendReportDays
			}
			periodic.Reset(time.Duration(days) * 24 * time.Hour)
		case <-monthly.C:
			a.SendMonthlySpendReport(ctx)
			monthly.Reset(time.Until(nextMonthStart(time.Now().Add(time.Hour))))
		}
	}
}
