package router

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/store"
	"github.com/llmgate/llmgate/internal/store/redistest"
	"github.com/llmgate/llmgate/translator"
)

func TestReportCooldownRules(t *testing.T) {
	dur := func(d time.Duration) *time.Duration { return &d }
	two := []config.Deployment{dep("a", "g", "openai/a"), dep("b", "g", "openai/b")}
	tests := []struct {
		name     string
		deps     []config.Deployment
		mutate   func(*config.Config)
		outcomes []Outcome
		want     time.Duration // cooldown left for "a" after the outcomes (0: none)
	}{
		{name: "allowed_fails 3: three 500s do not cool down",
			deps: two, outcomes: repeat(Outcome{DeploymentID: "a", Status: 500}, 3)},
		{name: "fourth 500 cools down for cooldown_time",
			deps: two, outcomes: repeat(Outcome{DeploymentID: "a", Status: 500}, 4), want: 5 * time.Second},
		{name: "timeouts count",
			deps: two, outcomes: repeat(Outcome{DeploymentID: "a", Timeout: true}, 4), want: 5 * time.Second},
		{name: "401 404 408 count together",
			deps: two, outcomes: []Outcome{{DeploymentID: "a", Status: 401}, {DeploymentID: "a", Status: 404}, {DeploymentID: "a", Status: 408}, {DeploymentID: "a", Status: 503}}, want: 5 * time.Second},
		{name: "other 4xx do not count",
			deps: two, outcomes: repeat(Outcome{DeploymentID: "a", Status: 400, Class: translator.ErrBadRequest}, 10)},
		{name: "403 does not count",
			deps: two, outcomes: repeat(Outcome{DeploymentID: "a", Status: 403, Class: translator.ErrAuthentication}, 10)},
		{name: "429 on a multi-deployment group cools down at once",
			deps: two, outcomes: []Outcome{{DeploymentID: "a", Status: 429}}, want: 5 * time.Second},
		{name: "429 with a longer retry-after",
			deps: two, outcomes: []Outcome{{DeploymentID: "a", Status: 429, RetryAfter: 30 * time.Second}}, want: 30 * time.Second},
		{name: "shorter retry-after keeps cooldown_time",
			deps: two, outcomes: []Outcome{{DeploymentID: "a", Status: 429, RetryAfter: 2 * time.Second}}, want: 5 * time.Second},
		{name: "single deployment group never cools down",
			deps: []config.Deployment{dep("a", "g", "openai/a")}, outcomes: append(repeat(Outcome{DeploymentID: "a", Status: 429}, 3), repeat(Outcome{DeploymentID: "a", Status: 500}, 10)...)},
		{name: "wildcard deployments never cool down",
			deps: []config.Deployment{dep("a", "openai/*", "openai/*"), dep("b", "openai/*", "openai/*")}, outcomes: repeat(Outcome{DeploymentID: "a", Status: 429}, 10)},
		{name: "disable_cooldowns",
			deps: two, mutate: func(c *config.Config) { c.Router.DisableCooldowns = true },
			outcomes: append(repeat(Outcome{DeploymentID: "a", Status: 429}, 3), repeat(Outcome{DeploymentID: "a", Status: 500}, 10)...)},
		{name: "deployment cooldown_time overrides router",
			deps: []config.Deployment{func() config.Deployment {
				d := dep("a", "g", "openai/a")
				d.Params.CooldownTime = dur(42 * time.Second)
				return d
			}(), dep("b", "g", "openai/b")},
			outcomes: []Outcome{{DeploymentID: "a", Status: 429}}, want: 42 * time.Second},
		{name: "allowed_fails 0 cools on first counted failure",
			deps: two, mutate: func(c *config.Config) { c.Router.AllowedFails = 0 }, outcomes: []Outcome{{DeploymentID: "a", Status: 500}}, want: 5 * time.Second},
		{name: "allowed_fails_policy per class",
			deps: two, mutate: func(c *config.Config) {
				c.Router.AllowedFailsPolicy = map[string]int{"InternalServerErrorAllowedFails": 1, "TimeoutErrorAllowedFails": 10}
			},
			outcomes: []Outcome{{DeploymentID: "a", Timeout: true}, {DeploymentID: "a", Timeout: true}, {DeploymentID: "a", Status: 500}, {DeploymentID: "a", Status: 500}}, want: 5 * time.Second},
		{name: "allowed_fails_policy class under its threshold",
			deps: two, mutate: func(c *config.Config) { c.Router.AllowedFailsPolicy = map[string]int{"TimeoutErrorAllowedFails": 10} },
			outcomes: repeat(Outcome{DeploymentID: "a", Timeout: true}, 10)},
	}
	// The same table against the memory store and a real Redis (LiteLLM
	// shares cooldowns through Redis; the Lua scripts must agree with the
	// memory store).
	redisAddr, _ := redistest.Start(t)
	stores := []struct {
		name string
		make func(t *testing.T, clk *fakeClock, prefix string) store.Store
	}{
		{"memory", func(_ *testing.T, clk *fakeClock, _ string) store.Store { return store.NewMemory(clk.Now) }},
		{"redis", func(t *testing.T, clk *fakeClock, prefix string) store.Store {
			st, err := store.NewRedis(store.RedisOptions{Addr: redisAddr, Clock: clk.Now, Timeout: 2 * time.Second, Prefix: prefix})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = st.Close() })
			return st
		}},
	}
	for _, sk := range stores {
		for i, tc := range tests {
			t.Run(sk.name+"/"+tc.name, func(t *testing.T) {
				cfg := baseConfig(tc.deps...)
				if tc.mutate != nil {
					tc.mutate(cfg)
				}
				clk := newClock()
				r := New(cfg, sk.make(t, clk, fmt.Sprintf("cooldown-table-%d:", i)), WithClock(clk.Now))
				checkCooldownCase(t, r, clk, tc.outcomes, tc.want)
			})
		}
	}
}

func checkCooldownCase(t *testing.T, r *Router, clk *fakeClock, outcomes []Outcome, want time.Duration) {
	t.Helper()
	ctx := context.Background()
	for _, o := range outcomes {
		if _, err := r.Report(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	st, err := r.Store().Read(ctx, []string{"a"}, storeRead())
	if err != nil {
		t.Fatal(err)
	}
	var left time.Duration
	if st["a"].CoolingDown(clk.Now()) {
		left = st["a"].CooldownUntil.Sub(clk.Now())
	}
	if left != want {
		t.Fatalf("cooldown left %v, want %v", left, want)
	}
}

func repeat(o Outcome, n int) []Outcome {
	out := make([]Outcome, n)
	for i := range out {
		out[i] = o
	}
	return out
}

// A second cooldown extends the first (LiteLLM #40130 keeps the earlier deadline).
func TestCooldownExtends(t *testing.T) {
	cfg := baseConfig(dep("a", "g", "openai/a"), dep("b", "g", "openai/b"))
	clk := newClock()
	r := newTestRouter(cfg, clk, 1)
	ctx := context.Background()
	u1, _ := r.Report(ctx, Outcome{DeploymentID: "a", Status: 429})
	clk.Add(3 * time.Second)
	u2, _ := r.Report(ctx, Outcome{DeploymentID: "a", Status: 429})
	if !u2.After(u1) || u2.Sub(u1) != 3*time.Second {
		t.Fatalf("second cooldown %v did not extend the first %v", u2, u1)
	}
	// A plan made in the extension window still leaves "a" out.
	clk.Add(4 * time.Second) // past u1, before u2
	p, err := r.Plan(ctx, PlanRequest{Model: "g", NumRetries: intp(3)})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range p.Attempts {
		if a.DeploymentID == "a" {
			t.Fatalf("cooled-down deployment planned: %v", attemptIDs(p))
		}
	}
	// Failures of the previous minute do not count.
	clk.Add(time.Minute)
	for range 3 {
		_, _ = r.Report(ctx, Outcome{DeploymentID: "b", Status: 500})
	}
	clk.Add(time.Minute)
	if u, _ := r.Report(ctx, Outcome{DeploymentID: "b", Status: 500}); !u.IsZero() {
		t.Fatalf("failure count carried over minutes: cooldown %v", u)
	}
}

func TestRetriesFor(t *testing.T) {
	cfg := baseConfig(dep("a", "g", "openai/a"))
	cfg.Router.NumRetries = 3
	cfg.Router.RetryPolicy = map[string]int{"RateLimitErrorRetries": 5, "AuthenticationErrorRetries": 0, "ContentPolicyViolationErrorRetries": 1}
	r := newTestRouter(cfg, newClock(), 1)
	tests := []struct {
		class translator.ErrorClass
		want  int
	}{
		{translator.ErrRateLimit, 5},
		{translator.ErrAuthentication, 0},
		{translator.ErrContentPolicy, 1},
		{translator.ErrInternal, 3},
		{translator.ErrTimeout, 3},
		{translator.ErrNotFound, 0},
		{translator.ErrBadRequest, 3},
	}
	for _, tc := range tests {
		if got := r.RetriesFor(tc.class); got != tc.want {
			t.Errorf("class %d: %d, want %d", tc.class, got, tc.want)
		}
	}
	cfg.Router.RetryPolicy = map[string]int{"NotFoundErrorRetries": 2}
	if got := newTestRouter(cfg, newClock(), 1).RetriesFor(translator.ErrNotFound); got != 2 {
		t.Errorf("NotFoundErrorRetries: %d", got)
	}
}

// TestBackoff: LiteLLM's backoff; with router retry_after (floor) the least
// wait (its min_timeout), still capped at 8 s, a provider's Retry-After and
// another healthy deployment winning as before.
func TestBackoff(t *testing.T) {
	tests := []struct {
		name       string
		floor      time.Duration // router retry_after
		n          int
		retryAfter time.Duration
		other      bool
		lo, hi     time.Duration
	}{
		{"other healthy deployment", 0, 3, 10 * time.Second, true, 0, 0},
		{"retry-after honoured", 0, 0, 7 * time.Second, false, 7 * time.Second, 7 * time.Second},
		{"retry-after over 60s ignored", 0, 0, 90 * time.Second, false, 375 * time.Millisecond, 500 * time.Millisecond},
		{"first", 0, 0, 0, false, 375 * time.Millisecond, 500 * time.Millisecond},
		{"second", 0, 1, 0, false, 750 * time.Millisecond, time.Second},
		{"capped", 0, 10, 0, false, 6 * time.Second, 8 * time.Second},
		{"retry_after: first", 3 * time.Second, 0, 0, false, 2250 * time.Millisecond, 3 * time.Second},
		{"retry_after: past it", 3 * time.Second, 3, 0, false, 3 * time.Second, 4 * time.Second},
		{"retry_after: capped", 30 * time.Second, 0, 0, false, 6 * time.Second, 8 * time.Second},
		{"retry_after: provider's Retry-After", 3 * time.Second, 0, time.Second, false, time.Second, time.Second},
		{"retry_after: other healthy deployment", 3 * time.Second, 0, 0, true, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := baseConfig(dep("a", "g", "openai/a"))
			cfg.Router.RetryAfter = tc.floor
			r := newTestRouter(cfg, newClock(), 1)
			for range 50 {
				got := r.Backoff(tc.n, tc.retryAfter, tc.other)
				if got < tc.lo || got > tc.hi {
					t.Fatalf("backoff %v outside [%v, %v]", got, tc.lo, tc.hi)
				}
			}
		})
	}
}

// Every retry_policy key is read for its own class only: each key gets a
// count no other key and no num_retries has, so a class that reads another
// class's key (or falls back to num_retries) is caught.
func TestRetryPolicyEveryKey(t *testing.T) {
	keys := []struct {
		key     string
		classes []translator.ErrorClass
	}{
		{"AuthenticationErrorRetries", []translator.ErrorClass{translator.ErrAuthentication}},
		{"TimeoutErrorRetries", []translator.ErrorClass{translator.ErrTimeout}},
		{"RateLimitErrorRetries", []translator.ErrorClass{translator.ErrRateLimit}},
		{"ContentPolicyViolationErrorRetries", []translator.ErrorClass{translator.ErrContentPolicy}},
		{"InternalServerErrorRetries", []translator.ErrorClass{translator.ErrInternal}},
		{"BadRequestErrorRetries", []translator.ErrorClass{translator.ErrBadRequest, translator.ErrContextWindow}},
		{"NotFoundErrorRetries", []translator.ErrorClass{translator.ErrNotFound}},
	}
	cfg := baseConfig(dep("a", "g", "openai/a"))
	cfg.Router.NumRetries = 100
	cfg.Router.RetryPolicy = map[string]int{}
	for i, k := range keys {
		cfg.Router.RetryPolicy[k.key] = 11 + i
	}
	r := newTestRouter(cfg, newClock(), 1)
	for i, k := range keys {
		for _, c := range k.classes {
			if got := r.RetriesFor(c); got != 11+i {
				t.Errorf("class %d: %d retries, want %d (%s)", c, got, 11+i, k.key)
			}
			if got := r.RetriesForGroup("g", c); got != 11+i {
				t.Errorf("class %d in a group without provider-error fallbacks: %d retries, want %d", c, got, 11+i)
			}
		}
		// With only this key set, every other class follows num_retries
		// (404 excepted: not retried unless its own key says so).
		one := baseConfig(dep("a", "g", "openai/a"))
		one.Router.NumRetries = 7
		one.Router.RetryPolicy = map[string]int{k.key: 3}
		ro := newTestRouter(one, newClock(), 1)
		for j, other := range keys {
			want := 7
			if j == i {
				want = 3
			} else if other.key == "NotFoundErrorRetries" {
				want = 0
			}
			for _, c := range other.classes {
				if got := ro.RetriesFor(c); got != want {
					t.Errorf("retry_policy {%s: 3}, class %d: %d retries, want %d", k.key, c, got, want)
				}
			}
		}
	}
	// A negative count means no retries.
	cfg.Router.RetryPolicy = map[string]int{"RateLimitErrorRetries": -1}
	if got := newTestRouter(cfg, newClock(), 1).RetriesFor(translator.ErrRateLimit); got != 0 {
		t.Errorf("negative count: %d retries", got)
	}
}

// Context-window and content-policy errors are not retried in a group that
// has a fallback list of their kind (the fallback is taken instead), even
// when retry_policy and num_retries allow retries.
func TestRetriesForGroupProviderErrorFallbacks(t *testing.T) {
	cfg := baseConfig(dep("a", "g", "openai/a"), dep("b", "big", "openai/b"), dep("c", "safe", "openai/c"), dep("d", "plain", "openai/d"))
	cfg.Router.NumRetries = 4
	cfg.Router.RetryPolicy = map[string]int{"ContentPolicyViolationErrorRetries": 2}
	cfg.Router.ContextWindowFallbacks = []config.Fallback{{Group: "g", To: []string{"big"}}}
	cfg.Router.ContentPolicyFallbacks = []config.Fallback{{Group: "g", To: []string{"safe"}}}
	cfg.Router.Fallbacks = []config.Fallback{{Group: "plain", To: []string{"g"}}}
	r := newTestRouter(cfg, newClock(), 1)
	for _, tc := range []struct {
		group string
		class translator.ErrorClass
		want  int
	}{
		{"g", translator.ErrContextWindow, 0},
		{"g", translator.ErrContentPolicy, 0},
		{"g", translator.ErrBadRequest, 4},
		{"g", translator.ErrInternal, 4},
		// general fallbacks do not stop context-window or content-policy retries
		{"plain", translator.ErrContextWindow, 4},
		{"plain", translator.ErrContentPolicy, 2},
	} {
		if got := r.RetriesForGroup(tc.group, tc.class); got != tc.want {
			t.Errorf("group %s class %d: %d retries, want %d", tc.group, tc.class, got, tc.want)
		}
	}
}
