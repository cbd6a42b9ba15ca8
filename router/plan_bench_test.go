package router

import (
	"context"
	"os"
	"testing"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/store"
	"github.com/llmgate/llmgate/internal/store/redistest"
)

// What the shared store costs the request filter per request: Plan (one
// batched read) and Begin (one atomic script), in memory and on a real
// loopback Redis. `go test -run '^$' -bench Plan ./router/`; the figures are
// in docs/architecture.md (per-request strategies).

const benchPlanConfig = `
model_list:
  - model_name: g
    litellm_params: {model: openai/gpt-4o, api_base: "http://127.0.0.1:9/a/v1", rpm: 100000, tpm: 10000000}
  - model_name: g
    litellm_params: {model: openai/gpt-4o, api_base: "http://127.0.0.1:9/b/v1", rpm: 100000, tpm: 10000000}
  - model_name: g
    litellm_params: {model: openai/gpt-4o, api_base: "http://127.0.0.1:9/c/v1", rpm: 100000, tpm: 10000000}
  - model_name: fb
    litellm_params: {model: openai/gpt-4o-mini, api_base: "http://127.0.0.1:9/d/v1"}
router_settings:
  routing_strategy: usage-based-routing-v2
  fallbacks: [{"g": ["fb"]}]
`

func benchPlan(b *testing.B, st store.Store) {
	cfg, err := config.Parse([]byte(benchPlanConfig), "bench.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		b.Fatal(err)
	}
	r := New(cfg, st)
	res, err := r.Resolve("g")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		p, err := r.Plan(ctx, PlanRequest{Resolution: &res, InputTokens: 200})
		if err != nil || len(p.Attempts) == 0 {
			b.Fatalf("%v %v", p, err)
		}
		if _, err := r.Begin(ctx, p.Attempts[0].DeploymentID); err != nil {
			b.Fatal(err)
		}
		_ = r.End(ctx, p.Attempts[0].DeploymentID)
	}
}

func BenchmarkPlanMemory(b *testing.B) { benchPlan(b, store.NewMemory(nil)) }

func BenchmarkPlanRedis(b *testing.B) {
	if os.Getenv("CI") != "true" {
		if _, err := os.Stat("/usr/bin/redis-server"); err != nil {
			b.Skip("redis-server not installed")
		}
	}
	addr, _ := redistest.Start(b)
	st, err := store.NewRedis(store.RedisOptions{Addr: addr})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	benchPlan(b, st)
}
