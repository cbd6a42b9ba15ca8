package model_test

import (
	"reflect"
	"testing"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/model"
)

// TestCompareWithOldRuntime (until xds reads the model): the model falls
// back and weighs as config's readings did. Resolution and targets were
// compared with router's own code before it moved here (301 probes over the
// example configs, all equal but a bare "*" deployment asked for
// "vllm/foo", fixed by config.IsLiteLLMProvider); the golden files of
// TestCompileExamples keep that result.
func TestCompareWithOldRuntime(t *testing.T) {
	n := 0
	for name, cfg := range exampleConfigs(t) {
		m := model.Compile(cfg)
		for _, probe := range probes(m) {
			n++
			nr, nerr := m.Resolve(probe)
			if nerr != nil {
				continue
			}
			for k := range 3 {
				of := cfg.Router.FallbackGroups(nr.Group, config.FallbackKind(k))
				nf := m.Fallbacks(nr.Group, model.FallbackKind(k))
				if !reflect.DeepEqual(of, nf) {
					t.Errorf("%s: fallbacks %d of %q: old %v new %v", name, k, nr.Group, of, nf)
				}
			}
			oe, ook := cfg.Router.ExactFallbacks(probe, nr.Group)
			ne, nok := m.ExactFallbacks(probe, nr.Group)
			if ook != nok || !reflect.DeepEqual(oe, ne) {
				t.Errorf("%s: exact fallbacks %q: old %v new %v", name, probe, oe, ne)
			}
		}
		for _, g := range m.Groups {
			var cds []*config.Deployment
			for _, d := range g.Deployments {
				cds = append(cds, d.Config)
			}
			if ow := config.ShuffleWeights(cds); !reflect.DeepEqual(ow, g.Weights) {
				t.Errorf("%s: weights of %q: old %v new %v", name, g.Name, ow, g.Weights)
			}
		}
	}
	t.Logf("%d probes compared", n)
}
