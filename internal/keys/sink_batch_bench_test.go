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

// BenchmarkSpendSinkBatch is BenchmarkSpendSink with a distinct request id
// per answer (each writes a spend log, as at the bench's load) and a batch
// of 5,000 answers, about one second of make bench's keys target: OnTry and
// the batch's write to the embedded store, per answer (D96).
func BenchmarkSpendSinkBatch(b *testing.B) {
	ctx := context.Background()
	ks, err := keystore.OpenEmbedded(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer ks.Close()
	s, err := New(ctx, Options{Store: ks, Counters: store.NewMemory(nil), BatchWriteAt: time.Hour, CacheTTL: time.Hour,
		WALDir: b.TempDir(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	st, out := s.Handle(ctx, "POST", "/key/generate", []byte(`{"key_alias":"bench","models":["bench-gpt"],"max_budget":1000000}`), Caller{Admin: true})
	if st != 200 {
		b.Fatalf("/key/generate: %d %s", st, out)
	}
	var m struct{ Key string }
	if err := json.Unmarshal(out, &m); err != nil {
		b.Fatal(err)
	}
	try := outcome.Try{ModelGroup: "bench-gpt", RequestedModel: "bench-gpt",
		DeploymentID: "8c2115ae8c92", Model: "gpt-4o", Provider: "openai", Endpoint: "chat", Status: 200,
		PromptTokens: 20, CompletionTokens: 188, TotalTokens: 208, Cost: 0.00193, CostKnown: true,
		KeyHash: keystore.HashKey(m.Key), KeyAlias: "bench", Start: time.Now(), Latency: time.Millisecond}
	prefix := fmt.Sprintf("6f1c9f0e-3c1a-4a53-9c7e-%d-", time.Now().UnixNano())
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		try.CallID = prefix + strconv.Itoa(n)
		s.OnTry(try)
		if n++; n%5000 == 0 {
			if err := s.flush(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
}
