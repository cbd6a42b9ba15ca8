package alerting

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/llmgate/llmgate/internal/outcome"
)

// Alert types raised here (LiteLLM's AlertType names).
const (
	LLMExceptions      = "llm_exceptions"
	LLMTooSlow         = "llm_too_slow"
	CooldownDeployment = "cooldown_deployment"
	OutageAlerts       = "outage_alerts"
	BudgetAlerts       = "budget_alerts"
)

// Settings are what the alerts need from the config.
type Settings struct {
	// Types are the alert types on.
	Types map[string]bool
	// URLs are each type's webhooks; Default serves the others.
	URLs    map[string][]string
	Default string
	// Threshold: a slower response raises llm_too_slow.
	Threshold time.Duration
	// OutageTTL is the window in which MinorOutage / MajorOutage failures
	// of one deployment raise an outage alert; at most MaxOutageList
	// deployments are tracked at once.
	OutageTTL     time.Duration
	MinorOutage   int
	MajorOutage   int
	MaxOutageList int
	// LogToConsole logs each alert too.
	LogToConsole bool
	// DailyReportFrequency is alerting_args.daily_report_frequency (0:
	// LiteLLM's 12 h).
	DailyReportFrequency time.Duration
	// RedactMessages is redact_messages_in_exceptions (or
	// turn_off_message_logging): llm_too_slow says the messages are not
	// logged, as LiteLLM's does (llmgate never quotes them).
	RedactMessages bool
}

// Alert is one message to post.
type Alert struct {
	Type    string
	Level   string // "Low", "Medium", "High" as LiteLLM labels them
	Message string
}

// queueSize bounds the alerts waiting for delivery.
const queueSize = 1000

type delivery struct {
	url  string
	body []byte
}

// Alerter turns tries into alerts and posts them.
type Alerter struct {
	log    *slog.Logger
	client *http.Client
	now    func() time.Time

	mu       sync.Mutex
	s        Settings
	cooldown map[string]time.Time // deployment → cooldown deadline already alerted
	outage   map[string]*outageWindow
	daily    map[string]*dailyMetrics // deployment id → figures since the last daily report
	// spendSource and spendDays feed the spend reports (spendreport.go);
	// spendSent are the report ranges already sent.
	spendSource SpendSource
	spendDays   int
	spendSent   map[string]bool

	queue  chan delivery
	done   chan struct{}
	hang   chan hangEvent // requests begun and finished (hanging.go)
	stop   chan struct{}
	closed bool // under mu: Send after Close drops

	sent, failed, dropped prometheus.Counter
	// unwatched counts request starts and ends the hanging-request watch
	// lost to its full queue.
	unwatched prometheus.Counter
}

// outageWindow counts one deployment's failures since start.
type outageWindow struct {
	start        time.Time
	n            int
	minor, major bool
}

// New starts an alerter; Close stops it.
func New(log *slog.Logger, s Settings) *Alerter {
	a := &Alerter{log: log, client: &http.Client{Timeout: 10 * time.Second}, now: time.Now,
		cooldown: map[string]time.Time{}, outage: map[string]*outageWindow{}, daily: map[string]*dailyMetrics{},
		spendSent: map[string]bool{}, spendDays: DefaultSpendReportDays,
		queue: make(chan delivery, queueSize), done: make(chan struct{}),
		hang: make(chan hangEvent, hangingQueue), stop: make(chan struct{}),
		sent:    prometheus.NewCounter(prometheus.CounterOpts{Name: "llmgate_alerts_sent_total", Help: "Alerts posted to their webhook"}),
		failed:  prometheus.NewCounter(prometheus.CounterOpts{Name: "llmgate_alerts_failed_total", Help: "Alerts whose webhook refused them after retries"}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "llmgate_alerts_dropped_total", Help: "Alerts dropped because the delivery queue was full"}),
		unwatched: prometheus.NewCounter(prometheus.CounterOpts{Name: "llmgate_alerts_hanging_watch_dropped_total",
			Help: "Request starts and ends the llm_requests_hanging watch lost because its queue was full"}),
	}
	a.Configure(s)
	go a.deliver()
	go a.watchHanging(a.stop)
	go a.dailyReports(a.stop)
	go a.spendReports(a.stop)
	return a
}

// Configure applies new settings (a reload).
func (a *Alerter) Configure(s Settings) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.s = s
}

// On reports whether an alert type is on.
func (a *Alerter) On(alertType string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.s.Types[alertType]
}

// Collectors are the delivery counters, for /metrics.
func (a *Alerter) Collectors() []prometheus.Collector {
	return []prometheus.Collector{a.sent, a.failed, a.dropped, a.unwatched}
}

// Sink returns the bus sink.
func (a *Alerter) Sink() outcome.Sink { return a.Observe }

// Observe raises the alerts one try calls for.
func (a *Alerter) Observe(t outcome.Try) {
	if a.On(LLMRequestsHanging) {
		a.finished(&t)
	}
	if a.On(DailyReports) {
		a.recordDaily(&t)
	}
	if t.Refused {
		// A request refused before any try is a client error, not an LLM
		// API exception: LiteLLM's llm_exceptions skips HTTPExceptions.
		return
	}
	for _, al := range a.alerts(&t) {
		a.Send(al)
	}
}

func (a *Alerter) alerts(t *outcome.Try) []Alert {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := &a.s
	var out []Alert
	where := fmt.Sprintf("\nModel: `%s`\nAPI Base: `%s`\nDeployment: `%s`\nCall ID: `%s`", t.RequestedModel, t.APIBase, t.DeploymentID, t.CallID)
	// llm_exceptions: the client got a failure (LiteLLM alerts from its
	// post-call failure hook: once per client request, not per retry).
	if s.Types[LLMExceptions] && t.Failed() && t.Answer == outcome.AnswerSent {
		out = append(out, Alert{Type: LLMExceptions, Level: "High",
			Message: fmt.Sprintf("LLM API call failed: `%s`%s", describe(t), where)})
	}
	// llm_too_slow: a success slower than the threshold.
	if lat := t.End.Sub(t.Start); s.Types[LLMTooSlow] && !t.Failed() && !t.Start.IsZero() && lat > s.Threshold {
		out = append(out, Alert{Type: LLMTooSlow, Level: "Low",
			Message: fmt.Sprintf("`Responses are slow - %.2fs response time > Alerting threshold: %gs`%s%s", lat.Seconds(), s.Threshold.Seconds(), where, redacted(s.RedactMessages))})
	}
	// cooldown_deployment: once per cooldown.
	if !t.CooldownUntil.IsZero() && t.DeploymentID != "" {
		if prev, ok := a.cooldown[t.DeploymentID]; !ok || !prev.Equal(t.CooldownUntil) {
			a.cooldown[t.DeploymentID] = t.CooldownUntil
			if len(a.cooldown) > s.MaxOutageList {
				a.pruneCooldowns()
			}
			if s.Types[CooldownDeployment] {
				out = append(out, Alert{Type: CooldownDeployment, Level: "Low",
					Message: fmt.Sprintf("Deployment cooled down until %s after `%s`%s", t.CooldownUntil.UTC().Format(time.RFC3339), describe(t), where)})
			}
		}
	}
	// outage_alerts: MinorOutage / MajorOutage failures of one deployment
	// within OutageTTL; LiteLLM leaves 400s out (the client's fault).
	if s.Types[OutageAlerts] && t.Failed() && t.Status != http.StatusBadRequest && t.DeploymentID != "" {
		now := a.now()
		w := a.outage[t.DeploymentID]
		if w == nil || now.Sub(w.start) > s.OutageTTL {
			if w == nil && len(a.outage) >= s.MaxOutageList {
				a.pruneOutages(now)
			}
			if w == nil && len(a.outage) >= s.MaxOutageList {
				return out // tracking is full: no outage alert rather than unbounded memory
			}
			w = &outageWindow{start: now}
			a.outage[t.DeploymentID] = w
		}
		w.n++
		level := ""
		switch {
		case w.n >= s.MajorOutage && !w.major:
			w.major, w.minor, level = true, true, "High"
		case w.n >= s.MinorOutage && !w.minor:
			w.minor, level = true, "Medium"
		}
		if level != "" {
			kind := "Minor"
			if level == "High" {
				kind = "Major"
			}
			out = append(out, Alert{Type: OutageAlerts, Level: level,
				Message: fmt.Sprintf("%s Service Outage: %d errors in %gs\nProvider: `%s`\nLast error: `%s`%s", kind, w.n, s.OutageTTL.Seconds(), t.Provider, describe(t), where)})
		}
	}
	return out
}

// pruneCooldowns forgets cooldowns already over. Called with a.mu held.
func (a *Alerter) pruneCooldowns() {
	now := a.now()
	for d, until := range a.cooldown {
		if until.Before(now) {
			delete(a.cooldown, d)
		}
	}
}

// pruneOutages forgets windows already over. Called with a.mu held.
func (a *Alerter) pruneOutages(now time.Time) {
	for d, w := range a.outage {
		if now.Sub(w.start) > a.s.OutageTTL {
			delete(a.outage, d)
		}
	}
}

// describe names a failure as LiteLLM's exception strings start.
func describe(t *outcome.Try) string {
	cls := t.ErrorClass
	if cls == "" {
		cls = "APIError"
	}
	switch {
	case t.Timeout:
		return fmt.Sprintf("litellm.%s: request timed out", cls)
	case t.Status == 0:
		return fmt.Sprintf("litellm.%s: no response from the provider (connection failed or reset)", cls)
	default:
		return fmt.Sprintf("litellm.%s: %s returned status %d", cls, t.Provider, t.Status)
	}
}

// Send queues an alert to the type's webhooks; a full queue drops it.
func (a *Alerter) Send(al Alert) {
	a.mu.Lock()
	urls := a.s.URLs[al.Type]
	if len(urls) == 0 && a.s.Default != "" {
		urls = []string{a.s.Default}
	}
	logIt, closed := a.s.LogToConsole, a.closed
	a.mu.Unlock()
	if closed {
		return
	}
	text := fmt.Sprintf("Level: `%s`\nTimestamp: `%s`\n\nMessage: %s", al.Level, a.now().UTC().Format("15:04:05"), al.Message)
	if logIt {
		a.log.Info("alert", "type", al.Type, "level", al.Level, "message", al.Message)
	}
	body, _ := json.Marshal(map[string]string{"text": text})
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, u := range urls {
		if a.closed {
			return
		}
		select {
		case a.queue <- delivery{url: u, body: body}:
		default:
			a.dropped.Inc()
		}
	}
}

// deliver posts queued alerts, retrying a refused post up to three times
// with back-off.
func (a *Alerter) deliver() {
	defer close(a.done)
	for d := range a.queue {
		ok := false
		for try := 0; try < 3 && !ok; try++ {
			if try > 0 {
				time.Sleep(time.Duration(try) * 500 * time.Millisecond)
			}
			ok = a.post(d)
		}
		if ok {
			a.sent.Inc()
		} else {
			a.failed.Inc()
			// The URL holds the webhook's secret: never log it.
			a.log.Warn("alert webhook refused the alert after 3 tries")
		}
	}
}

func (a *Alerter) post(d delivery) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url, bytes.NewReader(d.body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode < 300
}

// Close delivers what is queued (bounded by the post timeouts) and stops.
func (a *Alerter) Close() {
	a.mu.Lock()
	if !a.closed {
		a.closed = true
		close(a.queue)
		close(a.stop)
	}
	a.mu.Unlock()
	<-a.done
}

// redacted is the Messages line of LiteLLM's slow-request alert under
// redact_messages_in_exceptions or turn_off_message_logging ("" otherwise:
// llmgate does not quote the request's messages).
func redacted(on bool) string {
	if !on {
		return ""
	}
	return "\nMessages: `Message not logged. litellm.redact_messages_in_exceptions=True`"
}
