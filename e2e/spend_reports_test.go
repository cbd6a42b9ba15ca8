package e2e

import (
	"context"
	"encoding/json"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/llmgate/llmgate/internal/store/pgtest"
)

// TestSpendReportAlerts (D98): with alert_types [spend_reports] and
// spend_report_frequency 2d, /health/services?service=slack (LiteLLM's
// trigger besides its scheduler) posts to the Slack webhook on 127.0.0.1
// the monthly and the 2-day spend reports: each team by its alias ("None"
// for a key of no team), each request tag, the sums of the spend
// logs rounded to 4 decimals; each range once (a second trigger sends no
// report). Embedded store and PostgreSQL. The dates in the titles are not
// asserted (no wall-clock date in tests): their form is.
func TestSpendReportAlerts(t *testing.T) {
	pg := pgtest.Start(t)
	for _, store := range []string{"embedded", "postgres"} {
		t.Run(store, func(t *testing.T) {
			db := ""
			if store == "postgres" {
				db = pg.NewDatabase(t)
			}
			runSpendReports(t, db)
		})
	}
}

func runSpendReports(t *testing.T, db string) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	hook := newSlackReceiver(t)
	messages := func() []string { return hook.texts("/slack") }
	cfg := keysConfig(fake.URL(), db) + `  alerting: ["slack"]
  alert_types: ["spend_reports"]
  spend_report_frequency: 2d
`
	started := time.Now()
	g := startGateway(t, cfg, "SLACK_WEBHOOK_URL="+hook.URL+"/slack")
	k := keyAPI{t, g}
	if st, m := k.call("POST", "/team/new", master, `{"team_id":"team-rep","team_alias":"platform"}`); st != 200 {
		t.Fatalf("/team/new: %d %v", st, m)
	}
	teamKey, _ := k.generate(`{"team_id":"team-rep"}`)
	plainKey, _ := k.generate(`{}`)
	// The scheduler's first report runs 10 s after the start, before any
	// spend is logged here: it finds nothing and sends nothing.
	time.Sleep(time.Until(started.Add(12 * time.Second)))
	if m := messages(); len(m) != 0 {
		t.Fatalf("messages before any spend: %q", m)
	}

	ctx := context.Background()
	msgs := []openai.ChatCompletionMessageParamUnion{openai.UserMessage("spend report")}
	for _, r := range []struct{ key, tags string }{{teamKey, "prod"}, {teamKey, "prod"}, {plainKey, ""}} {
		c := openai.NewClient(option.WithBaseURL(g.URL+"/v1"), option.WithAPIKey(r.key), option.WithMaxRetries(0))
		var opts []option.RequestOption
		if r.tags != "" {
			opts = append(opts, option.WithHeader("x-litellm-tags", r.tags))
		}
		if _, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gpt-x", Messages: msgs}, opts...); err != nil {
			t.Fatal(err)
		}
	}
	// The spend logs, once written: the sums the reports must show.
	var rows []struct {
		Spend       float64  `json:"spend"`
		TeamID      *string  `json:"team_id"`
		RequestTags []string `json:"request_tags"`
	}
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		st, _, b := do(t, "GET", g.URL+"/spend/logs", master, "")
		rows = nil
		if st == 200 && json.Unmarshal(b, &rows) == nil && len(rows) == 3 {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("spend logs: %d %s", st, b)
		}
	}
	team, none, prod := 0.0, 0.0, 0.0
	for _, r := range rows {
		if r.TeamID != nil && *r.TeamID == "team-rep" {
			team += r.Spend
		} else {
			none += r.Spend
		}
		for _, tag := range r.RequestTags {
			if tag == "prod" {
				prod += r.Spend
			}
		}
	}
	if team <= 0 || none <= 0 || prod != team {
		t.Fatalf("spend logs: team %v, none %v, prod %v: %+v", team, none, prod, rows)
	}

	if st, _, b := do(t, "GET", g.URL+"/health/services?service=slack", master, ""); st != 200 {
		t.Fatalf("/health/services?service=slack: %d %s", st, b)
	}
	reports := func() (weekly, monthly []string) {
		for _, m := range messages() {
			switch {
			case strings.Contains(m, "Message: *💸 Monthly Spend Report for `"):
				monthly = append(monthly, m)
			case strings.Contains(m, "Message: *💸 Spend Report for `"):
				weekly = append(weekly, m)
			}
		}
		return
	}
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		w, m := reports()
		if len(w) == 1 && len(m) == 1 {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("reports not delivered: %q", messages())
		}
	}
	weekly, monthly := reports()
	date := `\d\d-\d\d-\d{4}`
	spend := func(report, line string) float64 {
		m := regexp.MustCompile(regexp.QuoteMeta(line) + " \\| Spend: `\\$([0-9.e-]+)`\n").FindStringSubmatch(report)
		if m == nil {
			t.Errorf("no line %q in\n%s", line, report)
			return -1
		}
		f, _ := strconv.ParseFloat(m[1], 64)
		return f
	}
	round4 := func(f float64) float64 { return math.Round(f*1e4) / 1e4 }
	for _, r := range []struct{ text, title string }{
		{weekly[0], "^Level: `Low`\nTimestamp: `\\d\\d:\\d\\d:\\d\\d`\n\nMessage: \\*💸 Spend Report for `" + date + " - " + date + "` \\(2 days\\)\\*\n\n\\*Team Spend Report:\\*\n"},
		{monthly[0], "^Level: `Low`\nTimestamp: `\\d\\d:\\d\\d:\\d\\d`\n\nMessage: \\*💸 Monthly Spend Report for `" + date + " - " + date + "` \\*\n\n\\*Team Spend Report:\\*\n"},
	} {
		if !regexp.MustCompile(r.title).MatchString(r.text) || !strings.Contains(r.text, "\n*Tag Spend Report:*\n") {
			t.Errorf("report's form:\n%s", r.text)
		}
		if g, w := spend(r.text, "Team: `platform`"), round4(team); g != w {
			t.Errorf("platform: %v, want %v", g, w)
		}
		if g, w := spend(r.text, "Team: `None`"), round4(none); g != w {
			t.Errorf("None: %v, want %v", g, w)
		}
		if g, w := spend(r.text, "Tag: `prod`"), round4(prod); g != w {
			t.Errorf("prod: %v, want %v", g, w)
		}
	}

	// A second trigger: the test alert again, no report again.
	if st, _, b := do(t, "GET", g.URL+"/health/services?service=slack", master, ""); st != 200 {
		t.Fatalf("/health/services?service=slack: %d %s", st, b)
	}
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if strings.Count(strings.Join(messages(), "\n"), "Message: Budget Alert test alert") == 2 {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("second test alert not delivered: %q", messages())
		}
	}
	time.Sleep(2 * time.Second) // room for a wrong second report
	if w, m := reports(); len(w) != 1 || len(m) != 1 {
		t.Fatalf("reports after a second trigger: %d periodic, %d monthly, want 1 each", len(w), len(m))
	}
}
