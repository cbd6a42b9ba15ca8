package extproc

import (
	"context"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	datav3 "github.com/envoyproxy/go-control-plane/envoy/data/accesslog/v3"
	alsv3 "github.com/envoyproxy/go-control-plane/envoy/service/accesslog/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/outcome"
)

var t0 = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func jtry(id, cluster string, startMs, status int) tryLog {
	return tryLog{requestID: id, cluster: cluster, start: t0.Add(time.Duration(startMs) * time.Millisecond), status: status, latency: 3 * time.Millisecond}
}

func jreq(id string, startMs, durMs, attempts int) requestLog {
	return requestLog{requestID: id, start: t0.Add(time.Duration(startMs) * time.Millisecond), duration: time.Duration(durMs) * time.Millisecond, attempts: attempts, ctx: "x", fast: true}
}

func clusters(j joined) []string {
	var out []string
	for _, t := range j.tries {
		out = append(out, t.cluster)
	}
	return out
}

func TestOutcomeLogJoin(t *testing.T) {
	now := t0.Add(time.Second)
	t.Run("tries first, out of order", func(t *testing.T) {
		j := newJoiner()
		if out := j.addTry(jtry("r1", "dep_b", 20, 200), now); out != nil {
			t.Fatalf("a try alone completed %v", out)
		}
		if out := j.addTry(jtry("r1", "dep_a", 5, 0), now); out != nil {
			t.Fatalf("two tries alone completed %v", out)
		}
		out := j.addRequest(jreq("r1", 0, 50, 2), now)
		if len(out) != 1 || out[0].req == nil || len(out[0].tries) != 2 {
			t.Fatalf("request with its 2 tries: %+v", out)
		}
		if got := clusters(out[0]); got[0] != "dep_a" || got[1] != "dep_b" {
			t.Fatalf("tries not in start order: %v", got)
		}
		if j.size() != 0 {
			t.Fatalf("%d joins left", j.size())
		}
	})
	t.Run("request first waits for its tries", func(t *testing.T) {
		j := newJoiner()
		if out := j.addRequest(jreq("r2", 0, 50, 2), now); out != nil {
			t.Fatalf("request without tries completed %v", out)
		}
		if out := j.addTry(jtry("r2", "dep_a", 1, 200), now); out != nil {
			t.Fatalf("completed with 1 of 2 tries: %v", out)
		}
		out := j.addTry(jtry("r2", "dep_b", 10, 200), now)
		if len(out) != 1 || len(out[0].tries) != 2 {
			t.Fatalf("got %+v", out)
		}
	})
	t.Run("a try that never comes", func(t *testing.T) {
		j := newJoiner()
		j.addRequest(jreq("r3", 0, 50, 2), now)
		j.addTry(jtry("r3", "dep_a", 1, 0), now)
		if out := j.sweep(now.Add(joinWaitForTries - time.Millisecond)); out != nil {
			t.Fatalf("given up before the wait: %v", out)
		}
		out := j.sweep(now.Add(joinWaitForTries))
		if len(out) != 1 || out[0].req == nil || len(out[0].tries) != 1 {
			t.Fatalf("after the wait: %+v", out)
		}
		if j.size() != 0 {
			t.Fatalf("%d joins left", j.size())
		}
	})
	t.Run("a request entry that never comes", func(t *testing.T) {
		j := newJoiner()
		j.addTry(jtry("r4", "dep_a", 1, 200), now)
		if out := j.sweep(now.Add(time.Minute)); out != nil {
			t.Fatalf("given up after a minute (a request may run longer): %v", out)
		}
		out := j.sweep(now.Add(joinWaitForRequest))
		if len(out) != 1 || out[0].req != nil || len(out[0].tries) != 1 {
			t.Fatalf("after the wait: %+v", out)
		}
		if j.size() != 0 || len(j.deadlines) != 0 {
			t.Fatalf("%d joins, %d deadlines left", j.size(), len(j.deadlines))
		}
	})
	t.Run("duplicates", func(t *testing.T) {
		j := newJoiner()
		a := jtry("r5", "dep_a", 1, 200)
		j.addTry(a, now)
		j.addTry(a, now)
		out := j.addRequest(jreq("r5", 0, 50, 2), now)
		if out != nil {
			t.Fatalf("a duplicated try counted as the second: %+v", out)
		}
		if out := j.addRequest(jreq("r5", 0, 50, 2), now); out != nil {
			t.Fatalf("a duplicated request entry: %+v", out)
		}
		out = j.addTry(jtry("r5", "dep_b", 9, 200), now)
		if len(out) != 1 || len(out[0].tries) != 2 {
			t.Fatalf("got %+v", out)
		}
		// Delivered again after the join ended: not counted again.
		if out := j.addTry(a, now); out != nil || j.size() != 0 {
			t.Fatalf("a late duplicate started a join: %v, %d", out, j.size())
		}
		// Forgotten after joinSeenFor.
		j.sweep(now.Add(2 * joinSeenFor))
		if len(j.seen) != 0 || len(j.seenQ) != 0 {
			t.Fatalf("duplicate memory not freed: %d", len(j.seen))
		}
	})
	t.Run("two requests with one id", func(t *testing.T) {
		j := newJoiner()
		j.addTry(jtry("same", "dep_a", 1, 200), now)
		j.addTry(jtry("same", "dep_b", 1001, 200), now)
		out := j.addRequest(jreq("same", 1000, 50, 1), now)
		if len(out) != 1 || len(out[0].tries) != 1 || out[0].tries[0].cluster != "dep_b" {
			t.Fatalf("second request: %+v", out)
		}
		out = j.addRequest(jreq("same", 0, 50, 1), now)
		if len(out) != 1 || len(out[0].tries) != 1 || out[0].tries[0].cluster != "dep_a" {
			t.Fatalf("first request: %+v", out)
		}
		if j.size() != 0 {
			t.Fatalf("%d joins left", j.size())
		}
	})
	t.Run("bounded", func(t *testing.T) {
		j := newJoiner()
		j.max = 3
		var given []joined
		for i, id := range []string{"a", "b", "c", "d", "e"} {
			given = append(given, j.addTry(jtry(id, "dep_a", i, 200), now.Add(time.Duration(i)*time.Millisecond))...)
		}
		if j.size() != 3 {
			t.Fatalf("%d joins waiting, bound 3", j.size())
		}
		if len(given) != 2 || given[0].tries[0].requestID != "a" || given[1].tries[0].requestID != "b" {
			t.Fatalf("the oldest are given up first: %+v", given)
		}
	})
	t.Run("no tries", func(t *testing.T) {
		j := newJoiner()
		out := j.addRequest(jreq("r6", 0, 1, 0), now)
		if len(out) != 1 || len(out[0].tries) != 0 || j.size() != 0 {
			t.Fatalf("a request Envoy never sent upstream: %+v, %d left", out, j.size())
		}
	})
}

// alsClient starts the server's gRPC services on a Unix socket and returns
// a stream as Envoy's logger opens it.
func alsClient(t *testing.T, s *Server) alsv3.AccessLogService_StreamAccessLogsClient {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "als.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	s.Register(g)
	go func() { _ = g.Serve(l) }()
	t.Cleanup(g.Stop)
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	st, err := alsv3.NewAccessLogServiceClient(conn).StreamAccessLogs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// plannedContext runs the request filter on the bench request and returns
// its llmgate.ctx metadata and the plan's clusters.
func plannedContext(t testing.TB, s *Server) (*structpb.Struct, []string) {
	t.Helper()
	rf := requestFilterStream()
	if err := s.Process(rf); err != nil {
		t.Fatal(err)
	}
	md := plannedMetadata(rf.sent)
	ctx := md.GetFields()[contract.ContextMetadataNamespace].GetStructValue()
	var cl []string
	for _, g := range md.GetFields()[contract.PlanMetadataNamespace].GetStructValue().GetFields()["priority_groups"].GetListValue().GetValues() {
		cl = append(cl, g.GetStructValue().GetFields()["clusters"].GetListValue().GetValues()[0].GetStructValue().GetFields()["cluster_name"].GetStringValue())
	}
	if ctx == nil || len(cl) < 2 {
		t.Fatalf("no context or a short plan: %v", md)
	}
	return ctx, cl
}

// tryEntry is a per-try entry as Envoy 1.40 sends it.
func tryEntry(id, cluster string, start time.Time, status uint32, flags *datav3.ResponseFlags, hdrs map[string]string) *datav3.HTTPAccessLogEntry {
	e := &datav3.HTTPAccessLogEntry{
		CommonProperties: &datav3.AccessLogCommon{
			AccessLogType:             datav3.AccessLogType_UpstreamEnd,
			UpstreamCluster:           cluster,
			StartTime:                 timestamppb.New(start),
			TimeToFirstUpstreamRxByte: durationpb.New(40 * time.Millisecond),
			TimeToLastUpstreamRxByte:  durationpb.New(50 * time.Millisecond),
			Duration:                  durationpb.New(51 * time.Millisecond),
			ResponseFlags:             flags,
		},
		Request:  &datav3.HTTPRequestProperties{RequestId: id},
		Response: &datav3.HTTPResponseProperties{ResponseHeaders: hdrs},
	}
	if status > 0 {
		e.Response.ResponseCode = wrapperspb.UInt32(status)
	}
	if flags != nil && status == 0 {
		e.CommonProperties.TimeToFirstUpstreamRxByte, e.CommonProperties.TimeToLastUpstreamRxByte = nil, nil
		e.CommonProperties.Duration = durationpb.New(2 * time.Millisecond)
	}
	return e
}

// requestEntry is a per-request entry: llmgate.ctx (with "fast") and llmgate.usage.
func requestEntry(id string, start time.Time, attempts uint32, ctx *structpb.Struct, fast bool, usage map[string]any) *datav3.HTTPAccessLogEntry {
	c := &structpb.Struct{Fields: map[string]*structpb.Value{}}
	for k, v := range ctx.GetFields() {
		c.Fields[k] = v
	}
	c.Fields[FastMetadataKey] = structpb.NewBoolValue(fast)
	md := &corev3.Metadata{FilterMetadata: map[string]*structpb.Struct{contract.ContextMetadataNamespace: c}}
	if usage != nil {
		u, _ := structpb.NewStruct(usage)
		md.FilterMetadata[UsageMetadataNamespace] = u
	}
	return &datav3.HTTPAccessLogEntry{
		CommonProperties: &datav3.AccessLogCommon{
			AccessLogType:               datav3.AccessLogType_DownstreamEnd,
			StartTime:                   timestamppb.New(start),
			Duration:                    durationpb.New(200 * time.Millisecond),
			UpstreamRequestAttemptCount: attempts,
			Metadata:                    md,
		},
		Request:  &datav3.HTTPRequestProperties{RequestId: id},
		Response: &datav3.HTTPResponseProperties{ResponseCode: wrapperspb.UInt32(200)},
	}
}

func sendEntries(t *testing.T, st alsv3.AccessLogService_StreamAccessLogsClient, es ...*datav3.HTTPAccessLogEntry) {
	t.Helper()
	err := st.Send(&alsv3.StreamAccessLogsMessage{
		Identifier: &alsv3.StreamAccessLogsMessage_Identifier{Node: &corev3.Node{Id: "test"}, LogName: "llmgate_outcomes"},
		LogEntries: &alsv3.StreamAccessLogsMessage_HttpLogs{HttpLogs: &alsv3.StreamAccessLogsMessage_HTTPAccessLogEntries{LogEntry: es}},
	})
	if err != nil {
		t.Fatal(err)
	}
}

// events waits for n events on the test sink.
func waitEvents(t *testing.T, mu *sync.Mutex, got *[]outcome.Try, n int) []outcome.Try {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		if len(*got) >= n {
			out := append([]outcome.Try(nil), *got...)
			mu.Unlock()
			return out
		}
		mu.Unlock()
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	t.Fatalf("%d events, want %d: %+v", len(*got), n, *got)
	return nil
}

// The tries of a fast request, as Envoy logs them, become the outcome events
// the attempt filter publishes for the tries it serves: identity from
// llmgate.ctx, the deployment from the cluster, the status and LiteLLM's
// exception name, tokens and cost from llmgate.usage, the attempt index from
// the order, whether the answer reached the client; and Router.Report sees
// them (a connection failure counts toward the cooldown).
func TestOutcomeLogReportsFastTries(t *testing.T) {
	l := newOutcomeLog(t)
	st, ctx, plan := l.st, l.ctx, l.plan
	start := time.Now()

	// 1. A success: its usage arrives with the request's entry, which Envoy
	// sent before the try's.
	sendEntries(t, st, requestEntry("req-1", start, 1, ctx, true, map[string]any{"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18, "model": "gpt-4o-2024-08-06"}))
	sendEntries(t, st, tryEntry("req-1", plan[0], start.Add(time.Millisecond), 200, &datav3.ResponseFlags{}, map[string]string{"x-ratelimit-remaining-requests": "99", "x-ratelimit-remaining-tokens": "9000"}))
	ev := l.wait(t, 1)[0]
	if ev.ModelGroup != "bench-gpt" || ev.RequestedModel != "bench-gpt" || ev.CallID == "" || ev.DeploymentID != plan[0][len("dep_"):] ||
		ev.Provider != "openai" || ev.Model != "gpt-4o" || ev.APIBase != "127.0.0.1:9" || ev.Endpoint != "chat" || ev.Route != "/v1/chat/completions" {
		t.Errorf("identity: %+v", ev)
	}
	if ev.Status != 200 || ev.ErrorClass != "" || ev.Failed() || ev.Answer != outcome.AnswerSent || ev.Attempt != 0 {
		t.Errorf("success: status %d class %q answer %v attempt %d", ev.Status, ev.ErrorClass, ev.Answer, ev.Attempt)
	}
	if ev.PromptTokens != 11 || ev.CompletionTokens != 7 || ev.TotalTokens != 18 || !ev.CostKnown || ev.Cost <= 0 {
		t.Errorf("usage %d/%d/%d cost %v %v", ev.PromptTokens, ev.CompletionTokens, ev.TotalTokens, ev.Cost, ev.CostKnown)
	}
	if ev.Latency != 50*time.Millisecond || ev.Start.IsZero() || !ev.HasRemainingRequests || ev.RemainingRequests != 99 || ev.RemainingTokens != 9000 {
		t.Errorf("latency %v start %v remaining %d/%d", ev.Latency, ev.Start, ev.RemainingRequests, ev.RemainingTokens)
	}

	// 2. Connection refused on the first try, a success on the second.
	// Four requests so: the deployment cools down after allowed_fails (3)
	// with the fourth, without any attempt filter.
	for i := 0; i < 4; i++ {
		id := "req-refused-" + string(rune('a'+i))
		b := start.Add(time.Duration(i+1) * time.Second)
		sendEntries(t, st,
			tryEntry(id, plan[1], b.Add(2*time.Millisecond), 200, &datav3.ResponseFlags{}, nil),
			tryEntry(id, plan[0], b.Add(time.Millisecond), 0, &datav3.ResponseFlags{UpstreamConnectionFailure: true}, nil),
			requestEntry(id, b, 2, ctx, true, nil))
	}
	evs := l.wait(t, 9)[1:]
	for i := 0; i < 4; i++ {
		f, ok := evs[2*i], evs[2*i+1]
		if f.Status != 0 || f.ErrorClass != "APIConnectionError" || !f.Failed() || f.Answer != outcome.AnswerRetried || f.Attempt != 0 || f.DeploymentID != plan[0][len("dep_"):] {
			t.Errorf("refused try %d: %+v", i, f)
		}
		if ok.Status != 200 || ok.Answer != outcome.AnswerSent || ok.Attempt != 1 || ok.DeploymentID != plan[1][len("dep_"):] {
			t.Errorf("retried success %d: %+v", i, ok)
		}
		if cooled := !f.CooldownUntil.IsZero(); cooled != (i == 3) {
			t.Errorf("refused try %d: cooldown until %v (allowed_fails 3: the 4th cools down)", i, f.CooldownUntil)
		}
	}

	// 3. Not ours: a request that is not fast (the attempt filter reported
	// every try), and a fast request's error response (the attempt filter
	// runs on errors).
	b := start.Add(10 * time.Second)
	sendEntries(t, st,
		tryEntry("req-full", plan[0], b.Add(time.Millisecond), 200, nil, nil),
		requestEntry("req-full", b, 1, ctx, false, nil),
		tryEntry("req-429", plan[0], b.Add(time.Millisecond), 429, nil, map[string]string{"retry-after": "1"}),
		tryEntry("req-429", plan[1], b.Add(3*time.Millisecond), 200, nil, nil),
		requestEntry("req-429", b, 2, ctx, true, nil))
	evs = l.wait(t, 10)
	time.Sleep(50 * time.Millisecond)
	n := l.count()
	if n != 10 || evs[9].Attempt != 1 || evs[9].Status != 200 || evs[9].Answer != outcome.AnswerSent {
		t.Fatalf("%d events (want 10: only the fast request's success after its 429), last %+v", n, evs[len(evs)-1])
	}
}

// A fast request whose per-try timeout fired: Timeout, as the attempt
// filter names it.
func TestOutcomeLogTimeout(t *testing.T) {
	s, _, _ := outcomeServer(t)
	ctx, plan := plannedContext(t, s)
	rc, err := decodeContext(ctx.GetFields()["ctx"].GetStringValue())
	if err != nil {
		t.Fatal(err)
	}
	st := s.State()
	d, ok := st.clusterDeployment(plan[0])
	if !ok {
		t.Fatalf("cluster %s has no deployment", plan[0])
	}
	tl := decodeOne(t, tryEntry("r", plan[0], t0, 0, &datav3.ResponseFlags{UpstreamRequestTimeout: true}, nil)).try
	lt := loggedTry{st: st, rc: rc, d: d, t: tl, attempt: attemptFor(rc, 0, d)}
	o := lt.outcome()
	ev := lt.event(o)
	if !o.Timeout || ev.ErrorClass != "Timeout" || ev.Status != 0 {
		t.Fatalf("timeout: %+v / %+v", o, ev)
	}
}

type decoded struct {
	try *tryLog
	req *requestLog
}

// decodeOne marshals a generated entry as Envoy sends it and reads it back
// with the wire reader.
func decodeOne(t *testing.T, e *datav3.HTTPAccessLogEntry) decoded {
	t.Helper()
	b, err := proto.Marshal(&alsv3.StreamAccessLogsMessage{
		Identifier: &alsv3.StreamAccessLogsMessage_Identifier{LogName: "x"},
		LogEntries: &alsv3.StreamAccessLogsMessage_HttpLogs{HttpLogs: &alsv3.StreamAccessLogsMessage_HTTPAccessLogEntries{LogEntry: []*datav3.HTTPAccessLogEntry{e}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var d decoded
	n := 0
	if err := decodeLogMessage(b, func(x tryLog) { d.try = &x; n++ }, func(x requestLog) { d.req = &x; n++ }); err != nil {
		t.Fatal(err)
	}
	if n > 1 {
		t.Fatalf("one entry read as %d", n)
	}
	return d
}

// The wire reader reads what the generated types say (every field the
// outcome uses), and skips the rest.
func TestOutcomeLogWire(t *testing.T) {
	start := time.Unix(1795862361, 123456789)
	d := decodeOne(t, tryEntry("id-1", "dep_a", start, 429, &datav3.ResponseFlags{}, map[string]string{"retry-after": "7", "x-ratelimit-remaining-tokens": "5"}))
	if d.try == nil || d.req != nil {
		t.Fatalf("a try read as %+v", d)
	}
	tr := d.try
	if tr.requestID != "id-1" || tr.cluster != "dep_a" || !tr.start.Equal(start) || tr.status != 429 || tr.failure != failNone ||
		tr.latency != 50*time.Millisecond || tr.firstByte != 40*time.Millisecond || tr.headers["retry-after"] != "7" || tr.headers["x-ratelimit-remaining-tokens"] != "5" {
		t.Errorf("try %+v", tr)
	}
	for flags, want := range map[*datav3.ResponseFlags]tryFailure{
		{UpstreamConnectionFailure: true}:       failConnect,
		{UpstreamOverflow: true}:                failConnect,
		{UpstreamRemoteReset: true}:             failReset,
		{UpstreamConnectionTermination: true}:   failReset,
		{UpstreamRequestTimeout: true}:          failTimeout,
		{DownstreamConnectionTermination: true}: failClient,
		{StreamIdleTimeout: true}:               failNone,
	} {
		d := decodeOne(t, tryEntry("id", "dep_a", start, 0, flags, nil))
		if d.try == nil || d.try.failure != want || d.try.status != 0 || d.try.latency != 2*time.Millisecond {
			t.Errorf("flags %v: %+v, want failure %d and the duration as latency", flags, d.try, want)
		}
	}
	ctx := &structpb.Struct{Fields: map[string]*structpb.Value{"ctx": structpb.NewStringValue("Y3R4"), "group": structpb.NewStringValue("g"),
		"fp": structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{"a": structpb.NewListValue(&structpb.ListValue{})}})}}
	d = decodeOne(t, requestEntry("id-2", start, 3, ctx, true, map[string]any{"prompt_tokens": 11, "completion_tokens": "7", "model": "gpt-4o-2024"}))
	if d.req == nil || d.try != nil {
		t.Fatalf("a request read as %+v", d)
	}
	r := d.req
	if r.requestID != "id-2" || !r.start.Equal(start) || r.duration != 200*time.Millisecond || r.attempts != 3 || r.ctx != "Y3R4" || !r.fast ||
		!r.usage.known || r.usage.promptTokens != 11 || r.usage.completionTokens != 7 || r.usage.model != "gpt-4o-2024" {
		t.Errorf("request %+v", r)
	}
	// Without a log type (an Envoy that does not name its entries): told
	// apart by the request context.
	e := requestEntry("id-3", start, 1, ctx, false, nil)
	e.CommonProperties.AccessLogType = datav3.AccessLogType_NotSet
	if d := decodeOne(t, e); d.req == nil || d.req.fast {
		t.Errorf("untyped request entry: %+v", d)
	}
	e = tryEntry("id-3", "dep_a", start, 200, nil, nil)
	e.CommonProperties.AccessLogType = datav3.AccessLogType_NotSet
	e.Request.RequestId, e.CommonProperties.StreamId = "", "stream-9"
	if d := decodeOne(t, e); d.try == nil || d.try.requestID != "stream-9" {
		t.Errorf("untyped try entry without x-request-id: %+v", d)
	}
	// Other entries (a periodic log, a request without context) are skipped.
	e = tryEntry("id-4", "dep_a", start, 200, nil, nil)
	e.CommonProperties.AccessLogType = datav3.AccessLogType_UpstreamPeriodic
	if d := decodeOne(t, e); d.try != nil || d.req != nil {
		t.Errorf("periodic entry read: %+v", d)
	}
	if err := decodeLogMessage([]byte{0x12, 0x05, 0x0a}, func(tryLog) {}, func(requestLog) {}); err == nil {
		t.Error("a truncated message was read without an error")
	}
}

// On drain the access-log streams end with OK (Envoy reopens its stream on
// another replica), and the entries already received are reported.
func TestOutcomeLogEndsOnDrain(t *testing.T) {
	l := newOutcomeLog(t)
	s, st, ctx, plan := l.s, l.st, l.ctx, l.plan
	start := time.Now()
	sendEntries(t, st, tryEntry("d-1", plan[0], start.Add(time.Millisecond), 200, nil, nil), requestEntry("d-1", start, 1, ctx, true, nil))
	l.wait(t, 1)
	s.EndAccessLogs()
	done := make(chan error, 1)
	go func() { _, err := st.CloseAndRecv(); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("stream ended with %v, want OK", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the access-log stream did not end on drain")
	}
	s.EndAccessLogs() // twice: harmless
}
