package keystore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

// A batch of spend logs larger than one chunk (the bench's keyed load
// writes ≈ 40,000–80,000 per 10 s batch) is written in chunks from one kept
// buffer (D108): every log reads back, and the second batch allocates far
// less than the batch's encoded size (before, a buffer of 512 B per log was
// made for every batch above 8 MB).
func TestEmbeddedSpendLogChunks(t *testing.T) {
	s, err := OpenEmbedded(t.TempDir())
	must(t, err)
	defer s.Close()
	ctx := context.Background()
	const n = 20000 // 512 B × n = 10 MB: above the old kept size
	batch := func(b int) *Spend {
		sp := &Spend{BatchID: fmt.Sprintf("b%d", b), Keys: map[string]float64{"k": 1}, Logs: make([]SpendLog, n)}
		at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
		for i := range sp.Logs {
			sp.Logs[i] = SpendLog{RequestID: fmt.Sprintf("r%d-%d", b, i), CallType: "acompletion", APIKey: "k", Spend: 0.001,
				StartTime: at, EndTime: at, Model: "gpt-4o-mini", ModelGroup: "gpt", ModelID: "m1", Provider: "openai",
				RequestTags: []string{"User-Agent: OpenAI", "User-Agent: OpenAI/Go 3.96.0"}, Status: "success"}
		}
		return sp
	}
	must(t, s.AddSpend(ctx, batch(0)))
	writes := s.logWrites
	if writes < 2 {
		t.Fatalf("%d writes of spend logs for a %d-log batch, want it in chunks", writes, n)
	}
	second := batch(1)
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	must(t, s.AddSpend(ctx, second))
	runtime.ReadMemStats(&m1)
	if got := m1.TotalAlloc - m0.TotalAlloc; got > 2<<20 {
		t.Fatalf("second batch of %d logs allocated %d bytes, want the kept buffer reused (< 2 MB)", n, got)
	}
	if c := cap(s.logBuf); c == 0 || c > 2*logChunk {
		t.Fatalf("kept buffer of %d bytes, want 1..%d", c, 2*logChunk)
	}
	logs, err := s.SpendLogsWhere(ctx, SpendLogFilter{Token: "k", Limit: 3 * n})
	must(t, err)
	seen := map[string]bool{}
	for _, l := range logs {
		seen[l.RequestID] = true
	}
	for b := range 2 {
		for _, i := range []int{0, n / 2, n - 1} {
			if id := fmt.Sprintf("r%d-%d", b, i); !seen[id] {
				t.Fatalf("spend log %s not read back (%d logs)", id, len(logs))
			}
		}
	}
	if len(logs) != 2*n {
		t.Fatalf("%d spend logs read back, want %d", len(logs), 2*n)
	}
}

// A batch whose LogFile holds its spend logs as AppendSpendLog lines (the
// spend write-ahead file's, D155), among lines of no request id, is written
// by copying them: no log encoded again, every log read back as it was, in
// chunks as the encoded ones. A file whose logged lines are not len(Logs)
// (a write-ahead line lost) is not copied: the logs are encoded.
func TestEmbeddedSpendLogsCopiedFromLogFile(t *testing.T) {
	s, err := OpenEmbedded(t.TempDir())
	must(t, err)
	defer s.Close()
	ctx := context.Background()
	at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	const n = 5000 // ≈ 1.5 chunks
	batch := func(b int) (*Spend, []byte) {
		sp := &Spend{BatchID: fmt.Sprintf("b%d", b), Keys: map[string]float64{"k": 1}, Users: map[string]float64{}, Logs: make([]SpendLog, n)}
		var file []byte
		for i := range sp.Logs {
			sp.Logs[i] = SpendLog{RequestID: fmt.Sprintf("r%d-%d", b, i), CallType: "acompletion", APIKey: "k", Spend: 0.001,
				StartTime: at, EndTime: at, Model: "gpt-4o-mini", ModelGroup: "gpt", Provider: "openai", User: "u\"1",
				RequestTags: []string{"User-Agent: OpenAI/Go " + strings.Repeat("x", 200)}, Status: "success"}
			file = AppendSpendLog(file, &sp.Logs[i])
			if i%1000 == 0 { // the proxy budget's event: no spend log
				file = AppendSpendLog(file, &SpendLog{User: "litellm-proxy-budget", Spend: 0.001, Status: "success"})
			}
		}
		return sp, file
	}
	dir := t.TempDir()
	sp, file := batch(0)
	sp.LogFile = filepath.Join(dir, "spend-b0.sealed")
	must(t, os.WriteFile(sp.LogFile, file, 0o600))
	must(t, s.AddSpend(ctx, sp))
	if s.logEncodes != 0 || s.logWrites < 2 {
		t.Fatalf("%d logs encoded in %d writes, want none encoded (copied from the batch's file) in chunks", s.logEncodes, s.logWrites)
	}
	got, err := s.SpendLogsWhere(ctx, SpendLogFilter{Token: "k", Limit: 2 * n})
	must(t, err)
	if len(got) != n {
		t.Fatalf("%d logs read back, want %d", len(got), n)
	}
	byID := map[string]SpendLog{}
	for _, l := range got {
		byID[l.RequestID] = l
	}
	for _, l := range sp.Logs {
		if !reflect.DeepEqual(byID[l.RequestID], l) {
			t.Fatalf("log read back\n %+v\nwant\n %+v", byID[l.RequestID], l)
		}
	}
	short, file := batch(1)
	short.LogFile = filepath.Join(dir, "spend-b1.sealed")
	must(t, os.WriteFile(short.LogFile, file[:len(file)-10], 0o600)) // its last line torn: n-1 whole
	must(t, s.AddSpend(ctx, short))
	if s.logEncodes != n {
		t.Fatalf("%d logs encoded for a batch whose file lacks one, want %d", s.logEncodes, n)
	}
	got, err = s.SpendLogsWhere(ctx, SpendLogFilter{Token: "k", Limit: 3 * n})
	must(t, err)
	if len(got) != 2*n {
		t.Fatalf("%d logs after two batches, want %d", len(got), 2*n)
	}
}

// BenchmarkEmbeddedAddSpendLogs is a batch of 1,000 keyed spend logs
// written by the embedded store: encoded from Logs, or copied from the
// batch's write-ahead file (Spend.LogFile, D155). Per op: one batch.
func BenchmarkEmbeddedAddSpendLogs(b *testing.B) {
	for _, copied := range []bool{false, true} {
		b.Run(map[bool]string{false: "encoded", true: "copied"}[copied], func(b *testing.B) {
			s, err := OpenEmbedded(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			at := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
			sp := &Spend{Keys: map[string]float64{"k": 1}, Logs: make([]SpendLog, 1000)}
			var file []byte
			for i := range sp.Logs {
				sp.Logs[i] = SpendLog{RequestID: fmt.Sprintf("chatcmpl-6f1c9f0e-3c1a-4a53-9c7e-%012d", i), CallType: "acompletion",
					APIKey: "88d4266fd4e6338d13b845fcf289579d209c897823b9217da3e161936f031589", Spend: 0.0001875, TotalTokens: 50,
					PromptTokens: 30, CompletionTokens: 20, StartTime: at, EndTime: at.Add(time.Millisecond), Model: "gpt-4o-mini",
					ModelID: "dep-1", ModelGroup: "gpt", Provider: "openai", User: "user-1", RequestTags: []string{"User-Agent: OpenAI", "User-Agent: OpenAI/Go 3.1.0"}, Status: "success"}
				file = AppendSpendLog(file, &sp.Logs[i])
			}
			if copied {
				sp.LogFile = filepath.Join(b.TempDir(), "spend-b.sealed")
				if err := os.WriteFile(sp.LogFile, file, 0o600); err != nil {
					b.Fatal(err)
				}
			}
			ctx := context.Background()
			n := 0
			for b.Loop() {
				sp.BatchID = fmt.Sprint("b", n)
				n++
				if err := s.AddSpend(ctx, sp); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
