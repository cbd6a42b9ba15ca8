package alerting

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/llmgate/llmgate/internal/outcome"
)

// DailyReports is LiteLLM's daily_reports alert type: every
// alerting_args.daily_report_frequency (default 12 h) the top 5 deployments
// by failed requests and by latency per output token since the last report
// (D85). LiteLLM keeps both per deployment in its cache, summed over the
// requests (a failed call adds 1, a success its response time over its
// completion tokens), sends nothing when every value is 0, and resets them
// after a report.
const DailyReports = "daily_reports"

// DefaultDailyReportFrequency is LiteLLM's daily_report_frequency.
const DefaultDailyReportFrequency = 12 * time.Hour

// maxDailyDeployments bounds the deployments a report tracks.
const maxDailyDeployments = 10000

// dailyMetrics are one deployment's figures since the last report.
type dailyMetrics struct {
	model, apiBase  string
	failed          int
	latencyPerToken float64
}

// recordDaily adds a try to its deployment's figures. The caller holds
// no lock.
func (a *Alerter) recordDaily(t *outcome.Try) {
	if t.DeploymentID == "" {
		return
	}
	lat := t.Latency
	if lat <= 0 {
		lat = t.End.Sub(t.Start)
	}
	failed := t.Failed()
	if !failed && (t.CompletionTokens <= 0 || lat <= 0) {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	m := a.daily[t.DeploymentID]
	if m == nil {
		if len(a.daily) >= maxDailyDeployments {
			return
		}
		m = &dailyMetrics{}
		a.daily[t.DeploymentID] = m
	}
	m.model, m.apiBase = deploymentName(t), t.APIBase
	if failed {
		m.failed++
	} else {
		m.latencyPerToken += lat.Seconds() / float64(t.CompletionTokens)
	}
}

// deploymentName is the deployment's litellm_params.model as LiteLLM's
// report names it (provider/model).
func deploymentName(t *outcome.Try) string {
	if t.Provider == "" || strings.HasPrefix(t.Model, t.Provider+"/") {
		return t.Model
	}
	return t.Provider + "/" + t.Model
}

// SendDailyReport sends the daily report of the figures since the last one
// and resets them; false when there was nothing to report (LiteLLM sends
// nothing then).
func (a *Alerter) SendDailyReport() bool {
	a.mu.Lock()
	freq := a.s.DailyReportFrequency
	type entry struct {
		id string
		m  dailyMetrics
	}
	var all []entry
	for id, m := range a.daily {
		all = append(all, entry{id, *m})
	}
	a.daily = map[string]*dailyMetrics{}
	a.mu.Unlock()
	if freq <= 0 {
		freq = DefaultDailyReportFrequency
	}
	top := func(value func(e entry) float64) []entry {
		var out []entry
		for _, e := range all {
			if value(e) > 0 {
				out = append(out, e)
			}
		}
		sort.SliceStable(out, func(i, j int) bool {
			if vi, vj := value(out[i]), value(out[j]); vi != vj {
				return vi > vj
			}
			return out[i].id < out[j].id
		})
		return out[:min(len(out), 5)]
	}
	failed := top(func(e entry) float64 { return float64(e.m.failed) })
	slowest := top(func(e entry) float64 { return e.m.latencyPerToken })
	if len(failed) == 0 && len(slowest) == 0 {
		return false
	}
	now := a.now()
	var b strings.Builder
	fmt.Fprintf(&b, "\n\nTime: `%s`s\nHere are today's key metrics 📈: \n\n", unixSeconds(now))
	b.WriteString("\n\n*❗️ Top Deployments with Most Failed Requests:*\n\n")
	if len(failed) == 0 {
		b.WriteString("\tNone\n")
	}
	for i, e := range failed {
		fmt.Fprintf(&b, "\t%d. Deployment: `%s`, Failed Requests: `%d`,  API Base: `%s`\n", i+1, e.m.model, e.m.failed, e.m.apiBase)
	}
	b.WriteString("\n\n*😅 Top Slowest Deployments:*\n\n")
	if len(slowest) == 0 {
		b.WriteString("\tNone\n")
	}
	for i, e := range slowest {
		fmt.Fprintf(&b, "\t%d. Deployment: `%s`, Latency per output token: `%ss/token`,  API Base: `%s`\n\n", i+1, e.m.model,
			pyFloat(math.Round(e.m.latencyPerToken*1000)/1000), e.m.apiBase)
	}
	fmt.Fprintf(&b, "\n\nNext Run is at: `%s`s", unixSeconds(now.Add(freq)))
	a.Send(Alert{Type: DailyReports, Level: "Low", Message: b.String()})
	return true
}

// dailyReports sends the report every daily_report_frequency while the
// type is on, until stop.
func (a *Alerter) dailyReports(stop chan struct{}) {
	for {
		a.mu.Lock()
		freq := a.s.DailyReportFrequency
		a.mu.Unlock()
		if freq <= 0 {
			freq = DefaultDailyReportFrequency
		}
		t := time.NewTimer(freq)
		select {
		case <-stop:
			t.Stop()
			return
		case <-t.C:
		}
		if a.On(DailyReports) {
			a.SendDailyReport()
		}
	}
}

// unixSeconds is Python's time.time() as LiteLLM prints it.
func unixSeconds(t time.Time) string {
	return pyFloat(float64(t.UnixNano()) / 1e9)
}

// pyFloat formats a float as Python's str does for these values (a whole
// number keeps its ".0").
func pyFloat(f float64) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".eEnN") {
		s += ".0"
	}
	return s
}
