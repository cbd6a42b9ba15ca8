package extproc

import (
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/config"
	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
)

// TestRespPlanCache (D124): the answer plan the module takes from its cache
// by plan order is, for every kind of fast plan, the plan built for the
// request itself — its own call id, overhead and start, its key's headers —
// and another order, another requested model or other context headers do
// not take it.
func TestRespPlanCache(t *testing.T) {
	cfg, err := config.Parse([]byte(typicalModuleConfig), "t.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	m := NewModuleFilter(cfg, "v1", ModuleConfig{OffPathOutcomes: true, Upstream: true, Leases: true}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	var plan, reversed []*llmgatev1.Attempt
	for i, d := range m.Model().Deployments {
		plan = append(plan, &llmgatev1.Attempt{DeploymentId: d.ID, ModelGroup: "gpt", Model: d.Model, Retry: int32(i)})
	}
	for i := range plan {
		a := plan[len(plan)-1-i]
		reversed = append(reversed, &llmgatev1.Attempt{DeploymentId: a.DeploymentId, ModelGroup: a.ModelGroup, Model: a.Model, Retry: int32(i)})
	}
	fellBack := []*llmgatev1.Attempt{{DeploymentId: plan[0].DeploymentId, ModelGroup: "gpt", Model: plan[0].Model},
		{DeploymentId: plan[1].DeploymentId, ModelGroup: "other", Model: plan[1].Model, FallbackIndex: 1}}
	key := [][2]string{{"x-litellm-key-spend", "0.5"}, {"x-litellm-key-max-budget", "10"}}
	mk := func(call string, overhead time.Duration, attempts []*llmgatev1.Attempt) *llmgatev1.RequestContext {
		return &llmgatev1.RequestContext{CallId: call, ModelGroup: "gpt", RequestedModel: "gpt", BodyPrepared: true, Attempts: attempts,
			StartUnixNano: time.Now().UnixNano() + int64(overhead), OverheadNanos: int64(overhead),
			ResponseHeaders: map[string]string{"x-litellm-max-retries": "2"}}
	}
	build := func(rc *llmgatev1.RequestContext, extra [][2]string) *RespPlan {
		entries, ok := m.s.fastPlan(m.st, rc)
		if !ok {
			t.Fatal("not a fast plan")
		}
		return respPlanOfEntries(entries, extra, rc.StartUnixNano, rc.Stream, rc.IncludeUsage)
	}
	for _, tc := range []struct {
		name     string
		attempts []*llmgatev1.Attempt
		stream   bool
		usage    bool
		kinds    []int32
		extra    [][2]string
	}{
		{name: "three tries", attempts: plan},
		{name: "another order", attempts: reversed},
		{name: "one try", attempts: plan[:1]},
		{name: "a stream with usage", attempts: plan, stream: true, usage: true},
		{name: "a fallback", attempts: fellBack},
		{name: "a redirect's replay", attempts: plan, kinds: []int32{1}},
		{name: "a key's headers", attempts: plan, extra: key},
	} {
		m.st.respPlans.mu.Lock()
		m.st.respPlans.m = nil
		m.st.respPlans.mu.Unlock()
		first := mk("call-first", 1234567*time.Nanosecond, tc.attempts)
		first.Stream, first.IncludeUsage, first.FallbackKinds = tc.stream, tc.usage, tc.kinds
		if m.st.respPlans.plan(first, false, tc.extra) != nil {
			t.Fatalf("%s: a plan cached before any was built", tc.name)
		}
		m.st.respPlans.put(first, false, tc.extra, build(first, tc.extra))
		for i, overhead := range []time.Duration{0, 42 * time.Microsecond, 3*time.Second + 7*time.Millisecond} {
			rc := mk("call-"+string(rune('a'+i)), overhead, tc.attempts)
			rc.Stream, rc.IncludeUsage, rc.FallbackKinds = tc.stream, tc.usage, tc.kinds
			got := m.st.respPlans.plan(rc, false, tc.extra)
			if got == nil {
				t.Fatalf("%s: not taken from the cache", tc.name)
			}
			if want := build(rc, tc.extra); !reflect.DeepEqual(got, want) {
				t.Errorf("%s: cached plan\n %+v\nwant the request's own\n %+v", tc.name, got, want)
			}
		}
		// What the plan depends on is in the key: none of these takes it.
		for _, change := range []func(rc *llmgatev1.RequestContext){
			func(rc *llmgatev1.RequestContext) { rc.RequestedModel = "alias" },
			func(rc *llmgatev1.RequestContext) { rc.ResponseHeaders["x-litellm-max-retries"] = "1" },
			func(rc *llmgatev1.RequestContext) { rc.ResponseHeaders["x-ratelimit-remaining-requests"] = "9" },
			func(rc *llmgatev1.RequestContext) { rc.Stream = !rc.Stream },
			func(rc *llmgatev1.RequestContext) { rc.Attempts = rc.Attempts[:len(rc.Attempts)-1] },
		} {
			rc := mk("call-other", 0, tc.attempts)
			rc.Stream, rc.IncludeUsage, rc.FallbackKinds = tc.stream, tc.usage, tc.kinds
			change(rc)
			if len(rc.Attempts) > 0 && m.st.respPlans.plan(rc, false, tc.extra) != nil {
				t.Errorf("%s: another request's plan taken from the cache", tc.name)
			}
		}
	}
}

// TestModuleQuietPlan (D124): a module-served plan is quiet (its first-try
// success writes no outcome record) only when nothing in the gateway reads
// a success: not with a sink on the bus (callbacks, metrics), not on a
// config that reads latencies, tokens or calls (latency or usage routing,
// rpm/tpm).
func TestModuleQuietPlan(t *testing.T) {
	body := []byte(`{"model":"gpt","messages":[{"role":"user","content":"hello there"}]}`)
	for _, tc := range []struct {
		name  string
		yaml  string
		mc    ModuleConfig
		quiet bool
	}{
		{"the typical config", typicalModuleConfig, ModuleConfig{OffPathOutcomes: true, Upstream: true, Leases: true}, true},
		{"a sink on the bus", typicalModuleConfig, ModuleConfig{OffPathOutcomes: true, Upstream: true, Leases: true, OutcomesActive: true}, false},
		{"latency routing", strings.Replace(typicalModuleConfig, "simple-shuffle", "latency-based-routing", 1), ModuleConfig{OffPathOutcomes: true, Upstream: true, Leases: true}, false},
	} {
		cfg, err := config.Parse([]byte(tc.yaml), "t.yaml", func(string) (string, bool) { return "", false })
		if err != nil {
			t.Fatal(err)
		}
		m := NewModuleFilter(cfg, "v1", tc.mc, slog.New(slog.NewTextHandler(io.Discard, nil)))
		for i := range 3 { // (the second and third from the cache)
			a, ok := m.Serve(moduleHeaders("sk-master"), body, time.Now())
			if !ok || a.Resp == nil {
				t.Fatalf("%s: not served on the fast path", tc.name)
			}
			if a.Resp.Quiet != tc.quiet {
				t.Errorf("%s, request %d: quiet %v, want %v", tc.name, i, a.Resp.Quiet, tc.quiet)
			}
		}
	}
}
