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
		if err := w.append(&SpendEvent{RequestID: fmt.Sprint("r", i), KeyToken: "k", Cost: 0.5}); err != nil {
			t.Fatal(err)
		}
	}
	_, path, err := w.seal()
	if err != nil || path == "" {
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
	ev := func(n int) *SpendEvent {
		return &SpendEvent{RequestID: fmt.Sprintf("r%06d", n), KeyToken: "k", Cost: 0.5}
	}
	line := len(appendEvent(nil, ev(0)))
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
