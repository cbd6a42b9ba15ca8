package keys

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/keystore"
	"github.com/llmgate/llmgate/internal/outcome"
	"github.com/llmgate/llmgate/internal/store"
)

// D80: the grouped spend sink holds the write-ahead lines of a group of
// events and writes them with one write(2) at the group's end; the lines are
// in the file after the end hook (what the bus waits for before it counts
// the events consumed), so a process killed then loses none of them.
func TestWriteAheadGroupedOneWrite(t *testing.T) {
	ks := embedded(t)
	dir := t.TempDir()
	first := newService(t, ks, dir)
	tok := keystore.HashKey(generate(t, first, `{}`))
	fn, end := first.GroupedSink()
	const n = 50
	for i := 0; i < n; i++ {
		fn(outcome.Try{CallID: fmt.Sprint("req-", i), KeyHash: tok, ModelGroup: "m", Status: 200, Cost: 0.01, CostKnown: true})
	}
	if _, spend, _ := first.Lookup(tok); spend < n*0.01-1e-9 {
		t.Fatalf("spend in memory %v before the group's end: the checks must see it at once", spend)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, walName)); len(b) != 0 || first.wal.writes != 0 {
		t.Fatalf("%d bytes in %d writes before the group's end: the lines should be held", len(b), first.wal.writes)
	}
	end()
	b, _ := os.ReadFile(filepath.Join(dir, walName))
	if lines := bytes.Count(b, []byte("\n")); lines != n || first.wal.writes != 1 {
		t.Fatalf("after the end hook: %d lines in %d writes, want %d lines in 1 write", lines, first.wal.writes, n)
	}
	// first is abandoned (killed) after the end hook: everything is recovered.
	second := newService(t, ks, dir)
	defer second.Close()
	if _, spend, _ := second.Lookup(tok); spend < n*0.01-1e-9 || spend > n*0.01+1e-9 {
		t.Fatalf("spend after restart %v, want %v", spend, n*0.01)
	}
}

// A seal writes the lines held in memory before it renames the file: the
// sealed batch holds every event folded into it.
func TestWriteAheadSealWritesHeldLines(t *testing.T) {
	w, err := openWAL(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	w.grouped = true
	for i := 0; i < 3; i++ {
		l := spendLogOf(&SpendEvent{RequestID: fmt.Sprint("r", i), KeyToken: "k", Cost: 0.5})
		if err := w.append(&l); err != nil {
			t.Fatal(err)
		}
	}
	_, path, whole, err := w.seal()
	if err != nil || path == "" || !whole {
		t.Fatalf("seal: %q %v", path, err)
	}
	b, _ := os.ReadFile(path)
	if lines := bytes.Count(b, []byte("\n")); lines != 3 {
		t.Fatalf("sealed batch has %d lines, want the 3 held", lines)
	}
	batches, err := w.sealedBatches(false, nil, &recentIDs{})
	if err != nil || len(batches) != 1 || batches[0].spend.Keys["k"] != 1.5 {
		t.Fatalf("sealed batches %v %v: want one with 1.5 on k", batches, err)
	}
}

// Held lines beyond walHoldMax are written without waiting for the end hook.
func TestWriteAheadHoldBounded(t *testing.T) {
	dir := t.TempDir()
	w, err := openWAL(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	w.grouped = true
	ev := func(n int) *keystore.SpendLog {
		l := spendLogOf(&SpendEvent{RequestID: fmt.Sprintf("r%06d", n), KeyToken: "k", Cost: 0.5})
		return &l
	}
	line := len(keystore.AppendSpendLog(nil, ev(0)))
	n := 0
	for w.writes == 0 && n < 100000 {
		_ = w.append(ev(n))
		n++
	}
	if n*line < walHoldMax || (n-1)*line >= walHoldMax || len(w.held) != 0 {
		t.Fatalf("first write after %d lines of %d bytes, %d bytes still held: want it once %d bytes are held", n, line, len(w.held), walHoldMax)
	}
	if st, _ := os.Stat(filepath.Join(dir, walName)); st.Size() != int64(n*line) {
		t.Fatalf("file has %d bytes, want %d", st.Size(), n*line)
	}
}

// BenchmarkSpendSinkGrouped is BenchmarkSpendSink's event through the
// grouped sink (D80), the end hook after every group of 1 (one write(2) per
// event, as before D80) or 8 events.
func BenchmarkSpendSinkGrouped(b *testing.B) {
	for _, g := range []int{1, 8} {
		b.Run(fmt.Sprint("group=", g), func(b *testing.B) {
			ks, err := keystore.OpenEmbedded(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer ks.Close()
			s, err := New(context.Background(), Options{Store: ks, Counters: store.NewMemory(nil), BatchWriteAt: time.Hour, CacheTTL: time.Hour,
				WALDir: b.TempDir(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			st, out := s.Handle(context.Background(), "POST", "/key/generate", []byte(`{"models":["bench-gpt"],"max_budget":1000000}`), Caller{Admin: true})
			if st != 200 {
				b.Fatalf("/key/generate: %d %s", st, out)
			}
			var m struct{ Key string }
			_ = json.Unmarshal(out, &m)
			try := outcome.Try{CallID: "6f1c9f0e-3c1a-4a53-9c7e-0b9f3f0a1d2e", ModelGroup: "bench-gpt", DeploymentID: "8c2115ae8c92",
				Model: "gpt-4o", Provider: "openai", Endpoint: "chat", Status: 200, PromptTokens: 20, CompletionTokens: 188,
				TotalTokens: 208, Cost: 0.00193, CostKnown: true, KeyHash: keystore.HashKey(m.Key), Start: time.Now(), Latency: time.Millisecond}
			fn, end := s.GroupedSink()
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				fn(try)
				if n++; n%g == 0 {
					end()
				}
				if n%1000 == 0 {
					if err := s.flush(context.Background()); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// loggedSpendStore keeps the batches AddSpend was given, with the spend log
// lines of their LogFile as AddSpend found it.
type loggedSpendStore struct {
	keystore.Store
	batches []*keystore.Spend
	lines   [][]byte // the LogFile's lines with a request id
	encoded [][]byte // the batch's Logs as the store would encode them
	logs    []int
}

func (h *loggedSpendStore) AddSpend(ctx context.Context, b *keystore.Spend) error {
	var logged []byte
	if b.LogFile != "" {
		f, err := os.ReadFile(b.LogFile)
		if err != nil {
			return err
		}
		for _, l := range bytes.SplitAfter(f, []byte("\n")) {
			if len(l) > 0 && !bytes.HasPrefix(l, []byte(`{"request_id":"",`)) {
				logged = append(logged, l...)
			}
		}
	}
	var enc []byte
	for i := range b.Logs {
		enc = keystore.AppendSpendLog(enc, &b.Logs[i])
	}
	h.batches, h.lines, h.encoded, h.logs = append(h.batches, b), append(h.lines, logged), append(h.encoded, enc), append(h.logs, len(b.Logs))
	return h.Store.AddSpend(ctx, b)
}

// TestSpendLogsEncodedOnce (D155): the batch a service hands its store names
// its sealed write-ahead file (Spend.LogFile), whose lines with a request id
// are byte for byte the batch's spend logs as the store would encode them,
// in order, among the proxy budget's lines; the store's logs read back as
// the events'. Without spend logs, or without the write-ahead file, none.
func TestSpendLogsEncodedOnce(t *testing.T) {
	ctx := context.Background()
	h := &loggedSpendStore{Store: embedded(t)}
	s := newService(t, h, t.TempDir())
	defer s.Close()
	must(t, s.SetProxyBudget(ctx, ptr(100.0), ""))
	key := generate(t, s, `{}`)
	tok := keystore.HashKey(key)
	for i := range 4 {
		s.OnTry(outcome.Try{CallID: fmt.Sprint("chatcmpl-", i), KeyHash: tok, ModelGroup: "m", Model: "gpt-4o", Provider: "openai",
			Status: 200, Start: clock, Latency: time.Second, PromptTokens: 10 * i, CompletionTokens: 3, TotalTokens: 10*i + 3,
			Cost: 0.25, CostKnown: true, UserAgent: "OpenAI/Go 3.1", Endpoint: "chat"})
	}
	must(t, s.flush(ctx))
	if len(h.batches) != 1 {
		t.Fatalf("%d batches written, want 1", len(h.batches))
	}
	if b := h.batches[0]; b.LogFile == "" || h.logs[0] != 4 {
		t.Fatalf("batch of %d logs with log file %q: want 4, named", h.logs[0], b.LogFile)
	}
	if !bytes.Equal(h.lines[0], h.encoded[0]) {
		t.Fatalf("the log file's spend log lines\n%s\nwant\n%s", h.lines[0], h.encoded[0])
	}
	logs, err := h.Store.SpendLogs(ctx, tok, 10)
	must(t, err)
	if len(logs) != 4 || logs[0].Spend != 0.25 || logs[0].RequestTags[0] != "User-Agent: OpenAI" {
		t.Fatalf("stored logs %+v", logs)
	}
	if _, spend, _ := s.Lookup(tok); spend != 1 {
		t.Fatalf("key spend %v, want 1", spend)
	}
	// Without spend logs the file is not named.
	s2, err := New(ctx, Options{Store: h, BatchWriteAt: time.Hour, CacheTTL: time.Hour, WALDir: t.TempDir(), DisableSpendLogs: true, Now: func() time.Time { return clock }})
	must(t, err)
	defer s2.Close()
	s2.Record(SpendEvent{RequestID: "r-nolog", KeyToken: tok, Cost: 0.5})
	must(t, s2.flush(ctx))
	if n := len(h.batches) - 1; h.batches[n].LogFile != "" || h.logs[n] != 0 {
		t.Fatalf("disable_spend_logs: batch with %d logs, log file %q", h.logs[n], h.batches[n].LogFile)
	}
}
