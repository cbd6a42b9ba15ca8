package extproc

import (
	"testing"
	"time"

	datav3 "github.com/envoyproxy/go-control-plane/envoy/data/accesslog/v3"

	"github.com/llmgate/llmgate/internal/outcome"
)

// TestOutcomeLogClientClosedAtDone (D76): a fast stream's try that the
// client's close cut (Envoy's DC) is reported as the answer — with its
// usage — when the ext_proc fast path's Lua saw the stream's [DONE] pass
// (llmgate.usage "done"); without "done" it is still the client's going
// away, not reported.
func TestOutcomeLogClientClosedAtDone(t *testing.T) {
	l := newOutcomeLog(t)
	st, ctx, plan := l.st, l.ctx, l.plan
	start := time.Now()
	dc := &datav3.ResponseFlags{DownstreamConnectionTermination: true}
	// Cut before [DONE]: nothing reported.
	sendEntries(t, st, requestEntry("cut", start, 1, ctx, true, map[string]any{"prompt_tokens": 3}),
		tryEntry("cut", plan[0], start.Add(time.Millisecond), 200, dc, nil))
	// Closed at [DONE]: the answer, with its usage.
	sendEntries(t, st, requestEntry("done", start, 1, ctx, true, map[string]any{"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10, UsageDoneKey: true}),
		tryEntry("done", plan[0], start.Add(time.Millisecond), 200, dc, nil))
	ev := l.wait(t, 1)[0]
	time.Sleep(50 * time.Millisecond)
	n := l.count()
	if n != 1 {
		t.Fatalf("%d events, want 1 (the cut stream is not reported)", n)
	}
	if ev.Status != 200 || ev.Failed() || ev.Answer != outcome.AnswerSent || ev.PromptTokens != 7 || ev.CompletionTokens != 3 || ev.TotalTokens != 10 {
		t.Errorf("closed at [DONE]: status %d failed %v answer %v usage %d/%d/%d", ev.Status, ev.Failed(), ev.Answer, ev.PromptTokens, ev.CompletionTokens, ev.TotalTokens)
	}
}
