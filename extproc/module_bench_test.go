package extproc

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/llmgate/llmgate/config"
)

// typicalModuleConfig is the bench's typical config (bench.TypicalConfig):
// three OpenAI-compatible deployments, simple-shuffle, the master key.
const typicalModuleConfig = `
model_list:
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o, api_base: http://a.test/dep-1/v1, api_key: sk-1}
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o, api_base: http://a.test/dep-2/v1, api_key: sk-2}
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o, api_base: http://a.test/dep-3/v1, api_key: sk-3}
router_settings:
  routing_strategy: simple-shuffle
general_settings:
  master_key: sk-master
`

// BenchmarkModuleServeTypical is the module's work on the typical config as
// llmgate run configures it (outcomes off the path, the module the upstream
// filter): every request a fast plan of three tries (D45, D55).
func BenchmarkModuleServeTypical(b *testing.B) {
	cfg, err := config.Parse([]byte(typicalModuleConfig), "t.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		b.Fatal(err)
	}
	m := NewModuleFilter(cfg, "v1", ModuleConfig{OffPathOutcomes: true, Upstream: true, Leases: true}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	h := moduleHeaders("sk-master")
	body := []byte(`{"model":"gpt","messages":[{"role":"user","content":"hello there"}],"temperature":0.2}`)
	b.ReportAllocs()
	for b.Loop() {
		a, ok := m.Serve(h, body, time.Now())
		if !ok || a.Resp == nil {
			b.Fatal("not served on the fast path")
		}
	}
}
