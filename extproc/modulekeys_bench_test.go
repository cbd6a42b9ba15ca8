package extproc

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/keys"
	"github.com/llmgate/llmgate/internal/keystore"
	"github.com/llmgate/llmgate/internal/store"
)

// BenchmarkModuleServeTypicalKeys is BenchmarkModuleServeTypical with 1,000
// virtual keys in the module's key table, for the master key and for one of
// the keys: what a virtual key adds to the module's request side (D88).
func BenchmarkModuleServeTypicalKeys(b *testing.B) {
	cfg, err := config.Parse([]byte(typicalModuleConfig), "t.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ks, err := keystore.OpenEmbedded(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	svc, err := keys.New(ctx, keys.Options{Store: ks, Counters: store.NewMemory(nil), WALDir: b.TempDir(), Log: log})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = svc.Close(); _ = ks.Close() }()
	var key string
	for i := 0; i < 1000; i++ {
		status, out := svc.Handle(ctx, "POST", "/key/generate", fmt.Appendf(nil, `{"key_alias":"bench-%d","models":["gpt"],"max_budget":1000000,"metadata":{"n":%d}}`, i, i), keys.Caller{Admin: true})
		if status != 200 {
			b.Fatalf("/key/generate: %d %s", status, out)
		}
		if i == 500 {
			var m struct{ Key string }
			_ = json.Unmarshal(out, &m)
			key = m.Key
		}
	}
	view := keys.NewView()
	view.ApplySnapshot(svc.Snapshot())
	body := []byte(`{"model":"gpt","messages":[{"role":"user","content":"hello there"}],"temperature":0.2}`)
	for _, who := range []string{"master", "virtual"} {
		b.Run(who, func(b *testing.B) {
			m := NewModuleFilter(cfg, "v1", ModuleConfig{OffPathOutcomes: true, Upstream: true, Leases: true}, log)
			m.UseKeys(view)
			tok := "sk-master"
			if who == "virtual" {
				tok = key
			}
			h := moduleHeaders(tok)
			b.ReportAllocs()
			for b.Loop() {
				a, ok := m.Serve(h, body, time.Now())
				if !ok || a.Resp == nil {
					b.Fatal("not served on the fast path")
				}
			}
		})
	}
}
