package extproc

import (
	"testing"
	"time"

	datav3 "github.com/envoyproxy/go-control-plane/envoy/data/accesslog/v3"

	"github.com/llmgate/llmgate/internal/outcome"
)

// TestRespStreamErr (D82): the fast path's response side reads an
// OpenAI-format error event inside a 200 stream (Err), whatever the
// chunking, and passes the stream's bytes as it did; a chunk whose content
// or a nested object says "error" is no error.
func TestRespStreamErr(t *testing.T) {
	head := `data: {"id":"x","model":"up","choices":[{"delta":{"content":"\"error\": fine"}}],"usage":null}` + "\n\n" +
		`data: {"id":"x","model":"up","choices":[{"delta":{},"x":{"error":{"message":"nested"}}}],"usage":null}` + "\n\n"
	errEv := `data: {"error":{"message":"The server had an error processing your request.","type":"server_error","param":null,"code":null}}` + "\n\n"
	in := head + errEv
	p := &RespPlan{Stream: true, Usage: true, Entries: []RespEntry{{Model: "up"}}}
	for _, cut := range []int{1, 5, 40, len(in)} {
		st := p.NewRespStream(p.Entry(1))
		var out []byte
		for i := 0; i < len(in); i += cut {
			if st.Err != nil && i < len(head) {
				t.Fatalf("cut %d: an error before the error event (at %d)", cut, i)
			}
			c := []byte(in[i:min(i+cut, len(in))])
			o, changed := st.Write(c)
			if !changed {
				o = c
			}
			out = append(out, o...)
		}
		if st.Err == nil || st.Err.Message != "The server had an error processing your request." {
			t.Errorf("cut %d: Err = %+v", cut, st.Err)
		}
		if string(out) != in {
			t.Errorf("cut %d: bytes changed:\n%s", cut, out)
		}
	}
}

// TestOutcomeLogStreamError (D82): on the ext_proc fast path the Lua leaves
// a stream's error event in llmgate.usage "error"; the outcome log reports
// the try failed as LiteLLM counts it (500 InternalServerError; a rate-limit
// text 429 RateLimitError) even when the client closed at the error (DC),
// and an OpenAI-compatible deployment is not cooled down for it (the SDK's
// APIError has no status). Before D82 the try was a success.
func TestOutcomeLogStreamError(t *testing.T) {
	l := newOutcomeLog(t)
	st, ctx, plan := l.st, l.ctx, l.plan
	start := time.Now()
	dc := &datav3.ResponseFlags{DownstreamConnectionTermination: true}
	sendEntries(t, st, requestEntry("srv", start, 1, ctx, true, map[string]any{"prompt_tokens": 3,
		UsageErrorKey: `{"error":{"message":"The server had an error processing your request.","type":"server_error"}}`}),
		tryEntry("srv", plan[0], start.Add(time.Millisecond), 200, dc, nil))
	sendEntries(t, st, requestEntry("rl", start, 1, ctx, true, map[string]any{
		UsageErrorKey: `{"error":{"message":"Rate limit reached for requests","type":"requests"}}`}),
		tryEntry("rl", plan[0], start.Add(time.Millisecond), 200, nil, nil))
	evs := l.wait(t, 2)
	byStatus := map[int]outcome.Try{}
	for _, ev := range evs {
		byStatus[ev.Status] = ev
	}
	for status, class := range map[int]string{500: "InternalServerError", 429: "RateLimitError"} {
		ev, ok := byStatus[status]
		if !ok || !ev.Failed() || ev.ErrorClass != class || ev.Answer != outcome.AnswerSent || !ev.CooldownUntil.IsZero() {
			t.Errorf("status %d: %+v (want failed, %s, sent, no cooldown)", status, ev, class)
		}
	}
}
