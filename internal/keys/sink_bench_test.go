package keys

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/keystore"
	"github.com/llmgate/llmgate/internal/outcome"
	"github.com/llmgate/llmgate/internal/store"
)

// BenchmarkSpendSink is the spend sink's work for one answered request of a
// virtual key (D33): OnTry (tpm, the in-memory totals, the write-ahead
// file), with a batch written to the embedded store every 1,000 requests
// (the flush: seal, read the batch, add it to the store). It runs off the
// request path, on the outcome bus's goroutine, but on the gateway's CPU.
func BenchmarkSpendSink(b *testing.B) {
	ctx := context.Background()
	s, token, alias := benchSpendService(b, 1000)
	try := outcome.Try{CallID: "6f1c9f0e-3c1a-4a53-9c7e-0b9f3f0a1d2e", ModelGroup: "bench-gpt", RequestedModel: "bench-gpt",
		DeploymentID: "8c2115ae8c92", Model: "gpt-4o", Provider: "openai", Endpoint: "chat", Status: 200,
		PromptTokens: 20, CompletionTokens: 188, TotalTokens: 208, Cost: 0.00193, CostKnown: true,
		KeyHash: token, KeyAlias: alias, Start: time.Now(), Latency: time.Millisecond}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		s.OnTry(try)
		if n++; n%1000 == 0 {
			if err := s.flush(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	if got, _, _ := s.Lookup(token); got == nil {
		b.Fatal("the key is gone")
	}
}

// BenchmarkSpendSinkBatch is BenchmarkSpendSink with a distinct request id
// per answer (each writes a spend log, as at the bench's load) and a batch
// of 5,000 answers, about one second of make bench's keys target: OnTry and
// the batch's write to the embedded store, per answer (D96).
func BenchmarkSpendSinkBatch(b *testing.B) {
	benchSpendSinkBatch(b, 5000)
}

// BenchmarkSpendSinkBatch40k is BenchmarkSpendSinkBatch with batches of
// 40,000 answers: a 10 s batch (proxy_batch_write_at's default) at 4,000
// answers a second, the bench's keyed rate on a loaded host (D108).
func BenchmarkSpendSinkBatch40k(b *testing.B) {
	benchSpendSinkBatch(b, 40000)
}

func benchSpendSinkBatch(b *testing.B, batch int) {
	ctx := context.Background()
	s, token, alias := benchSpendService(b, 1)
	try := outcome.Try{ModelGroup: "bench-gpt", RequestedModel: "bench-gpt",
		DeploymentID: "8c2115ae8c92", Model: "gpt-4o", Provider: "openai", Endpoint: "chat", Status: 200,
		PromptTokens: 20, CompletionTokens: 188, TotalTokens: 208, Cost: 0.00193, CostKnown: true,
		KeyHash: token, KeyAlias: alias, Start: time.Now(), Latency: time.Millisecond}
	prefix := fmt.Sprintf("6f1c9f0e-3c1a-4a53-9c7e-%d-", time.Now().UnixNano())
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		try.CallID = prefix + strconv.Itoa(n)
		s.OnTry(try)
		if n++; n%batch == 0 {
			if err := s.flush(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// benchSpendService is a key service on the embedded store with n virtual
// keys for bench-gpt (closed at the benchmark's end); it returns the hash
// and alias of the key in the middle.
func benchSpendService(b *testing.B, n int) (s *Service, token, alias string) {
	b.Helper()
	ctx := context.Background()
	ks, err := keystore.OpenEmbedded(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	s, err = New(ctx, Options{Store: ks, Counters: store.NewMemory(nil), BatchWriteAt: time.Hour, CacheTTL: time.Hour,
		WALDir: b.TempDir(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close(); ks.Close() })
	for i := 0; i < n; i++ {
		alias := fmt.Sprintf("bench-%d", i)
		st, out := s.Handle(ctx, "POST", "/key/generate", fmt.Appendf(nil, `{"key_alias":%q,"models":["bench-gpt"],"max_budget":1000000}`, alias), Caller{Admin: true})
		if st != 200 {
			b.Fatalf("/key/generate: %d %s", st, out)
		}
		if i == n/2 {
			var m struct{ Key string }
			if err := json.Unmarshal(out, &m); err != nil {
				b.Fatal(err)
			}
			token = keystore.HashKey(m.Key)
		}
	}
	return s, token, fmt.Sprintf("bench-%d", n/2)
}
