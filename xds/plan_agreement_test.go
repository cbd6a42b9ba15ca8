package xds_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/config/configtest"
	"github.com/llmgate/llmgate/internal/model"
	"github.com/llmgate/llmgate/internal/store"
	"github.com/llmgate/llmgate/router"
	"github.com/llmgate/llmgate/xds"
)

// agreementConfigs are every example config plus the fallback and weight
// rules the examples do not use: default_fallbacks, keys without the
// provider prefix and "*", max_fallbacks, and deployments of weight 0.
func agreementConfigs(t *testing.T) map[string]*config.Config {
	t.Helper()
	out := map[string]*config.Config{}
	files, err := filepath.Glob(filepath.Join("..", "examples", "*.yaml"))
	if err != nil || len(files) < 8 {
		t.Fatalf("example configs: %v %v", files, err)
	}
	parse := func(name string, data []byte) { out[name] = configtest.Parse(t, name, data) }
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		parse(filepath.Base(f), b)
	}
	const models = `
model_list:
  - {model_name: openai/gpt-4o, litellm_params: {model: openai/gpt-4o, api_key: k, weight: 3}}
  - {model_name: openai/gpt-4o, litellm_params: {model: openai/gpt-4o-mini, api_key: k}}
  - {model_name: a, litellm_params: {model: openai/a, api_key: k}}
  - {model_name: b, litellm_params: {model: openai/b, api_key: k, rpm: 900}}
  - {model_name: b, litellm_params: {model: openai/b2, api_key: k, rpm: 1800}}
  - {model_name: c, litellm_params: {model: openai/c, api_key: k}}
  - {model_name: d, litellm_params: {model: openai/d, api_key: k}}
  - {model_name: e, litellm_params: {model: openai/e, api_key: k}}
`
	parse("fallback-star.yaml", []byte(models+`router_settings:
  fallbacks: [{openai/gpt-4o: [a, b]}, {c: [c, a, b, d, e]}, {"*": [e]}]
  max_fallbacks: 3
`))
	parse("fallback-default.yaml", []byte(models+`router_settings:
  fallbacks: [{a: [b]}]
  default_fallbacks: [d, e]
`))
	return out
}

// TestRenderedPlanAgreesWithRuntimePlan: the default plan rendered into
// each group's route (what an Envoy run from `llmgate render` does with no
// request filter override) and the plan llmgate builds at run time with
// every deployment healthy name the same groups in the same order, the same
// deployments in each, and put simple-shuffle's unweighted deployments after
// the weighted ones. Both come from the compiled model (model.Fallbacks,
// model.ShuffleWeights); before, the rendered plan followed exact fallback
// names only (no "*", no prefix-less key, no default_fallbacks, no
// max_fallbacks) and left weight-0 deployments out.
func TestRenderedPlanAgreesWithRuntimePlan(t *testing.T) {
	for name, cfg := range agreementConfigs(t) {
		t.Run(name, func(t *testing.T) {
			groups := xds.Groups(model.Compile(cfg))
			all := map[string]xds.ModelGroup{}
			for _, g := range groups {
				all[g.Name] = g
			}
			r := router.New(cfg, store.NewMemory(time.Now))
			for _, g := range groups {
				if len(g.Deployments) == 0 || strings.Contains(g.Name, "*") {
					continue // mock-only groups need no route; patterns are planned per requested name
				}
				// Rendered: priority groups in order, consecutive ones of one
				// model group (weighted, then unweighted) merged.
				var rendered []string
				clusters := map[string][]string{}
				lastTier := map[string][]string{}
				for _, pg := range xds.PriorityGroups(g, all).PriorityGroups {
					if len(rendered) == 0 || rendered[len(rendered)-1] != pg.Name {
						rendered = append(rendered, pg.Name)
					} else {
						for _, c := range pg.Clusters {
							lastTier[pg.Name] = append(lastTier[pg.Name], c.ClusterName)
						}
					}
					for _, c := range pg.Clusters {
						clusters[pg.Name] = append(clusters[pg.Name], c.ClusterName)
					}
				}
				plan, err := r.Plan(context.Background(), router.PlanRequest{Model: g.Name})
				if err != nil {
					t.Fatalf("group %s: %v", g.Name, err)
				}
				runtime := append([]string{plan.Resolution.Group}, plan.FallbackGroups...)
				// Groups without a served deployment have no route to render.
				runtime = slices.DeleteFunc(runtime, func(n string) bool { _, ok := all[n]; return !ok || len(all[n].Deployments) == 0 })
				if !slices.Equal(rendered, runtime) {
					t.Errorf("group %s: rendered plan groups %v, runtime %v", g.Name, rendered, runtime)
				}
				for _, name := range runtime {
					var want []string
					for _, d := range r.Model().GroupDeployments(name) {
						if d.MockResponse == nil {
							want = append(want, d.ClusterFor(d.Provider))
						}
					}
					got := slices.Clone(clusters[name])
					slices.Sort(got)
					slices.Sort(want)
					if !slices.Equal(got, want) {
						t.Errorf("group %s → %s: rendered clusters %v, runtime deployments %v", g.Name, name, got, want)
					}
				}
				// In the runtime plan an unweighted deployment never comes
				// before a weighted one of its group.
				seenLast := map[string]bool{}
				for _, a := range plan.Attempts {
					d, _ := r.Model().Deployment(a.DeploymentID)
					c := d.ClusterFor(a.Provider)
					if slices.Contains(lastTier[a.Group], c) {
						seenLast[a.Group] = true
					} else if seenLast[a.Group] && a.Retry < len(clusters[a.Group]) {
						t.Errorf("group %s: runtime tried weighted %s after an unweighted deployment", a.Group, c)
					}
				}
			}
		})
	}
}
