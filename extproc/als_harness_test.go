package extproc

import (
	"sync"
	"testing"

	alsv3 "github.com/envoyproxy/go-control-plane/envoy/service/accesslog/v3"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/llmgate/llmgate/internal/outcome"
)

// outcomeLog is the set-up the outcome-log tests share: an outcome server
// whose bus records every event, an access-log stream open to it, and a
// planned request's context with its plan's clusters.
type outcomeLog struct {
	s    *Server
	st   alsv3.AccessLogService_StreamAccessLogsClient
	ctx  *structpb.Struct
	plan []string
	mu   sync.Mutex
	got  []outcome.Try
}

func newOutcomeLog(t *testing.T) *outcomeLog {
	t.Helper()
	l := &outcomeLog{}
	l.s, _, _ = outcomeServer(t)
	l.s.Outcomes = outcome.NewBus()
	l.s.Outcomes.Register("test", 100, func(e outcome.Try) { l.mu.Lock(); l.got = append(l.got, e); l.mu.Unlock() })
	l.st = alsClient(t, l.s)
	l.ctx, l.plan = plannedContext(t, l.s)
	return l
}

// ctxString is the context as the module's records carry it.
func (l *outcomeLog) ctxString() string { return l.ctx.GetFields()["ctx"].GetStringValue() }

// wait waits for n events and returns all of them so far.
func (l *outcomeLog) wait(t *testing.T, n int) []outcome.Try {
	t.Helper()
	return waitEvents(t, &l.mu, &l.got, n)
}

// count is the number of events so far.
func (l *outcomeLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.got)
}
