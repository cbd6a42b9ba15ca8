package alerting

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/llmgate/llmgate/internal/outcome"
)

// hook is a webhook that records each posted Slack message, by path.
type hook struct {
	mu   sync.Mutex
	got  map[string][]string
	srv  *httptest.Server
	code int
}

func newHook(t *testing.T) *hook {
	h := &hook{got: map[string][]string{}, code: 200}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("not a Slack webhook message: %s", b)
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		h.got[r.URL.Path] = append(h.got[r.URL.Path], m["text"])
		w.WriteHeader(h.code)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) texts(path string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.got[path]...)
}

// quietAlerter is New with a logger that discards.
func quietAlerter(s Settings) *Alerter { return New(slog.New(slog.NewTextHandler(io.Discard, nil)), s) }

func settings(h *hook) Settings {
	return Settings{Types: map[string]bool{LLMExceptions: true, LLMTooSlow: true, CooldownDeployment: true, OutageAlerts: true},
		URLs: map[string][]string{OutageAlerts: {h.srv.URL + "/outage"}}, Default: h.srv.URL + "/default",
		Threshold: time.Second, OutageTTL: time.Minute, MinorOutage: 3, MajorOutage: 5, MaxOutageList: 10}
}

func try(mut func(*outcome.Try)) outcome.Try {
	start := time.Unix(1_700_000_000, 0)
	t := outcome.Try{CallID: "call-1", RequestedModel: "gpt", DeploymentID: "d1", Provider: "openai", APIBase: "api.example",
		Status: 200, Start: start, End: start.Add(100 * time.Millisecond), Answer: outcome.AnswerSent}
	mut(&t)
	return t
}

// Each alert type fires when LiteLLM's would, to the type's webhook or the
// default one, as a Slack message; retried failures, fast successes and a
// cooldown already alerted stay quiet.
func TestAlertsAsLiteLLM(t *testing.T) {
	h := newHook(t)
	a := New(slog.New(slog.NewTextHandler(io.Discard, nil)), settings(h))
	fail := func(tr *outcome.Try) { tr.Status, tr.ErrorClass = 500, "InternalServerError" }
	a.Observe(try(func(tr *outcome.Try) { fail(tr); tr.Answer = outcome.AnswerRetried }))    // retried: no llm_exceptions
	a.Observe(try(fail))                                                                     // the client's failure
	a.Observe(try(func(*outcome.Try) {}))                                                    // fast success
	a.Observe(try(func(tr *outcome.Try) { tr.End = tr.Start.Add(2500 * time.Millisecond) })) // slow success
	until := time.Now().Add(time.Minute)
	cool := func(tr *outcome.Try) { fail(tr); tr.CooldownUntil = until; tr.Answer = outcome.AnswerRetried }
	a.Observe(try(cool))
	a.Observe(try(cool)) // the same cooldown: alerted once
	for i := 0; i < 3; i++ {
		a.Observe(try(func(tr *outcome.Try) { tr.Status, tr.DeploymentID, tr.Answer = 400, "d2", outcome.AnswerRetried })) // 400s never make an outage
	}
	a.Close()

	def := h.texts("/default")
	var exc, slow, cooled int
	for _, m := range def {
		switch {
		case strings.Contains(m, "LLM API call failed: `litellm.InternalServerError: openai returned status 500`"):
			exc++
			if !strings.HasPrefix(m, "Level: `High`\nTimestamp: `") || !strings.Contains(m, "Call ID: `call-1`") {
				t.Errorf("llm_exceptions message: %q", m)
			}
		case strings.Contains(m, "Responses are slow - 2.50s response time > Alerting threshold: 1s"):
			slow++
		case strings.Contains(m, "Deployment cooled down until"):
			cooled++
		}
	}
	if exc != 1 || slow != 1 || cooled != 1 || len(def) != 3 {
		t.Errorf("default webhook: %d exceptions, %d slow, %d cooldowns in %d messages, want 1 each:\n%s", exc, slow, cooled, len(def), strings.Join(def, "\n---\n"))
	}
	// d1 failed 4 times (retried, sent, 2 cooldown tries): one minor outage
	// (threshold 3) and no major one (5), on the outage webhook only.
	out := h.texts("/outage")
	if len(out) != 1 || !strings.Contains(out[0], "Minor Service Outage: 3 errors in 60s") || !strings.HasPrefix(out[0], "Level: `Medium`") {
		t.Errorf("outage webhook got %q, want one minor outage", out)
	}
	if got := testutil.ToFloat64(a.sent); got != 4 {
		t.Errorf("sent = %v, want 4", got)
	}
}

// A major outage follows the minor one in the same window; a new window
// starts counting again.
func TestOutageMinorThenMajor(t *testing.T) {
	h := newHook(t)
	a := New(slog.New(slog.NewTextHandler(io.Discard, nil)), settings(h))
	now := time.Unix(1_800_000_000, 0)
	a.now = func() time.Time { return now }
	f := func(tr *outcome.Try) { tr.Status = 503; tr.Answer = outcome.AnswerRetried }
	for i := 0; i < 6; i++ {
		a.Observe(try(f))
	}
	now = now.Add(2 * time.Minute)
	for i := 0; i < 3; i++ {
		a.Observe(try(f))
	}
	a.Close()
	out := h.texts("/outage")
	if len(out) != 3 || !strings.Contains(out[0], "Minor") || !strings.Contains(out[1], "Major Service Outage: 5 errors") || !strings.Contains(out[2], "Minor") {
		t.Errorf("outage alerts %q, want minor, major, then minor in the next window", out)
	}
}

// A webhook that refuses every post: each alert is tried three times and
// counted as failed; the observer never waits for it.
func TestRefusedWebhookCounted(t *testing.T) {
	h := newHook(t)
	h.code = 500
	s := settings(h)
	s.Types = map[string]bool{LLMExceptions: true}
	a := quietAlerter(s)
	// The webhook holds every post until Observe has returned: an observer
	// that waited for delivery would never return.
	h.mu.Lock()
	a.Observe(try(func(tr *outcome.Try) { tr.Status = 500 }))
	h.mu.Unlock()
	a.Close()
	if got := len(h.texts("/default")); got != 3 {
		t.Errorf("posts = %d, want 3 tries", got)
	}
	if got := testutil.ToFloat64(a.failed); got != 1 {
		t.Errorf("failed = %v, want 1", got)
	}
}
