package alerting

import (
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/outcome"
)

// TestDailyReport (D85): daily_reports sums, per deployment, its failed
// calls and its successes' latency per output token, and the report names
// the top 5 of each (LiteLLM's message: model, value, API base), then
// starts again from nothing; with nothing to report nothing is sent; off,
// nothing is recorded.
func TestDailyReport(t *testing.T) {
	h := newHook(t)
	s := settings(h)
	s.Types = map[string]bool{DailyReports: true}
	s.DailyReportFrequency = time.Hour
	a := quietAlerter(s)
	a.now = func() time.Time { return time.Unix(1_700_000_000, 500_000_000) }
	if a.SendDailyReport() {
		t.Fatal("a report with nothing to report")
	}
	dep := func(id, model, base string, status, tokens int, lat time.Duration) outcome.Try {
		return try(func(tr *outcome.Try) {
			tr.DeploymentID, tr.Model, tr.APIBase, tr.Status, tr.CompletionTokens, tr.Latency = id, model, base, status, tokens, lat
			if status >= 400 {
				tr.ErrorClass = "InternalServerError"
			}
		})
	}
	for i := 0; i < 3; i++ {
		a.Observe(dep("bad", "gpt-4o", "bad.example", 500, 0, time.Second))
	}
	a.Observe(dep("flaky", "gpt-4o-mini", "flaky.example", 429, 0, time.Second))
	a.Observe(dep("slow", "gpt-4o", "slow.example", 200, 10, 5*time.Second))  // 0.5 s/token
	a.Observe(dep("slow", "gpt-4o", "slow.example", 200, 4, time.Second))     // + 0.25
	a.Observe(dep("fast", "gpt-4o", "fast.example", 200, 1000, time.Second))  // 0.001
	a.Observe(dep("notokens", "gpt-4o", "nt.example", 200, 0, 3*time.Second)) // no output tokens: not counted
	for i := 0; i < 7; i++ {                                                  // more than five deployments failing
		a.Observe(dep(string(rune('k'+i)), "m", "x.example", 500, 0, time.Second))
	}
	if !a.SendDailyReport() {
		t.Fatal("no report")
	}
	a.Close()
	got := h.texts("/default")
	if len(got) != 1 {
		t.Fatalf("%d messages, want 1: %q", len(got), got)
	}
	want := "Level: `Low`\nTimestamp: `22:13:20`\n\nMessage: \n\nTime: `1700000000.5`s\nHere are today's key metrics 📈: \n\n" +
		"\n\n*❗️ Top Deployments with Most Failed Requests:*\n\n" +
		"\t1. Deployment: `openai/gpt-4o`, Failed Requests: `3`,  API Base: `bad.example`\n" +
		"\t2. Deployment: `openai/gpt-4o-mini`, Failed Requests: `1`,  API Base: `flaky.example`\n" +
		"\t3. Deployment: `openai/m`, Failed Requests: `1`,  API Base: `x.example`\n" +
		"\t4. Deployment: `openai/m`, Failed Requests: `1`,  API Base: `x.example`\n" +
		"\t5. Deployment: `openai/m`, Failed Requests: `1`,  API Base: `x.example`\n" +
		"\n\n*😅 Top Slowest Deployments:*\n\n" +
		"\t1. Deployment: `openai/gpt-4o`, Latency per output token: `0.75s/token`,  API Base: `slow.example`\n\n" +
		"\t2. Deployment: `openai/gpt-4o`, Latency per output token: `0.001s/token`,  API Base: `fast.example`\n\n" +
		"\n\nNext Run is at: `1700003600.5`s"
	if got[0] != want {
		t.Errorf("report:\n%q\nwant\n%q", got[0], want)
	}
	if strings.Contains(got[0], "nt.example") {
		t.Error("a success without output tokens counted")
	}
	// Reset after a report; off, nothing recorded.
	if a.SendDailyReport() {
		t.Error("a second report without new figures")
	}
	s.Types = map[string]bool{}
	a.Configure(s)
	a.Observe(dep("bad", "gpt-4o", "bad.example", 500, 0, time.Second))
	if a.SendDailyReport() {
		t.Error("figures recorded with daily_reports off")
	}
}
