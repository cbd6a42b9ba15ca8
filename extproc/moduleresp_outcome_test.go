package extproc

import (
	"testing"
	"time"

	datav3 "github.com/envoyproxy/go-control-plane/envoy/data/accesslog/v3"
	alsv3 "github.com/envoyproxy/go-control-plane/envoy/service/accesslog/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/llmgate/llmgate/internal/outcome"
)

// sendRaw sends a StreamAccessLogsMessage written by AppendOutcomes, as the
// module sends it.
func sendRaw(t *testing.T, st alsv3.AccessLogService_StreamAccessLogsClient, b []byte) {
	t.Helper()
	var m emptypb.Empty
	m.ProtoReflect().SetUnknown(b)
	if err := st.SendMsg(&m); err != nil {
		t.Fatal(err)
	}
}

// TestModuleOutcomes (D54): the module's records, one per request, reach the
// access-log service as Envoy's entries would: a success the module alone
// reports (no per-try entry from Envoy) becomes the attempt filter's event
// with its usage, cost and provider headers; a connection failure Envoy logs
// plus the module's success on the next try are two events in order (the
// module's try last, its latency from the failed try's end); a request that
// is not fast is joined and left alone.
func TestModuleOutcomes(t *testing.T) {
	l := newOutcomeLog(t)
	st, plan, ctx := l.st, l.plan, l.ctxString()
	begin := time.Now()

	// The wire form reads back as Envoy's generated types.
	one := AppendOutcomes(nil, []ModuleOutcome{{RequestID: "req-1", Begin: begin, End: begin.Add(90 * time.Millisecond), Attempts: 1, Ctx: ctx, Fast: true,
		Usage:    RespUsage{Prompt: 11, HasPrompt: true, Completion: 7, HasCompletion: true, Total: 18, HasTotal: true, Model: "gpt-4o-2024-08-06", HasModel: true},
		Answered: true, Cluster: plan[0], Status: 200, FirstByte: begin.Add(30 * time.Millisecond), LastByte: begin.Add(80 * time.Millisecond),
		Headers: [][2]string{{"x-ratelimit-remaining-requests", "99"}}}})
	var msg alsv3.StreamAccessLogsMessage
	if err := proto.Unmarshal(one, &msg); err != nil {
		t.Fatal(err)
	}
	es := msg.GetHttpLogs().GetLogEntry()
	if len(es) != 2 || es[0].GetCommonProperties().GetAccessLogType() != datav3.AccessLogType_DownstreamEnd || es[0].GetRequest().GetRequestId() != "req-1" ||
		es[0].GetCommonProperties().GetUpstreamRequestAttemptCount() != 1 || es[1].GetCommonProperties().GetUpstreamCluster() != plan[0] ||
		es[1].GetResponse().GetResponseCode().GetValue() != 200 || es[1].GetResponse().GetResponseHeaders()["x-ratelimit-remaining-requests"] != "99" ||
		es[0].GetCommonProperties().GetMetadata().GetFilterMetadata()[UsageMetadataNamespace].GetFields()["prompt_tokens"].GetNumberValue() != 11 {
		t.Fatalf("entries: %v", es)
	}

	// 1. A success only the module reports.
	sendRaw(t, st, one)
	ev := l.wait(t, 1)[0]
	if ev.Status != 200 || ev.Answer != outcome.AnswerSent || ev.Attempt != 0 || ev.DeploymentID != plan[0][len("dep_"):] || ev.PromptTokens != 11 ||
		ev.TotalTokens != 18 || !ev.CostKnown || !ev.HasRemainingRequests || ev.RemainingRequests != 99 {
		t.Errorf("success: %+v", ev)
	}
	if ev.Latency <= 0 || ev.Latency > 80*time.Millisecond || ev.End.Sub(begin) != 80*time.Millisecond {
		t.Errorf("latency %v end %v after the start", ev.Latency, ev.End.Sub(begin))
	}

	// 2. Envoy logs the refused first try; the module brings the second.
	b2 := begin.Add(time.Second)
	sendRaw(t, st, AppendOutcomes(nil, []ModuleOutcome{{RequestID: "req-2", Begin: b2, End: b2.Add(200 * time.Millisecond), Attempts: 2, Ctx: ctx, Fast: true,
		Answered: true, Cluster: plan[1], Status: 200, FirstByte: b2.Add(150 * time.Millisecond), LastByte: b2.Add(180 * time.Millisecond)}}))
	sendEntries(t, st, tryEntry("req-2", plan[0], b2.Add(time.Millisecond), 0, &datav3.ResponseFlags{UpstreamConnectionFailure: true}, nil))
	evs := l.wait(t, 3)[1:]
	if evs[0].Status != 0 || evs[0].ErrorClass != "APIConnectionError" || evs[0].Attempt != 0 || evs[0].Answer != outcome.AnswerRetried {
		t.Errorf("refused: %+v", evs[0])
	}
	// The refused try ended 3 ms after the start: the success took 177 ms.
	if evs[1].Status != 200 || evs[1].Attempt != 1 || evs[1].Answer != outcome.AnswerSent || evs[1].DeploymentID != plan[1][len("dep_"):] ||
		evs[1].Latency != 177*time.Millisecond {
		t.Errorf("success after the refused try: attempt %d latency %v %+v", evs[1].Attempt, evs[1].Latency, evs[1])
	}

	// 3. Not fast: joined, nothing reported, nothing left waiting.
	b3 := begin.Add(2 * time.Second)
	sendRaw(t, st, AppendOutcomes(nil, []ModuleOutcome{{RequestID: "req-3", Begin: b3, End: b3.Add(time.Millisecond), Attempts: 1, Ctx: "-"}}))
	sendEntries(t, st, tryEntry("req-3", plan[0], b3.Add(time.Millisecond), 500, nil, nil))
	time.Sleep(100 * time.Millisecond)
	n := l.count()
	if n != 3 {
		t.Errorf("%d events, want 3", n)
	}
}
