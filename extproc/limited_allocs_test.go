package extproc

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/llmgate/llmgate/config"
)

// TestModuleServeLimitedAllocs (D116): Serve on the bench's Redis config
// (BenchmarkModuleServeLimited) writes the plan's max retries header into
// the plan's own x-ratelimit-* map (it was copied into a second map) and
// sorts the usage-based candidates without reflection: 33 allocations
// before.
func TestModuleServeLimitedAllocs(t *testing.T) {
	cfg, err := config.Parse([]byte(limitedModuleConfig), "t.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	m := NewModuleFilter(cfg, "v1", ModuleConfig{OffPathOutcomes: true, Upstream: true, Leases: true}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	l := NewModuleLimits()
	m.UseLimits(l)
	// One clock for the leases and every Serve: a minute that turned during
	// the runs made the leases stale, and Serve allocate more (a flake).
	now := time.Now()
	deps := map[string]LeaseDep{}
	for _, d := range m.Model().Deployments {
		deps[d.ID] = LeaseDep{Minute: now.Unix() / 60, Limit: 1000000, Granted: 1000000, RPM: 1000, TPM: 100000}
	}
	l.Apply(&LeaseTable{Deps: deps})
	h := moduleHeaders("sk-master")
	body := []byte(`{"model":"gpt","messages":[{"role":"user","content":"Summarise the benefits of running an LLM gateway on Envoy."}],"temperature":0.2,"max_tokens":256}`)
	a, ok := m.Serve(h, body, now)
	if !ok || a.Resp == nil {
		t.Fatal("not served on the fast path")
	}
	for k, want := range map[string]string{"x-ratelimit-limit-requests": "3000000", "x-ratelimit-limit-tokens": "3000000000", "x-litellm-max-retries": "2"} {
		for i := range a.Resp.Entries {
			if got := respHeader(a.Resp, i, k); got != want {
				t.Errorf("entry %d: %s %q, want %q", i, k, got, want)
			}
		}
	}
	n := testing.AllocsPerRun(100, func() {
		if a, ok := m.Serve(h, body, now); !ok || a.Resp == nil {
			t.Fatal("not served on the fast path")
		}
	})
	if n > 30 {
		t.Errorf("Serve on the Redis config made %.0f allocations, want at most 30", n)
	}
}
