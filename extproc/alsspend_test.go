package extproc

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/callbacks"
	"github.com/llmgate/llmgate/internal/keys"
	"github.com/llmgate/llmgate/internal/keystore"
	"github.com/llmgate/llmgate/internal/outcome"
	"github.com/llmgate/llmgate/internal/store"
)

// spendRecordCases are keyed first-try successes with every usage shape the
// module reads (all numbers, some, none; the model and finish reason), a
// start with odd nanoseconds, a first byte before the start (clamped as
// the entries' durations are).
func spendRecordCases(t testing.TB, s *Server) []ModuleOutcome {
	t.Helper()
	recs, _ := moduleRecords(t, s, 6, 500)
	rc, err := decodeContext(recs[0].Ctx)
	if err != nil {
		t.Fatal(err)
	}
	rc.KeyHash, rc.KeyAlias, rc.TeamId, rc.UserId, rc.EndUser = "88d4266fd4e6338d13b845fcf289579d209c897823b9217da3e161936f031589", "alias", "team-1", "user-1", "cust-1"
	rc.Tags, rc.UserAgent = []string{"a", "b"}, "OpenAI/Python 1.50.0"
	keyed, err := encodeContext(rc)
	if err != nil {
		t.Fatal(err)
	}
	begin := time.Unix(1_790_000_000, 123_456_789)
	usages := []RespUsage{
		{Prompt: 10, HasPrompt: true, Completion: 5, HasCompletion: true, Total: 15, HasTotal: true, Model: "gpt-4o-2024", HasModel: true, Finish: "stop"},
		{Prompt: 7, HasPrompt: true},
		{Completion: 1 << 40, HasCompletion: true, Total: -3, HasTotal: true},
		{Total: 12, HasTotal: true, Finish: "content_filter"},
		{},
		{Prompt: 3000, HasPrompt: true, Completion: 4, HasCompletion: true, Cached: 1024, HasCached: true},
	}
	for i := range recs {
		r := &recs[i]
		r.Ctx, r.Usage, r.SpendOnly = keyed, usages[i], true
		r.Begin, r.End = begin, begin.Add(9*time.Millisecond)
		r.FirstByte, r.LastByte = begin.Add(3*time.Millisecond+7), begin.Add(8*time.Millisecond)
		begin = begin.Add(time.Second + 1)
	}
	recs[4].FirstByte = recs[4].Begin.Add(-time.Millisecond)
	return recs
}

// A compact spend record is read as the same joined request (its entry and
// its one try) as the join makes of the entries AppendOutcomes writes for
// the same outcome, and reported as the same event.
func TestSpendRecordSameAsEntries(t *testing.T) {
	s, _, got := outcomeServer(t)
	st := s.state.Load()
	for i, o := range spendRecordCases(t, s) {
		req, tries, j := sameJoined(t, i, o, o, false)
		*got = nil
		s.reportLogged(st, joined{req: req, tries: tries})
		s.Outcomes.Close()
		s.Outcomes = nil
		var direct []outcome.Try
		s.reportJoined(st, j, &direct)
		if len(*got) != 1 || len(direct) != 1 {
			t.Fatalf("record %d: %d events published, %d direct; want 1 each", i, len(*got), len(direct))
		}
		if !reflect.DeepEqual((*got)[0], direct[0]) {
			t.Fatalf("record %d: direct event\n %+v\npublished\n %+v", i, direct[0], (*got)[0])
		}
		if direct[0].KeyHash == "" || direct[0].EndUser != "cust-1" {
			t.Fatalf("record %d: the event lost the key: %+v", i, direct[0])
		}
		s, _, got = outcomeServer(t)
		st = s.state.Load()
	}
}

// A compact record is read without allocating (D176: its entry and try in
// spendRecords' scratch, its id and context views of the message, the
// cluster, model and finish reason from ctxString's cache); the event
// reported from it keeps nothing of the message's bytes: the bytes written
// over after the report leave the event as it was.
func TestSpendRecordReadInPlace(t *testing.T) {
	s, _, _ := outcomeServer(t)
	st := s.state.Load()
	o := spendRecordCases(t, s)[0]
	b := appendSpendRecord(nil, &o)
	_, _, n := protowire.ConsumeTag(b)
	body, _ := protowire.ConsumeBytes(b[n:])
	var sc spendScratch
	if _, _, ok := readSpendRecordInto(body, &sc); !ok {
		t.Fatal("the record does not read")
	}
	if allocs := testing.AllocsPerRun(100, func() { readSpendRecordInto(body, &sc) }); allocs != 0 {
		t.Errorf("reading a compact record allocated %.0f times, want 0", allocs)
	}
	want := func() outcome.Try {
		var direct []outcome.Try
		j, _, _ := readSpendRecord(append([]byte(nil), body...))
		s.reportJoined(st, j, &direct)
		if len(direct) != 1 {
			t.Fatalf("%d events, want 1", len(direct))
		}
		return direct[0]
	}()
	mine := append([]byte(nil), body...)
	j, _, _ := readSpendRecordInto(mine, &sc)
	var direct []outcome.Try
	s.reportJoined(st, j, &direct)
	for i := range mine {
		mine[i] = 'x'
	}
	if len(direct) != 1 || !reflect.DeepEqual(direct[0], want) {
		t.Fatalf("the event changed with the record's bytes:\n %+v\nwant\n %+v", direct, want)
	}
	if want.KeyHash == "" || want.CallID == "" || want.Provider == "" {
		t.Fatalf("the event lacks what this test compares: %+v", want)
	}
}

// sameJoined reads the entries AppendOutcomes writes for entries and the
// compact record appendSpendRecord writes for compact (the same outcome,
// perhaps marked observed), and checks that the compact record reads as
// the same joined request — the request and its one try — and is marked
// observed as want says.
func sameJoined(t *testing.T, i int, entries, compact ModuleOutcome, observed bool) (*requestLog, []tryLog, joined) {
	t.Helper()
	var req *requestLog
	var tries []tryLog
	if err := decodeLogMessage(AppendOutcomes(nil, []ModuleOutcome{entries}), func(t tryLog) { tries = append(tries, t) }, func(r requestLog) { req = &r }); err != nil || req == nil || len(tries) != 1 {
		t.Fatalf("record %d: the entries read %v, %v, %v", i, err, req, tries)
	}
	req.duration = 0 // (the join's split reads it; a joined request's report does not)
	var recs [][]byte
	_ = wireFields(appendSpendRecord(nil, &compact), func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
		if num == wireSpendRecord && typ == protowire.BytesType {
			recs = append(recs, v)
		}
		return nil
	})
	if len(recs) != 1 {
		t.Fatalf("record %d: %d compact records written, want 1", i, len(recs))
	}
	j, obs, ok := readSpendRecord(recs[0])
	if !ok || obs != observed {
		t.Fatalf("record %d: the compact record reads %v, observed %v (want %v)", i, ok, obs, observed)
	}
	if !reflect.DeepEqual(j.req, req) || !reflect.DeepEqual(j.tries, tries) {
		t.Fatalf("record %d: compact\n %+v %+v\nentries\n %+v %+v", i, *j.req, j.tries, *req, tries)
	}
	return req, tries, j
}

// A cut or incomplete compact record is refused, not reported half.
func TestSpendRecordRefused(t *testing.T) {
	s, _, _ := outcomeServer(t)
	o := spendRecordCases(t, s)[0]
	b := appendSpendRecord(nil, &o)
	_, _, n := protowire.ConsumeTag(b)
	body, _ := protowire.ConsumeBytes(b[n:])
	if _, _, ok := readSpendRecord(body[:len(body)-3]); ok {
		t.Error("a cut record read")
	}
	for _, missing := range []ModuleOutcome{{RequestID: "", Ctx: o.Ctx, Cluster: o.Cluster}, {RequestID: "r", Ctx: "", Cluster: o.Cluster}, {RequestID: "r", Ctx: o.Ctx}} {
		b := appendSpendRecord(nil, &missing)
		_, _, n := protowire.ConsumeTag(b)
		body, _ := protowire.ConsumeBytes(b[n:])
		if _, _, ok := readSpendRecord(body); ok {
			t.Errorf("a record without its id, context or cluster read: %+v", missing)
		}
	}
}

// Over the outbox's stream, compact records reach the spend sink once each
// and are acknowledged; the file copy keeps them for a gateway that was
// gone, which replays them once (D63 for compact records).
func TestSpendRecordsThroughOutbox(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "gw.sock")
	a := startOutboxGateway(t, sock)
	recs := spendRecordCases(t, a.s)
	b := newOutbox(sock, func(string) {}, OutboxMax, 5*time.Millisecond)
	ctx := t.Context()
	go b.ship(ctx)
	for _, r := range recs {
		b.Put(r)
	}
	waitFor(t, "the compact records acknowledged", func() bool { return b.held.Load() == 0 })
	if n := a.s.Outcomes.Mark(keys.SpendSink); n != uint64(len(recs)) {
		t.Errorf("the spend sink got %d events for %d compact records", n, len(recs))
	}
}

// TestModuleSpendPlan (D145): a keyed request the module serves is sent as
// a compact spend record when the gateway says the spend sink is its bus's
// only sink, not otherwise; the master key's is quiet as before; an end
// user's spend counts as a key's.
func TestModuleSpendPlan(t *testing.T) {
	for _, only := range []bool{true, false} {
		svc, _, _, view := moduleKeysSetup(t)
		cfg, err := config.Parse([]byte(typicalModuleConfig), "t.yaml", func(string) (string, bool) { return "", false })
		if err != nil {
			t.Fatal(err)
		}
		m := NewModuleFilter(cfg, "v1", ModuleConfig{OffPathOutcomes: true, Upstream: true, SpendRecords: only}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		m.UseKeys(view)
		key := mgmt(t, svc, "/key/generate", `{"models":["gpt"],"user_id":"u1"}`)["key"].(string)
		push(t, svc, view)
		for _, tc := range []struct {
			what, key, body    string
			quiet, spendRecord bool
		}{
			{"key", key, `{"model":"gpt","messages":[{"role":"user","content":"hi"}]}`, false, only},
			{"key, stream", key, `{"model":"gpt","messages":[],"stream":true}`, false, only},
			{"master key", "sk-master", `{"model":"gpt","messages":[]}`, true, false},
			{"master key, end user", "sk-master", `{"model":"gpt","messages":[],"user":"e1"}`, false, only},
		} {
			for i := range 2 { // (the second from the plan cache)
				a, ok := m.Serve(moduleHeaders(tc.key), []byte(tc.body), time.Now())
				if !ok || a.Resp == nil {
					t.Fatalf("%s: not served on the fast path", tc.what)
				}
				if a.Resp.Quiet != tc.quiet || a.Resp.SpendOnly != tc.spendRecord {
					t.Errorf("spend sink only %v, %s, request %d: quiet %v, spend record %v; want %v, %v", only, tc.what, i, a.Resp.Quiet, a.Resp.SpendOnly, tc.quiet, tc.spendRecord)
				}
			}
		}
	}
}

// TestSpendRecordsDirectBesideKeyedCallbacks (D155): with virtual keys the
// logging callbacks' sink is on the bus, keyed (D64); the compact records
// of a key whose metadata names no callback go to the spend sink directly
// (their spend recorded when spendRecords returns, nothing on the bus), a
// key's that names one are published and reach that sink.
func TestSpendRecordsDirectBesideKeyedCallbacks(t *testing.T) {
	cfg, err := config.Parse([]byte(benchConfig), "bench.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ks, err := keystore.OpenEmbedded(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	svc, err := keys.New(context.Background(), keys.Options{Store: ks, Counters: store.NewMemory(nil), Log: log, WALDir: t.TempDir(), BatchWriteAt: time.Hour, CacheTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = svc.Close(); _ = ks.Close() })
	s := NewServer(NewState(cfg, store.NewMemory(nil), "test", log).WithKeys(svc), log)
	s.Outcomes = outcome.NewBus()
	fn, end := svc.GroupedSink()
	s.Outcomes.RegisterGrouped(keys.SpendSink, keys.SinkQueue, fn, end)
	cb := callbacks.New(log)
	cb.Configure(callbacks.Settings{Metadata: svc.LoggingMetadata})
	var mu sync.Mutex
	seen := map[string]int{} // key hash → events the callbacks' sink got
	s.Outcomes.RegisterKeyed("callbacks", 0, func(e outcome.Try) {
		mu.Lock()
		seen[e.KeyHash]++
		mu.Unlock()
	}, cb.WantsSuccess)
	quiet := keystore.HashKey(mgmt(t, svc, "/key/generate", `{}`)["key"].(string))
	named := keystore.HashKey(mgmt(t, svc, "/key/generate", `{"metadata":{"logging":[{"callback_name":"langfuse","callback_type":"success"}]}}`)["key"].(string))
	recs := spendRecordCases(t, s)
	var bodies [][]byte
	for i := range recs {
		rc, err := decodeContext(recs[i].Ctx)
		if err != nil {
			t.Fatal(err)
		}
		rc.KeyHash, rc.TeamId, rc.CallId = quiet, "", fmt.Sprint("call-", i)
		if i%2 == 1 {
			rc.KeyHash = named
		}
		if recs[i].Ctx, err = encodeContext(rc); err != nil {
			t.Fatal(err)
		}
		recs[i].RequestID = fmt.Sprint("req-", i)
		b := appendSpendRecord(nil, &recs[i])
		_, _, n := protowire.ConsumeTag(b)
		body, _ := protowire.ConsumeBytes(b[n:])
		bodies = append(bodies, body)
	}
	a := &accessLogService{s: s, j: newJoiner()}
	a.spendRecords(bodies)
	if _, spend, _ := svc.Lookup(quiet); spend <= 0 {
		t.Errorf("the quiet key's spend %v when its records were taken: not handed to the spend sink directly", spend)
	}
	if n := s.Outcomes.Mark(keys.SpendSink); n != 3 {
		t.Errorf("%d events published for the spend sink, want 3 (the named key's)", n)
	}
	s.Outcomes.Close() // (waits for the sinks)
	mu.Lock()
	defer mu.Unlock()
	if seen[quiet] != 0 || seen[named] != 3 {
		t.Errorf("the callbacks' sink got %d events of a key naming no callback (want 0) and %d of one naming langfuse (want 3)", seen[quiet], seen[named])
	}
	if _, spend, _ := svc.Lookup(named); spend <= 0 {
		t.Errorf("the named key's spend %v: its records did not reach the spend sink over the bus", spend)
	}
}
