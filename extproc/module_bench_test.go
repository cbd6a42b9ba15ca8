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

// limitedModuleConfig is the bench's Redis config (bench.RedisConfig) on the
// in-process store: rpm/tpm on every deployment, never reached, and
// usage-based-routing-v2, which counts a request's input tokens for the tpm
// filter (D95: only when a limit is near).
const limitedModuleConfig = `
model_list:
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o, api_base: http://a.test/dep-1/v1, api_key: sk-1, rpm: 1000000, tpm: 1000000000}
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o, api_base: http://a.test/dep-2/v1, api_key: sk-2, rpm: 1000000, tpm: 1000000000}
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o, api_base: http://a.test/dep-3/v1, api_key: sk-3, rpm: 1000000, tpm: 1000000000}
router_settings:
  routing_strategy: usage-based-routing-v2
general_settings:
  master_key: sk-master
`

// BenchmarkModuleServeLimited is Serve on the bench's Redis config (its
// counters in process): the plan reads the tpm view and filters on it.
func BenchmarkModuleServeLimited(b *testing.B) {
	cfg, err := config.Parse([]byte(limitedModuleConfig), "t.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		b.Fatal(err)
	}
	m := NewModuleFilter(cfg, "v1", ModuleConfig{OffPathOutcomes: true, Upstream: true, Leases: true}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	l := NewModuleLimits()
	m.UseLimits(l)
	lease := func() {
		// Every deployment leased far below its limits, in this minute.
		deps := map[string]LeaseDep{}
		for _, d := range m.Model().Deployments {
			deps[d.ID] = LeaseDep{Minute: time.Now().Unix() / 60, Limit: 1000000, Granted: 1000000, RPM: 1000, TPM: 100000}
		}
		l.Apply(&LeaseTable{Deps: deps})
	}
	lease()
	h := moduleHeaders("sk-master")
	body := []byte(`{"model":"gpt","messages":[{"role":"system","content":"You are a helpful assistant. Answer briefly."},{"role":"user","content":"Summarise the benefits of running an LLM gateway on Envoy in one paragraph."}],"temperature":0.2,"max_tokens":256}`)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if n++; n%1000 == 0 {
			lease() // a fresh view (a minute may have turned)
		}
		if a, ok := m.Serve(h, body, time.Now()); !ok || a.Reply != nil || a.Resp == nil {
			lease()
			if a, ok = m.Serve(h, body, time.Now()); !ok || a.Reply != nil || a.Resp == nil {
				b.Fatal("not served on the fast path")
			}
		}
	}
}
