package extproc

import (
	"testing"
	"time"

	"github.com/llmgate/llmgate/translator"
)

// TestModuleOutcomeStreamClass (D71): the module's record of a translated
// stream that failed inside (status 400) carries the translator's class, and
// the report takes it — a context-window error, as the attempt filter
// classifies the same stream — where a record without it is classified by
// its status alone (a bad request).
func TestModuleOutcomeStreamClass(t *testing.T) {
	l := newOutcomeLog(t)
	st, plan, ctx := l.st, l.plan, l.ctxString()
	begin := time.Now()
	rec := func(id string, class translator.ErrorClass) ModuleOutcome {
		return ModuleOutcome{RequestID: id, Begin: begin, End: begin.Add(50 * time.Millisecond), Attempts: 1, Ctx: ctx, Fast: true,
			Answered: true, Cluster: plan[0], Status: 400, Class: int(class), FirstByte: begin.Add(10 * time.Millisecond), LastByte: begin.Add(40 * time.Millisecond)}
	}
	sendRaw(t, st, AppendOutcomes(nil, []ModuleOutcome{rec("req-cw", translator.ErrContextWindow)}))
	ev := l.wait(t, 1)[0]
	if ev.Status != 400 || ev.ErrorClass != "ContextWindowExceededError" {
		t.Errorf("with the translator's class: status %d, class %q", ev.Status, ev.ErrorClass)
	}
	sendRaw(t, st, AppendOutcomes(nil, []ModuleOutcome{rec("req-bad", translator.ErrNone)}))
	ev = l.wait(t, 2)[1]
	if ev.Status != 400 || ev.ErrorClass != "BadRequestError" {
		t.Errorf("by the status: status %d, class %q", ev.Status, ev.ErrorClass)
	}
}
