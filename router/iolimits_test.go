package router

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/llmgate/llmgate/translator"
)

// itpm and otpm (D180): with enforce_model_rate_limits a deployment whose
// minute's input (output) tokens plus the request's prompt (max_tokens, or
// a quarter of otpm) are over its limit is refused with LiteLLM's verdict;
// cached prompt tokens are not counted; the next minute starts over;
// without the check the limits are not read.
func TestPlanIOTokenLimits(t *testing.T) {
	ctx := context.Background()
	clk := newClock() // 12:00:10 UTC
	newRouter := func(enforce bool) *Router {
		d := dep("a", "g", "openai/a")
		d.Params.ITPM, d.Params.OTPM = 100, 1000
		cfg := baseConfig(d)
		cfg.Router.EnforceModelRateLimits = enforce
		r := newTestRouter(cfg, clk, 5)
		// 70 prompt tokens, 10 of them read from the cache: 60 counted.
		if _, err := r.Report(ctx, Outcome{DeploymentID: "a", Group: "g", Status: 200,
			Usage: translator.Usage{PromptTokens: 70, CachedTokens: 10, CompletionTokens: 50, TotalTokens: 120}}); err != nil {
			t.Fatal(err)
		}
		return r
	}
	r := newRouter(true)
	refused := func(req PlanRequest, kind, msg string) {
		t.Helper()
		req.Model = "g"
		_, err := r.Plan(ctx, req)
		var rl *ModelRateLimitError
		if !errors.As(err, &rl) || rl.Kind != kind || rl.DeploymentID != "a" || rl.RetryAfterSeconds() != 50 {
			t.Fatalf("%+v: want the %s verdict on a with retry-after 50 s, got %#v", req, kind, err)
		}
		if err.Error() != msg {
			t.Errorf("message %q, want %q", err.Error(), msg)
		}
	}
	served := func(req PlanRequest) {
		t.Helper()
		req.Model = "g"
		if _, err := r.Plan(ctx, req); err != nil {
			t.Fatalf("%+v: %v", req, err)
		}
	}
	refused(PlanRequest{InputTokens: 41}, "ITPM", "Model rate limit exceeded. ITPM limit=100, current usage=101")
	served(PlanRequest{InputTokens: 40})
	refused(PlanRequest{InputTokens: 1, MaxTokens: 951}, "OTPM", "Model rate limit exceeded. OTPM limit=1000, current usage=1001")
	served(PlanRequest{InputTokens: 1, MaxTokens: 950})
	served(PlanRequest{InputTokens: 1}) // reserves min(4096, 1000/4) = 250
	if _, err := r.Report(ctx, Outcome{DeploymentID: "a", Group: "g", Status: 200,
		Usage: translator.Usage{PromptTokens: 1, CompletionTokens: 701}}); err != nil {
		t.Fatal(err)
	}
	refused(PlanRequest{InputTokens: 1}, "OTPM", "Model rate limit exceeded. OTPM limit=1000, current usage=1001")
	clk.Add(time.Minute)
	served(PlanRequest{InputTokens: 100, MaxTokens: 1000})

	r = newRouter(false)
	served(PlanRequest{InputTokens: 1000, MaxTokens: 5000})

	// A deployment with room serves the group: the limited one is left out.
	d, b := dep("a", "g", "openai/a"), dep("b", "g", "openai/b")
	d.Params.ITPM = 10
	cfg := baseConfig(d, b)
	cfg.Router.EnforceModelRateLimits = true
	r = newTestRouter(cfg, clk, 5)
	for range 10 {
		p, err := r.Plan(ctx, PlanRequest{Model: "g", InputTokens: 11})
		if err != nil || p.Attempts[0].DeploymentID != "b" {
			t.Fatalf("want b first, got %v %v", attemptIDs(p), err)
		}
	}
}

// rpd and tpd (D180): every try counts in its deployment's day, which
// starts at daily_reset_time; at the limit the verdict's retry-after is
// the next reset, and the day's counts outlive the minute.
func TestPlanDailyLimits(t *testing.T) {
	ctx := context.Background()
	clk := newClock() // 12:00:10 UTC
	a, b := dep("a", "g", "openai/a"), dep("b", "h", "openai/b")
	a.Params.RPD, a.Params.DailyReset = 2, 13*time.Hour
	b.Params.TPD = 100
	cfg := baseConfig(a, b)
	cfg.Router.EnforceModelRateLimits = true
	r := newTestRouter(cfg, clk, 5)
	report := func(id, group string, status, tokens int) {
		t.Helper()
		if _, err := r.Report(ctx, Outcome{DeploymentID: id, Group: group, Status: status, Usage: translator.Usage{TotalTokens: tokens}}); err != nil {
			t.Fatal(err)
		}
	}
	verdict := func(group string) *ModelRateLimitError {
		t.Helper()
		_, err := r.Plan(ctx, PlanRequest{Model: group})
		var rl *ModelRateLimitError
		if err != nil && !errors.As(err, &rl) {
			t.Fatalf("%s: %v", group, err)
		}
		return rl
	}
	report("a", "g", 200, 10)
	if rl := verdict("g"); rl != nil {
		t.Fatalf("one try of two: %v", rl)
	}
	report("a", "g", 500, 0) // a failed try counts too
	rl := verdict("g")
	if rl == nil || rl.Error() != "Model rate limit exceeded. RPD limit=2, current usage=3" || rl.RetryAfterSeconds() != 3590 {
		t.Fatalf("rpd: got %#v, want RPD limit=2, current usage=3, retry-after 3590 s (13:00 UTC)", rl)
	}
	report("b", "h", 200, 99)
	if rl := verdict("h"); rl != nil {
		t.Fatalf("99 of 100 tokens: %v", rl)
	}
	report("b", "h", 200, 1)
	rl = verdict("h")
	if rl == nil || rl.Error() != "Model rate limit exceeded. TPD limit=100, current usage=100" || rl.RetryAfterSeconds() != 11*3600+59*60+50 {
		t.Fatalf("tpd: got %#v, want TPD limit=100, current usage=100, retry-after to midnight", rl)
	}
	clk.Add(5 * time.Minute)
	if verdict("g") == nil || verdict("h") == nil {
		t.Fatal("the day's counts ended with the minute")
	}
	clk.Add(55 * time.Minute) // 13:05: a's day starts over, b's does not
	if rl := verdict("g"); rl != nil {
		t.Fatalf("after a's reset: %v", rl)
	}
	if verdict("h") == nil {
		t.Fatal("b's day ended at 13:00")
	}
}

// The config's limits reach the model only with the check.
func TestIOLimitsNeedTheCheck(t *testing.T) {
	d := dep("a", "g", "openai/a")
	d.Params.ITPM, d.Params.RPD = 5, 5
	for _, enforce := range []bool{false, true} {
		cfg := baseConfig(d)
		cfg.Router.EnforceModelRateLimits = enforce
		r := newTestRouter(cfg, newClock(), 1)
		md, _ := r.Model().Deployment("a")
		if got := md.Limits.IO() && md.Limits.Daily(); got != enforce {
			t.Errorf("enforce %v: limits read %v", enforce, got)
		}
	}
}
