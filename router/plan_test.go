package router

import (
	"context"
	"errors"
	"math"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/modelfacts"
	"github.com/llmgate/llmgate/internal/store"
	"github.com/llmgate/llmgate/internal/store/redistest"
	"github.com/llmgate/llmgate/translator"
)

func intp(n int) *int { return &n }

func withWeight(d config.Deployment, w float64) config.Deployment { d.Params.Weight = w; return d }
func withRPM(d config.Deployment, n int64) config.Deployment      { d.Params.RPM = n; return d }
func withTPM(d config.Deployment, n int64) config.Deployment      { d.Params.TPM = n; return d }

func attemptIDs(p *Plan) []string {
	var out []string
	for _, a := range p.Attempts {
		out = append(out, a.DeploymentID)
	}
	return out
}

func attemptGroups(p *Plan) []string {
	var out []string
	for _, a := range p.Attempts {
		out = append(out, a.Group)
	}
	return out
}

func TestSimpleShuffleConvergesToWeights(t *testing.T) {
	tests := []struct {
		name string
		deps []config.Deployment
		want map[string]float64
	}{
		{"weight", []config.Deployment{withWeight(dep("a", "g", "openai/a"), 1), withWeight(dep("b", "g", "openai/b"), 2), withWeight(dep("c", "g", "openai/c"), 7)},
			map[string]float64{"a": 0.1, "b": 0.2, "c": 0.7}},
		{"rpm", []config.Deployment{withRPM(dep("a", "g", "openai/a"), 100000), withRPM(dep("b", "g", "openai/b"), 300000)},
			map[string]float64{"a": 0.25, "b": 0.75}},
		{"tpm", []config.Deployment{withTPM(dep("a", "g", "openai/a"), 1e9), withTPM(dep("b", "g", "openai/b"), 4e9)},
			map[string]float64{"a": 0.2, "b": 0.8}},
		{"uniform", []config.Deployment{dep("a", "g", "openai/a"), dep("b", "g", "openai/b")},
			map[string]float64{"a": 0.5, "b": 0.5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newTestRouter(baseConfig(tc.deps...), newClock(), 42)
			const n = 20000
			count := map[string]int{}
			for range n {
				p, err := r.Plan(context.Background(), PlanRequest{Model: "g", NumRetries: intp(0)})
				if err != nil {
					t.Fatal(err)
				}
				count[p.Attempts[0].DeploymentID]++
			}
			for id, w := range tc.want {
				// Seeded: deterministic. 0.02 is > 6 standard deviations at n=20000.
				if got := float64(count[id]) / n; math.Abs(got-w) > 0.02 {
					t.Errorf("%s: share %.3f, want %.2f", id, got, w)
				}
			}
		})
	}
}

func TestRetriesPreferOtherDeployments(t *testing.T) {
	cfg := baseConfig(dep("a", "g", "openai/a"), dep("b", "g", "openai/b"), dep("c", "g", "openai/c"))
	r := newTestRouter(cfg, newClock(), 7)
	for range 50 {
		p, err := r.Plan(context.Background(), PlanRequest{Model: "g", NumRetries: intp(4)})
		if err != nil {
			t.Fatal(err)
		}
		ids := attemptIDs(p)
		if len(ids) != 5 {
			t.Fatalf("attempts %v", ids)
		}
		if ids[0] == ids[1] || ids[1] == ids[2] || ids[0] == ids[2] || ids[3] != ids[0] || ids[4] != ids[1] {
			t.Fatalf("retries do not go through the other deployments first: %v", ids)
		}
		for i, a := range p.Attempts {
			if a.Retry != i || a.Fallback {
				t.Fatalf("attempt %d: %+v", i, a)
			}
		}
	}
}

func TestPlanNumRetriesPrecedence(t *testing.T) {
	d := dep("a", "g", "openai/a")
	d.Params.MaxRetries = intp(1)
	n := dep("a", "g", "openai/a")
	n.Params.MaxRetries, n.Params.NumRetries = intp(1), intp(5)
	tests := []struct {
		name   string
		dep    config.Deployment
		req    *int
		router int
		want   int
	}{
		{"router", dep("a", "g", "openai/a"), nil, 3, 4},
		{"deployment beats router", d, nil, 3, 2},
		{"request beats deployment", d, intp(0), 3, 1},
		{"deployment num_retries beats its max_retries", n, nil, 3, 6},
		{"zero router", dep("a", "g", "openai/a"), nil, 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := baseConfig(tc.dep)
			cfg.Router.NumRetries = tc.router
			p, err := newTestRouter(cfg, newClock(), 1).Plan(context.Background(), PlanRequest{Model: "g", NumRetries: tc.req})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Attempts) != tc.want {
				t.Fatalf("attempts %d, want %d", len(p.Attempts), tc.want)
			}
		})
	}
}

func TestPlanFallbacks(t *testing.T) {
	deps := []config.Deployment{
		dep("g1", "openai/gpt-4o", "openai/gpt-4o"),
		dep("c1", "claude", "anthropic/claude-3-haiku"),
		dep("m1", "mistral", "mistral/mistral-large"),
		dep("l1", "llama", "groq/llama3"),
		dep("w1", "anthropic/*", "anthropic/*"),
	}
	fb := func(g string, to ...string) config.Fallback { return config.Fallback{Group: g, To: to} }
	tests := []struct {
		name      string
		fallbacks []config.Fallback
		defaults  []string
		maxFB     int
		req       PlanRequest
		want      []string // groups of the attempts
		wantIdx   []int
	}{
		{name: "exact key, skips own group, each with retries",
			fallbacks: []config.Fallback{fb("openai/gpt-4o", "claude", "openai/gpt-4o", "mistral")},
			req:       PlanRequest{Model: "openai/gpt-4o", NumRetries: intp(1)},
			want:      []string{"openai/gpt-4o", "openai/gpt-4o", "claude", "claude", "mistral", "mistral"},
			wantIdx:   []int{0, 0, 1, 1, 2, 2}},
		{name: "prefix-stripped key",
			fallbacks: []config.Fallback{fb("*", "llama"), fb("gpt-4o", "claude")},
			req:       PlanRequest{Model: "openai/gpt-4o", NumRetries: intp(0)},
			want:      []string{"openai/gpt-4o", "claude"}},
		{name: "star key",
			fallbacks: []config.Fallback{fb("other", "claude"), fb("*", "llama")},
			req:       PlanRequest{Model: "openai/gpt-4o", NumRetries: intp(0)},
			want:      []string{"openai/gpt-4o", "llama"}},
		{name: "default_fallbacks",
			defaults: []string{"mistral", "llama"},
			req:      PlanRequest{Model: "claude", NumRetries: intp(0)},
			want:     []string{"claude", "mistral", "llama"}},
		{name: "exact key beats default_fallbacks",
			fallbacks: []config.Fallback{fb("claude", "llama")},
			defaults:  []string{"mistral"},
			req:       PlanRequest{Model: "claude", NumRetries: intp(0)},
			want:      []string{"claude", "llama"}},
		{name: "max_fallbacks",
			fallbacks: []config.Fallback{fb("claude", "mistral", "llama", "openai/gpt-4o")},
			maxFB:     2,
			req:       PlanRequest{Model: "claude", NumRetries: intp(0)},
			want:      []string{"claude", "mistral", "llama"}},
		{name: "client fallbacks override",
			fallbacks: []config.Fallback{fb("claude", "mistral")},
			req:       PlanRequest{Model: "claude", NumRetries: intp(0), Fallbacks: []string{"llama", "claude"}, FallbacksSet: true},
			want:      []string{"claude", "llama"}},
		{name: "client empty fallbacks disable",
			fallbacks: []config.Fallback{fb("claude", "mistral")},
			req:       PlanRequest{Model: "claude", NumRetries: intp(0), FallbacksSet: true},
			want:      []string{"claude"}},
		{name: "unknown fallback skipped",
			fallbacks: []config.Fallback{fb("claude", "nope", "llama")},
			req:       PlanRequest{Model: "claude", NumRetries: intp(0)},
			want:      []string{"claude", "llama"},
			wantIdx:   []int{0, 2}},
		{name: "wildcard keyed on requested name",
			fallbacks: []config.Fallback{fb("anthropic/claude-x", "llama")},
			req:       PlanRequest{Model: "anthropic/claude-x", NumRetries: intp(0)},
			want:      []string{"anthropic/*", "llama"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := baseConfig(deps...)
			cfg.Router.Fallbacks = tc.fallbacks
			cfg.Router.DefaultFallbacks = tc.defaults
			if tc.maxFB > 0 {
				cfg.Router.MaxFallbacks = tc.maxFB
			}
			p, err := newTestRouter(cfg, newClock(), 1).Plan(context.Background(), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if got := attemptGroups(p); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("groups %v, want %v", got, tc.want)
			}
			for i, a := range p.Attempts {
				if a.Fallback != (a.FallbackIndex > 0) || (i == 0 && a.Fallback) {
					t.Fatalf("attempt %d fallback flags %+v", i, a)
				}
				if tc.wantIdx != nil && a.FallbackIndex != tc.wantIdx[i] {
					t.Fatalf("attempt %d index %d, want %d", i, a.FallbackIndex, tc.wantIdx[i])
				}
			}
		})
	}
}

func TestPlanFallbackKinds(t *testing.T) {
	cfg := baseConfig(dep("s", "small", "openai/gpt-4o-mini"), dep("b", "big", "openai/gpt-4.1"), dep("c", "safe", "anthropic/claude-3-haiku"))
	cfg.Router.ContextWindowFallbacks = []config.Fallback{{Group: "small", To: []string{"big"}}}
	cfg.Router.ContentPolicyFallbacks = []config.Fallback{{Group: "*", To: []string{"safe"}}}
	r := newTestRouter(cfg, newClock(), 1)
	if got := r.FallbackGroups("small", ContextWindowFallbacks); !reflect.DeepEqual(got, []string{"big"}) {
		t.Fatalf("context window fallbacks %v", got)
	}
	if got := r.FallbackGroups("big", ContextWindowFallbacks); got != nil {
		t.Fatalf("big has context window fallbacks %v", got)
	}
	p, err := r.PlanFallback(context.Background(), "small", ContextWindowFallbacks, PlanRequest{NumRetries: intp(1)})
	if err != nil {
		t.Fatal(err)
	}
	if got := attemptIDs(p); !reflect.DeepEqual(got, []string{"b", "b"}) || !p.Attempts[0].Fallback {
		t.Fatalf("context window plan %v %+v", got, p.Attempts)
	}
	p, err = r.PlanFallback(context.Background(), "small", ContentPolicyFallbacks, PlanRequest{NumRetries: intp(0)})
	if err != nil || !reflect.DeepEqual(attemptIDs(p), []string{"c"}) {
		t.Fatalf("content policy plan %v %v", p, err)
	}
	if _, err := r.PlanFallback(context.Background(), "big", ContextWindowFallbacks, PlanRequest{}); err == nil {
		t.Fatal("no error for a group without context window fallbacks")
	}
	// No retries on those errors when a fallback list exists.
	if n := r.RetriesForGroup("small", translator.ErrContextWindow); n != 0 {
		t.Fatalf("retries on context window with fallback: %d", n)
	}
	if n := r.RetriesForGroup("big", translator.ErrContextWindow); n != 2 {
		t.Fatalf("retries on context window without fallback: %d", n)
	}
	if n := r.RetriesForGroup("big", translator.ErrContentPolicy); n != 0 {
		t.Fatalf("retries on content policy with * fallback: %d", n)
	}
}

func TestPlanSkipsCooldownAndLimits(t *testing.T) {
	clk := newClock() // 12:00:10
	cfg := baseConfig(withRPM(dep("a", "g", "openai/a"), 2), withTPM(dep("b", "g", "openai/b"), 1000), dep("c", "g", "openai/c"))
	cfg.Models[2].Params.MaxParallelRequests = 1
	r := newTestRouter(cfg, clk, 3)
	ctx := context.Background()
	ids := func(req PlanRequest) []string {
		req.Model, req.NumRetries = "g", intp(2)
		p, err := r.Plan(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return sortedIDs(p)
	}
	if got := ids(PlanRequest{}); !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
		t.Fatalf("all healthy: %v", got)
	}
	// tpm: input tokens that would exceed b's tpm drop it.
	if got := ids(PlanRequest{InputTokens: 1001}); !reflect.DeepEqual(got, []string{"a", "c"}) {
		t.Fatalf("tpm filter: %v", got)
	}
	// rpm: two requests use a's rpm of 2 (the selection-time filter must fire).
	for range 2 {
		if res, _ := r.Begin(ctx, "a"); !res.Allowed {
			t.Fatal("begin a refused")
		}
		_ = r.End(ctx, "a")
	}
	if res, _ := r.Begin(ctx, "a"); res.Allowed {
		t.Fatal("third begin on rpm=2 allowed")
	}
	if got := ids(PlanRequest{}); !reflect.DeepEqual(got, []string{"b", "c"}) {
		t.Fatalf("rpm filter: %v", got)
	}
	// max_parallel_requests
	if res, _ := r.Begin(ctx, "c"); !res.Allowed {
		t.Fatal("begin c refused")
	}
	if got := ids(PlanRequest{}); !reflect.DeepEqual(got, []string{"b"}) {
		t.Fatalf("max parallel filter: %v", got)
	}
	_ = r.End(ctx, "c")
	// cooldown
	if _, err := r.Store().Cooldown(ctx, "b", clk.Now().Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := ids(PlanRequest{}); !reflect.DeepEqual(got, []string{"c"}) {
		t.Fatalf("cooldown filter: %v", got)
	}
	// Everything out: 429 with retry-after = nearest comeback (b's cooldown, 5s).
	_, _ = r.Store().Cooldown(ctx, "c", clk.Now().Add(20*time.Second))
	_, err := r.Plan(ctx, PlanRequest{Model: "g"})
	var nd *NoDeploymentsError
	if !errors.As(err, &nd) || nd.RetryAfterSeconds() != 5 || nd.Status() != 429 {
		t.Fatalf("err %v (%+v)", err, nd)
	}
	// Next minute: a's rpm is free again; cooldowns over.
	clk.Add(time.Minute)
	if got := ids(PlanRequest{}); !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
		t.Fatalf("next minute: %v", got)
	}
}

func TestUsageBasedRouting(t *testing.T) {
	clk := newClock() // 12:00:10 → 50s to the next minute
	cfg := baseConfig(withTPM(withRPM(dep("a", "g", "openai/a"), 1), 10000), withTPM(dep("b", "g", "openai/b"), 100), dep("c", "g", "openai/c"))
	cfg.Router.RoutingStrategy = UsageBasedV2
	r := newTestRouter(cfg, clk, 5)
	ctx := context.Background()
	for _, o := range []Outcome{
		{DeploymentID: "a", Usage: translator.Usage{TotalTokens: 50}},
		{DeploymentID: "b", Usage: translator.Usage{TotalTokens: 20}},
		{DeploymentID: "c", Usage: translator.Usage{TotalTokens: 80}},
	} {
		if _, err := r.Report(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	p, err := r.Plan(ctx, PlanRequest{Model: "g", NumRetries: intp(2)})
	if err != nil {
		t.Fatal(err)
	}
	if got := attemptIDs(p); !reflect.DeepEqual(got, []string{"b", "a", "c"}) {
		t.Fatalf("lowest tpm first: %v", got)
	}
	// b cannot take 81 more tokens (20+81 > 100).
	p, _ = r.Plan(ctx, PlanRequest{Model: "g", NumRetries: intp(0), InputTokens: 81})
	if got := attemptIDs(p); !reflect.DeepEqual(got, []string{"a"}) {
		t.Fatalf("tpm filter: %v", got)
	}
	// a's rpm of 1 used: the selection-time rpm filter fires (LiteLLM #7395).
	if res, _ := r.Begin(ctx, "a"); !res.Allowed {
		t.Fatal("begin refused")
	}
	_, err = r.Plan(ctx, PlanRequest{Model: "g", InputTokens: 81})
	// c has no limits and is still there.
	if err != nil {
		t.Fatal(err)
	}
	cfg2 := baseConfig(withRPM(dep("a", "g", "openai/a"), 1))
	cfg2.Router.RoutingStrategy = UsageBasedV2
	r2 := newTestRouter(cfg2, clk, 5)
	_, _ = r2.Begin(ctx, "a")
	_, err = r2.Plan(ctx, PlanRequest{Model: "g"})
	var nd *NoDeploymentsError
	if !errors.As(err, &nd) || nd.RetryAfterSeconds() != 50 {
		t.Fatalf("want 429 with retry-after 50s, got %v", err)
	}
	if want := "No deployments available for selected model, Try again in 50 seconds. Passed model=g"; err.Error() != want {
		t.Fatalf("message %q", err.Error())
	}
}

func TestLeastBusy(t *testing.T) {
	cfg := baseConfig(dep("a", "g", "openai/a"), dep("b", "g", "openai/b"), dep("c", "g", "openai/c"))
	cfg.Router.RoutingStrategy = LeastBusy
	r := newTestRouter(cfg, newClock(), 9)
	ctx := context.Background()
	for id, n := range map[string]int{"a": 3, "b": 1, "c": 2} {
		for range n {
			_, _ = r.Begin(ctx, id)
		}
	}
	p, _ := r.Plan(ctx, PlanRequest{Model: "g", NumRetries: intp(2)})
	if got := attemptIDs(p); !reflect.DeepEqual(got, []string{"b", "c", "a"}) {
		t.Fatalf("least busy order %v", got)
	}
}

func TestLatencyBasedRouting(t *testing.T) {
	ctx := context.Background()
	t.Run("scores", func(t *testing.T) {
		cfg := baseConfig(dep("fast", "g", "openai/a"), dep("slow", "g", "openai/b"), dep("timeout", "g", "openai/c"), dep("new", "g", "openai/d"))
		cfg.Router.RoutingStrategy = LatencyBased
		r := newTestRouter(cfg, newClock(), 11)
		_, _ = r.Report(ctx, Outcome{DeploymentID: "fast", Latency: 2 * time.Second, Usage: translator.Usage{CompletionTokens: 100}}) // 0.02 s/token
		_, _ = r.Report(ctx, Outcome{DeploymentID: "slow", Latency: 2 * time.Second, Usage: translator.Usage{CompletionTokens: 10}})  // 0.2
		_, _ = r.Report(ctx, Outcome{DeploymentID: "slow", Stream: true, TimeToFirstToken: 400 * time.Millisecond})                   // 0.4 → avg 0.3
		_, _ = r.Report(ctx, Outcome{DeploymentID: "timeout", Timeout: true})
		// a non-timeout failure leaves no sample
		_, _ = r.Report(ctx, Outcome{DeploymentID: "new", Status: 400, Class: translator.ErrBadRequest})
		p, _ := r.Plan(ctx, PlanRequest{Model: "g", NumRetries: intp(3)})
		if got := attemptIDs(p); !reflect.DeepEqual(got, []string{"new", "fast", "slow", "timeout"}) {
			t.Fatalf("latency order %v", got)
		}
	})
	t.Run("buffer and list size", func(t *testing.T) {
		cfg := baseConfig(dep("a", "g", "openai/a"), dep("b", "g", "openai/b"))
		cfg.Router.RoutingStrategy = LatencyBased
		cfg.Router.RoutingStrategyArgs = map[string]any{"lowest_latency_buffer": 0.5, "max_latency_list_size": 2}
		r := newTestRouter(cfg, newClock(), 13)
		// b: an old slow sample pushed out by two fast ones (list size 2).
		for _, l := range []time.Duration{10 * time.Second, 1100 * time.Millisecond, 1100 * time.Millisecond} {
			_, _ = r.Report(ctx, Outcome{DeploymentID: "b", Latency: l})
		}
		_, _ = r.Report(ctx, Outcome{DeploymentID: "a", Latency: time.Second})
		first := map[string]int{}
		for range 400 {
			p, _ := r.Plan(ctx, PlanRequest{Model: "g", NumRetries: intp(0)})
			first[p.Attempts[0].DeploymentID]++
		}
		// 1.1 is within 50% of 1.0: both are picked, roughly evenly.
		if first["a"] < 120 || first["b"] < 120 {
			t.Fatalf("buffer not applied: %v", first)
		}
	})
}

func TestCostBasedRouting(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	cheapInfo := dep("info", "g", "openai/custom")
	cheapInfo.Info.InputCostPerToken, cheapInfo.Info.OutputCostPerToken = f(1e-7), f(1e-7)
	cfg := baseConfig(dep("unknown", "g", "openai/mystery"), dep("pricey", "g", "openai/gpt-4o"), cheapInfo, dep("mini", "g", "openai/gpt-4o-mini"))
	cfg.Router.RoutingStrategy = CostBased
	facts := map[string]modelfacts.Facts{
		"gpt-4o":      {InputCostPerToken: 2.5e-6, OutputCostPerToken: 1e-5},
		"gpt-4o-mini": {InputCostPerToken: 1.5e-7, OutputCostPerToken: 6e-7},
	}
	clk := newClock()
	r := New(cfg, store.NewMemory(clk.Now), WithClock(clk.Now), WithFacts(func(_, m string) (modelfacts.Facts, bool) {
		x, ok := facts[m]
		return x, ok
	}))
	p, _ := r.Plan(context.Background(), PlanRequest{Model: "g", NumRetries: intp(3)})
	if got := attemptIDs(p); !reflect.DeepEqual(got, []string{"info", "mini", "pricey", "unknown"}) {
		t.Fatalf("cost order %v", got)
	}
}

func TestPreCallChecks(t *testing.T) {
	small := dep("s", "g", "openai/gpt-4o-mini")
	small.Info.MaxInputTokens = 1000
	big := dep("b", "g", "openai/gpt-4.1")
	big.Info.MaxInputTokens = 100000
	cfg := baseConfig(small, big)
	cfg.Router.EnablePreCallChecks = true
	r := newTestRouter(cfg, newClock(), 1)
	p, err := r.Plan(context.Background(), PlanRequest{Model: "g", InputTokens: 5000, NumRetries: intp(1)})
	if err != nil || !reflect.DeepEqual(attemptIDs(p), []string{"b", "b"}) {
		t.Fatalf("plan %v %v", p, err)
	}
	_, err = r.Plan(context.Background(), PlanRequest{Model: "g", InputTokens: 200000})
	var cw *ContextWindowError
	if !errors.As(err, &cw) || cw.MaxInput != 100000 {
		t.Fatalf("want ContextWindowError, got %v", err)
	}
}

func TestUsageHeaders(t *testing.T) {
	cfg := baseConfig(withTPM(withRPM(dep("a", "g", "openai/a"), 10), 1000), withRPM(dep("b", "g", "openai/b"), 5), dep("n", "none", "openai/n"))
	r := newTestRouter(cfg, newClock(), 1)
	ctx := context.Background()
	_, _ = r.Begin(ctx, "a")
	_, _ = r.Begin(ctx, "b")
	_, _ = r.Begin(ctx, "b")
	_, _ = r.Report(ctx, Outcome{DeploymentID: "a", Usage: translator.Usage{PromptTokens: 100, CompletionTokens: 50}})
	h, err := r.UsageHeaders(ctx, "g")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"x-ratelimit-limit-requests": "15", "x-ratelimit-remaining-requests": "12",
		"x-ratelimit-limit-tokens": "1000", "x-ratelimit-remaining-tokens": "850",
	}
	if !reflect.DeepEqual(h, want) {
		t.Fatalf("headers %v", h)
	}
	p, _ := r.Plan(ctx, PlanRequest{Model: "g"})
	if !reflect.DeepEqual(p.UsageHeaders, want) {
		t.Fatalf("plan headers %v", p.UsageHeaders)
	}
	if h, _ := r.UsageHeaders(ctx, "none"); len(h) != 0 {
		t.Fatalf("headers without limits: %v", h)
	}
}

// Hard rpm limits hold across two gateway instances sharing one Redis.
func TestUsageBasedHardLimitRedis(t *testing.T) {
	addr, _ := redistest.Start(t)
	cfg := baseConfig(withRPM(dep("a", "g", "openai/a"), 40), withRPM(dep("b", "g", "openai/b"), 25))
	cfg.Router.RoutingStrategy = UsageBasedV2
	fixed := time.Now()
	clock := func() time.Time { return fixed }
	var routers []*Router
	for range 2 {
		st, err := store.NewRedis(store.RedisOptions{Addr: addr, Clock: clock, Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		routers = append(routers, New(cfg, st, WithClock(clock)))
	}
	ctx := context.Background()
	var served, rejected atomic.Int64
	perDep := map[string]*atomic.Int64{"a": {}, "b": {}}
	var wg sync.WaitGroup
	for w := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := routers[w%2]
			for range 6 {
				p, err := r.Plan(ctx, PlanRequest{Model: "g", NumRetries: intp(0)})
				if err != nil {
					var nd *NoDeploymentsError
					if !errors.As(err, &nd) {
						t.Error(err)
					}
					rejected.Add(1)
					continue
				}
				// Execute the plan as the gateway would: Begin refuses past the limit.
				ok := false
				for _, a := range p.Attempts {
					res, err := r.Begin(ctx, a.DeploymentID)
					if err != nil {
						t.Error(err)
						return
					}
					if res.Allowed {
						perDep[a.DeploymentID].Add(1)
						_ = r.End(ctx, a.DeploymentID)
						ok = true
						break
					}
				}
				if ok {
					served.Add(1)
				} else {
					rejected.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if perDep["a"].Load() > 40 || perDep["b"].Load() > 25 {
		t.Fatalf("limits exceeded: a=%d b=%d", perDep["a"].Load(), perDep["b"].Load())
	}
	if served.Load() < 40 || served.Load()+rejected.Load() != 120 {
		t.Fatalf("served %d rejected %d", served.Load(), rejected.Load())
	}
	st, _ := routers[0].Store().Read(ctx, []string{"a", "b"}, store.ReadOptions{})
	if st["a"].RPM > 40 || st["b"].RPM > 25 {
		t.Fatalf("shared counters over limit: %+v", st)
	}
}

// The pre-call context-window check when the group has general fallbacks as
// well: a prompt too long for every deployment of the group goes to the
// context_window_fallbacks when there are any (the plan is refused with a
// ContextWindowError and the caller plans that list), not to the general
// fallbacks that follow in the plan; without context_window_fallbacks the
// general fallbacks serve it.
func TestPreCallChecksWithGeneralFallbacks(t *testing.T) {
	mk := func(id, group string, maxIn int) config.Deployment {
		d := dep(id, group, "openai/"+id)
		d.Info.MaxInputTokens = maxIn
		return d
	}
	tests := []struct {
		name      string
		cwFB      bool
		fbMaxIn   int
		input     int
		wantIDs   []string
		wantCWErr bool
	}{
		{"fits: the group first, then its general fallback", true, 100000, 500, []string{"small", "other"}, false},
		{"too long, context_window_fallbacks set: refused for the caller to plan them", true, 100000, 5000, nil, true},
		{"too long, only general fallbacks: the fallback serves", false, 100000, 5000, []string{"other"}, false},
		{"too long for the fallback too", false, 1000, 5000, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := baseConfig(mk("small", "g", 1000), mk("other", "f", tc.fbMaxIn), mk("big", "cw", 200000))
			cfg.Router.EnablePreCallChecks = true
			cfg.Router.Fallbacks = []config.Fallback{{Group: "g", To: []string{"f"}}}
			if tc.cwFB {
				cfg.Router.ContextWindowFallbacks = []config.Fallback{{Group: "g", To: []string{"cw"}}}
			}
			r := newTestRouter(cfg, newClock(), 1)
			p, err := r.Plan(context.Background(), PlanRequest{Model: "g", InputTokens: tc.input, NumRetries: intp(0)})
			var cw *ContextWindowError
			if tc.wantCWErr {
				if !errors.As(err, &cw) || cw.MaxInput != 1000 || cw.InputTokens != tc.input {
					t.Fatalf("want ContextWindowError for group g, got plan %v err %v", p, err)
				}
				if tc.cwFB {
					fp, err := r.PlanFallback(context.Background(), "g", ContextWindowFallbacks, PlanRequest{Model: "g", InputTokens: tc.input, NumRetries: intp(0)})
					if err != nil || !reflect.DeepEqual(attemptIDs(fp), []string{"big"}) {
						t.Fatalf("context-window fallback plan %v %v", fp, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := attemptIDs(p); !reflect.DeepEqual(got, tc.wantIDs) {
				t.Fatalf("plan %v, want %v", got, tc.wantIDs)
			}
		})
	}
}
