package extproc

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/keys"
	"github.com/llmgate/llmgate/internal/keystore"
	"github.com/llmgate/llmgate/internal/outcome"
	"github.com/llmgate/llmgate/internal/store"
)

// keysBenchServer is benchServer with a key service holding n virtual keys
// (the embedded store), the spend sink on the outcome bus and the fast path's
// off-path outcomes on, as `llmgate run` has them; it returns one of the keys.
func keysBenchServer(b *testing.B, n int) (*Server, string) {
	b.Helper()
	cfg, err := config.Parse([]byte(benchConfig), "bench.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, key := benchKeyService(b, n, "bench-gpt", log)
	bus := outcome.NewBus()
	bus.Register(keys.SpendSink, keys.SinkQueue, func(outcome.Try) {})
	s := NewServer(NewState(cfg, store.NewMemory(nil), "bench", log).WithKeys(svc), log)
	s.Outcomes, s.OffPathOutcomes = bus, true
	return s, key
}

// benchKeyService is a key service on the embedded store holding n virtual
// keys for model (each with a budget and a little metadata), closed at the
// benchmark's end; it returns the service and the key in the middle.
func benchKeyService(b testing.TB, n int, model string, log *slog.Logger) (*keys.Service, string) {
	b.Helper()
	ks, err := keystore.OpenEmbedded(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	svc, err := keys.New(ctx, keys.Options{Store: ks, Counters: store.NewMemory(nil), WALDir: b.TempDir(), Log: log})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = svc.Close(); _ = ks.Close() })
	var key string
	for i := 0; i < n; i++ {
		status, out := svc.Handle(ctx, "POST", "/key/generate", fmt.Appendf(nil, `{"key_alias":"bench-%d","models":[%q],"max_budget":1000000,"metadata":{"n":%d}}`, i, model, i), keys.Caller{Admin: true})
		if status != 200 {
			b.Fatalf("/key/generate: %d %s", status, out)
		}
		if i == n/2 {
			var m struct{ Key string }
			_ = json.Unmarshal(out, &m)
			key = m.Key
		}
	}
	return svc, key
}

// BenchmarkRequestFilterKeys is BenchmarkRequestFilter with 1,000 virtual
// keys in the store, for the master key and for one of the keys (D33): what
// a virtual key adds to the request filter, and to the metadata Envoy reads.
func BenchmarkRequestFilterKeys(b *testing.B) {
	for _, who := range []string{"master", "virtual"} {
		b.Run(who, func(b *testing.B) {
			s, key := keysBenchServer(b, 1000)
			st := requestFilterStream()
			if who == "virtual" {
				for _, h := range st.in[0].GetRequestHeaders().GetHeaders().GetHeaders() {
					if h.Key == "authorization" {
						h.RawValue = []byte("Bearer " + key)
					}
				}
			}
			b.ReportAllocs()
			var mdSize int
			for b.Loop() {
				st.reset()
				if err := s.Process(st); err != nil {
					b.Fatal(err)
				}
				if len(st.sent) != 2 || st.sent[0].GetDynamicMetadata() == nil {
					b.Fatalf("request filter answered %v", st.sent)
				}
				mdSize = proto.Size(st.sent[0].GetDynamicMetadata())
			}
			b.ReportMetric(float64(mdSize), "metadata-bytes")
		})
	}
}
