package extproc

import (
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/outcome"
	"github.com/llmgate/llmgate/xds"
)

// observedRecordCases are observed first-try successes (D177): the spend
// record cases (every usage shape, odd nanoseconds, a first byte before the
// start), keyed and not, each with another set of the logged response
// headers — none, one, all three, a value whose length takes two varint
// bytes, UTF-8 and an empty value.
func observedRecordCases(t testing.TB, s *Server) []ModuleOutcome {
	t.Helper()
	keyed := spendRecordCases(t, s)
	plain, _ := moduleRecords(t, s, len(keyed), 700)
	headerSets := [][][2]string{
		nil,
		{{"x-ratelimit-remaining-requests", "99"}},
		{{"retry-after", "3"}, {"x-ratelimit-remaining-requests", "0"}, {"x-ratelimit-remaining-tokens", "149984"}},
		{{"x-ratelimit-remaining-tokens", strings.Repeat("7", 200)}},
		{{"retry-after", "é\u2028<&>"}, {"x-ratelimit-remaining-requests", ""}},
	}
	var out []ModuleOutcome
	for i, o := range append(keyed, plain...) {
		o.SpendOnly, o.Observed = false, true
		o.Headers = headerSets[i%len(headerSets)]
		if i >= len(keyed) {
			o.Usage = keyed[i-len(keyed)].Usage
			o.Begin, o.End, o.FirstByte, o.LastByte = keyed[i-len(keyed)].Begin, keyed[i-len(keyed)].End, keyed[i-len(keyed)].FirstByte, keyed[i-len(keyed)].LastByte
		}
		out = append(out, o)
	}
	return out
}

// intake is what the gateway reports of the module's messages: each read
// as readModule reads it, on a fresh server, the events published in order.
func intake(t *testing.T, msgs ...[]byte) []outcome.Try {
	t.Helper()
	s, bus, got := outcomeServer(t)
	a := &accessLogService{s: s, j: newJoiner()}
	for _, m := range msgs {
		a.readModule(m)
	}
	bus.Close()
	return *got
}

// TestObservedRecordSameAsEntries (D177): an observed first-try success sent
// as a compact record (the module's outbox writes one when the plan says
// Observed) is read as the same joined request as the join makes of the
// two entries AppendOutcomes writes for it — headers included — and the
// gateway publishes the same event, field for field; sent twice (a
// reconnect), it is reported once, as the entries are. The entries are the
// reference: the encoding every record had before.
func TestObservedRecordSameAsEntries(t *testing.T) {
	s, _, _ := outcomeServer(t)
	for i, o := range observedRecordCases(t, s) {
		entries := o
		entries.Observed = false
		sameJoined(t, i, entries, o, true)
		compact := appendSpendRecord(nil, &o)
		want := intake(t, AppendOutcomes(nil, []ModuleOutcome{entries}), AppendOutcomes(nil, []ModuleOutcome{entries}))
		got := intake(t, compact, compact)
		if len(want) != 1 || len(got) != 1 {
			t.Fatalf("record %d: %d events from the entries sent twice, %d from the compact record; want 1 each", i, len(want), len(got))
		}
		if !reflect.DeepEqual(got[0], want[0]) {
			t.Fatalf("record %d: compact record's event\n %+v\nentries'\n %+v", i, got[0], want[0])
		}
		if len(o.Headers) > 0 && o.Headers[0][0] == "x-ratelimit-remaining-requests" && o.Headers[0][1] == "99" && got[0].RemainingRequests != 99 {
			t.Fatalf("record %d: the event lost the provider's headers: %+v", i, got[0])
		}
	}
}

// TestModuleObservedPlan (D177): with the observability callbacks on (the
// bench's llmgate-observed config) a request the module serves has an
// Observed plan — its first-try success sent as a compact record — when the
// gateway takes them, not otherwise; without a callback the plan is quiet
// as before. The records' headers are the logged ones.
func TestModuleObservedPlan(t *testing.T) {
	observedCfg := typicalModuleConfig + "litellm_settings:\n  callbacks: [\"prometheus\"]\n"
	for _, tc := range []struct {
		what                  string
		yaml                  string
		compact, active       bool
		quiet, observed, spnd bool
	}{
		{"callbacks, compact records taken", observedCfg, true, true, false, true, false},
		{"callbacks, an older gateway", observedCfg, false, true, false, false, false},
		{"no callback", typicalModuleConfig, true, false, true, false, false},
	} {
		cfg, err := config.Parse([]byte(tc.yaml), "t.yaml", func(string) (string, bool) { return "", false })
		if err != nil {
			t.Fatal(err)
		}
		m := NewModuleFilter(cfg, "v1", ModuleConfig{OffPathOutcomes: true, Upstream: true, OutcomesActive: tc.active, CompactRecords: tc.compact}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		for _, body := range []string{`{"model":"gpt","messages":[{"role":"user","content":"hi"}]}`, `{"model":"gpt","messages":[],"stream":true}`} {
			for i := range 2 { // (the second from the plan cache)
				a, ok := m.Serve(moduleHeaders("sk-master"), []byte(body), time.Now())
				if !ok || a.Resp == nil {
					t.Fatalf("%s: not served on the fast path", tc.what)
				}
				if a.Resp.Quiet != tc.quiet || a.Resp.Observed != tc.observed || a.Resp.SpendOnly != tc.spnd {
					t.Errorf("%s, %s, request %d: quiet %v, observed %v, spend-only %v; want %v, %v, %v", tc.what, body, i,
						a.Resp.Quiet, a.Resp.Observed, a.Resp.SpendOnly, tc.quiet, tc.observed, tc.spnd)
				}
			}
		}
	}
	if len(xds.OutcomeResponseHeaders) != 3 {
		t.Errorf("the logged headers changed (%v): observedRecordCases covers three", xds.OutcomeResponseHeaders)
	}
}
