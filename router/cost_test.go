package router

import (
	"testing"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/modelfacts"
	"github.com/llmgate/llmgate/translator"
)

func TestCost(t *testing.T) {
	in, out := 0.000001, 0.000002
	facts := func(provider, model string) (modelfacts.Facts, bool) {
		if model == "known" {
			return modelfacts.Facts{InputCostPerToken: 0.00001, OutputCostPerToken: 0.00003}, true
		}
		return modelfacts.Facts{}, false
	}
	r := New(&config.Config{}, nil, WithFacts(facts))
	u := translator.Usage{PromptTokens: 100, CompletionTokens: 10}
	for _, tc := range []struct {
		name  string
		d     config.Deployment
		model string
		want  float64
		ok    bool
	}{
		{"model_info prices", config.Deployment{Info: config.ModelInfo{InputCostPerToken: &in, OutputCostPerToken: &out}}, "unknown", 100*in + 10*out, true},
		{"built-in facts", config.Deployment{}, "known", 100*0.00001 + 10*0.00003, true},
		{"model_info overrides one price", config.Deployment{Info: config.ModelInfo{InputCostPerToken: &in}}, "known", 100*in + 10*0.00003, true},
		{"base_model's facts", config.Deployment{Info: config.ModelInfo{BaseModel: "known"}}, "my-azure-name", 100*0.00001 + 10*0.00003, true},
		{"unknown", config.Deployment{}, "unknown", 0, false},
	} {
		got, ok := r.Cost(&tc.d, "openai", tc.model, u)
		if ok != tc.ok || (ok && (got-tc.want > 1e-12 || tc.want-got > 1e-12)) {
			t.Errorf("%s: %v %v, want %v %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}
