package model_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/model"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// TestCompileExamples: every example config (and the extra ones with the
// rules the examples do not use) compiles, and what the model resolves,
// targets, falls back to and weighs is the golden file. The golden files
// were written when a comparison test (since removed, with the old code)
// showed the model agreeing
// with the runtime before it (router's resolution, config's fallback and
// weight readings) on every probe.
func TestCompileExamples(t *testing.T) {
	for name, cfg := range exampleConfigs(t) {
		t.Run(name, func(t *testing.T) {
			got := dump(model.Compile(cfg))
			golden := filepath.Join("testdata", strings.TrimSuffix(name, ".yaml")+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/model -update)", err)
			}
			if got != string(want) {
				t.Errorf("compiled model differs from %s (go test ./internal/model -update, then review the diff):\n%s", golden, got)
			}
		})
	}
}

func dump(m *model.Model) string {
	var b strings.Builder
	fmt.Fprintf(&b, "routing %+v\ntrack %+v\n", m.Routing, m.Track)
	for _, g := range m.Groups {
		fmt.Fprintf(&b, "group %q wildcard=%v maycooldown=%v weights=%v\n", g.Name, g.Wildcard, g.MayCoolDown, g.Weights)
		for k := model.GeneralFallbacks; k <= model.ContentPolicyFallbacks; k++ {
			if fb := g.Fallbacks(k); fb != nil {
				fmt.Fprintf(&b, "  %s %q\n", k, fb)
			}
		}
		for _, d := range g.Deployments {
			retries := "-"
			if d.Retries != nil {
				retries = fmt.Sprint(*d.Retries)
			}
			fmt.Fprintf(&b, "  deployment %s provider=%q model=%q any=%v wire=%q auth=%d base=%q cluster=%s mock=%v limits=%+v timeout=%v stream=%v retries=%s cooldown=%v\n",
				d.ID, d.Provider, d.Model, d.AnyProvider, d.Wire, d.Auth, d.APIBase, d.Cluster, d.Mock(), d.Limits, d.Timeout, d.StreamTimeout, retries, d.CooldownTime)
		}
	}
	aliases := make([]string, 0, len(m.Aliases))
	for a := range m.Aliases {
		aliases = append(aliases, a)
	}
	sort.Strings(aliases)
	for _, a := range aliases {
		fmt.Fprintf(&b, "alias %q -> %+v\n", a, m.Aliases[a])
	}
	for _, p := range probes(m) {
		res, err := m.Resolve(p)
		if err != nil {
			fmt.Fprintf(&b, "resolve %q: %v\n", p, err)
			continue
		}
		fmt.Fprintf(&b, "resolve %q: %+v\n", p, res)
		for _, t := range m.Targets(res) {
			fmt.Fprintf(&b, "  target %+v\n", t)
		}
		if fb, ok := m.ExactFallbacks(p, res.Group); ok {
			fmt.Fprintf(&b, "  exact fallbacks %q\n", fb)
		}
	}
	return b.String()
}

func compile(t *testing.T, src string) *model.Model {
	t.Helper()
	return model.Compile(parse(t, "t.yaml", []byte(src)))
}

// TestDeploymentSettings: each deployment key is read into the model as
// the readers applied it before (timeouts, retries, cooldown, limits).
func TestDeploymentSettings(t *testing.T) {
	m := compile(t, `
model_list:
  - {model_name: a, litellm_params: {model: openai/a, api_key: k, timeout: 3, stream_timeout: 2, max_retries: 1, num_retries: 4, cooldown_time: 9, rpm: 7, tpm: 70, max_parallel_requests: 2}}
  - {model_name: a, litellm_params: {model: openai/b, api_key: k, timeout: 5, max_retries: 1}}
  - {model_name: c, litellm_params: {model: openai/c, api_key: k, mock_response: hi}}
  - {model_name: "*", litellm_params: {model: "*"}}
router_settings: {timeout: 30, stream_timeout: 20, cooldown_time: 11, default_max_parallel_requests: 5, disable_cooldowns: false}
`)
	d := func(group string, i int) *model.Deployment { return m.GroupDeployments(group)[i] }
	a0, a1, c, star := d("a", 0), d("a", 1), d("c", 0), d("*", 0)
	for _, tc := range []struct {
		name      string
		got, want any
	}{
		{"timeout", a0.Timeout, 3 * time.Second},
		{"stream_timeout", a0.StreamTimeout, 2 * time.Second},
		{"timeout stands for stream_timeout", a1.StreamTimeout, 5 * time.Second},
		{"router timeout", c.Timeout, 30 * time.Second},
		{"router stream_timeout", c.StreamTimeout, 20 * time.Second},
		{"num_retries wins over max_retries", *a0.Retries, 4},
		{"max_retries", *a1.Retries, 1},
		{"no retries set", c.Retries == nil, true},
		{"cooldown_time", a0.CooldownTime, 9 * time.Second},
		{"router cooldown_time", a1.CooldownTime, 11 * time.Second},
		{"limits", a0.Limits, model.Limits{RPM: 7, TPM: 70, MaxParallel: 2}},
		{"default_max_parallel_requests", a1.Limits.MaxParallel, 5},
		{"mock", c.Mock() && !a0.Mock(), true},
		{"cluster", a0.Cluster, "dep_" + a0.ID},
		{"any provider", star.AnyProvider && star.Provider == "", true},
		{"any provider default cluster", star.Cluster, "dep_" + star.ID + "_openai"},
		{"any provider cluster per provider", star.ClusterFor("anthropic"), "dep_" + star.ID + "_anthropic"},
		{"api_base", a0.APIBase, "https://api.openai.com/v1"},
		{"track", m.Track, model.Tracking{Tokens: true, Usage: true, End: true, Calls: true}},
		{"deployment track: rpm, tpm, max_parallel_requests", a0.Track, model.Tracking{Tokens: true, Usage: true, End: true, Calls: true}},
		{"deployment track: default_max_parallel_requests", a1.Track, model.Tracking{End: true, Calls: true}},
	} {
		if fmt.Sprint(tc.got) != fmt.Sprint(tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

func BenchmarkCompile10000(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("model_list:\n")
	for i := range 10000 {
		fmt.Fprintf(&sb, "  - {model_name: g%d, litellm_params: {model: openai/m%d, api_key: k, rpm: %d}}\n", i%2000, i, 100+i)
	}
	sb.WriteString("router_settings:\n  fallbacks: [{g1: [g2, g3]}, {\"*\": [g4]}]\n")
	cfg := parse(&testing.T{}, "bench.yaml", []byte(sb.String()))
	b.ResetTimer()
	for b.Loop() {
		model.Compile(cfg)
	}
}
