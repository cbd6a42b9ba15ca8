package alerting

import (
	"fmt"
	"sort"
	"time"

	"github.com/llmgate/llmgate/internal/outcome"
)

// LLMRequestsHanging is LiteLLM's alert for a request still unanswered
// alerting_threshold after it started.
const LLMRequestsHanging = "llm_requests_hanging"

// Begun is a request the gateway started serving: what the hanging-request
// alert names (LiteLLM's HangingRequestData).
type Begun struct {
	CallID       string
	Model        string // the model the client asked for
	APIBase      string // the first deployment's host
	DeploymentID string
	TeamID       string
	KeyAlias     string
	Start        time.Time
}

// Bounds of the hanging-request watch: events waiting for the watcher, and
// requests watched at once (LiteLLM checks at most its oldest N too).
const (
	hangingQueue = 4096
	hangingMax   = 100_000
	// hangingBuffer is kept past 1.5 × the threshold before an unfinished
	// request is forgotten (LiteLLM's HANGING_ALERT_BUFFER_TIME_SECONDS).
	hangingBuffer = 60 * time.Second
)

// hangEvent is a request's start (begun != nil) or end.
type hangEvent struct {
	begun *Begun
	done  string
}

type hanging struct {
	Begun
	alerted bool
}

// Begin tells the watcher a request started. It never blocks: with the
// watcher's queue full the request is not watched (counted dropped). It is
// the only call on the request path, and only with llm_requests_hanging on.
func (a *Alerter) Begin(b Begun) {
	select {
	case a.hang <- hangEvent{begun: &b}:
	default:
		a.unwatched.Inc()
	}
}

// finished tells the watcher the client got its answer (the try whose
// answer was sent, or a refusal). It runs on the bus sink's goroutine.
func (a *Alerter) finished(t *outcome.Try) {
	if t.Answer != outcome.AnswerSent || t.CallID == "" {
		return
	}
	select {
	case a.hang <- hangEvent{done: t.CallID}:
	default:
		a.unwatched.Inc()
	}
}

// watchHanging keeps the requests in flight and checks them every half
// threshold (LiteLLM's cadence): a request older than the threshold with no
// answer raises one llm_requests_hanging alert; one older than 1.5 × the
// threshold plus a buffer is forgotten (its end was never seen: a client
// that left, an event lost). Starts and ends come through one queue, so a
// request's end is never handled before its start.
func (a *Alerter) watchHanging(stop <-chan struct{}) {
	inflight := map[string]*hanging{}
	tick := time.NewTicker(a.hangingInterval())
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case ev := <-a.hang:
			switch {
			case ev.begun != nil:
				if _, ok := inflight[ev.begun.CallID]; !ok && len(inflight) < hangingMax {
					inflight[ev.begun.CallID] = &hanging{Begun: *ev.begun}
				}
			default:
				delete(inflight, ev.done)
			}
		case <-tick.C:
			a.mu.Lock()
			on, threshold := a.s.Types[LLMRequestsHanging], a.s.Threshold
			a.mu.Unlock()
			tick.Reset(a.hangingInterval())
			now := a.now()
			var due []*hanging
			for id, h := range inflight {
				age := now.Sub(h.Start)
				switch {
				case age > threshold+threshold/2+hangingBuffer:
					delete(inflight, id)
				case on && !h.alerted && age >= threshold:
					h.alerted = true
					due = append(due, h)
				}
			}
			sort.Slice(due, func(i, j int) bool { return due[i].Start.Before(due[j].Start) })
			for _, h := range due {
				a.Send(Alert{Type: LLMRequestsHanging, Level: "Medium", Message: hangingMessage(h, now.Sub(h.Start), threshold)})
			}
		}
	}
}

// hangingInterval is half the threshold, at least 50 ms.
func (a *Alerter) hangingInterval() time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	return max(a.s.Threshold/2, 50*time.Millisecond)
}

// hangingMessage is LiteLLM's hanging-request message.
func hangingMessage(h *hanging, elapsed, threshold time.Duration) string {
	return fmt.Sprintf("`Requests are hanging - %gs+ request time`\nRequest ID: `%s`\nRequest Model: `%s`\nElapsed: `%gs` (threshold: `%gs`)\nAPI Base: `%s`\nDeployment ID: `%s`\nOrganization ID: `None`\nTeam ID: `%s`\nKey Alias: `%s`\nTeam Alias: `None`",
		threshold.Seconds(), h.CallID, h.Model, round2(elapsed.Seconds()), round2(threshold.Seconds()), h.APIBase, h.DeploymentID, orNone(h.TeamID), h.KeyAlias)
}

func round2(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }

func orNone(s string) string {
	if s == "" {
		return "None"
	}
	return s
}
