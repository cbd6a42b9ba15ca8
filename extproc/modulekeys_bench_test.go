package extproc

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/keys"
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
	svc, key := benchKeyService(b, 1000, "gpt", log)
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
