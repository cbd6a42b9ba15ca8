package router

import (
	"math"
	"testing"
	"time"

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
		got, ok := r.Cost(&tc.d, "openai", tc.model, u, 0)
		if ok != tc.ok || (ok && (got-tc.want > 1e-12 || tc.want-got > 1e-12)) {
			t.Errorf("%s: %v %v, want %v %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

// TestCostPromptCache (D141): tokens read from and written to the
// provider's prompt cache are priced at cache_read_input_token_cost and
// cache_creation_input_token_cost (model_info first, then the built-in
// facts, else the input price), the rest of the prompt at the input price —
// LiteLLM's generic_cost_per_token. The translators count both in
// prompt_tokens.
func TestCostPromptCache(t *testing.T) {
	read, write := 0.0000003, 0.00000375
	facts := func(provider, model string) (modelfacts.Facts, bool) {
		switch model {
		case "claude":
			return modelfacts.Facts{InputCostPerToken: 0.000003, OutputCostPerToken: 0.000015, CacheReadInputTokenCost: &read, CacheCreationInputTokenCost: &write}, true
		case "no-cache-prices":
			return modelfacts.Facts{InputCostPerToken: 0.000003, OutputCostPerToken: 0.000015}, true
		}
		return modelfacts.Facts{}, false
	}
	r := New(&config.Config{}, nil, WithFacts(facts))
	// Anthropic's usage input 4, cache read 1000, cache write 100, output 12.
	u := translator.Usage{PromptTokens: 1104, CompletionTokens: 12, CachedTokens: 1000, CacheCreationTokens: 100}
	myRead := 0.0000001
	for _, tc := range []struct {
		name  string
		info  config.ModelInfo
		model string
		want  float64
	}{
		{"facts' cache prices", config.ModelInfo{}, "claude", 4*0.000003 + 1000*read + 100*write + 12*0.000015},
		{"no cache prices: the input price", config.ModelInfo{}, "no-cache-prices", 1104*0.000003 + 12*0.000015},
		{"model_info's cache read price wins", config.ModelInfo{CacheReadInputTokenCost: &myRead}, "claude", 4*0.000003 + 1000*myRead + 100*write + 12*0.000015},
	} {
		d := config.Deployment{Info: tc.info}
		got, ok := r.Cost(&d, "anthropic", tc.model, u, 0)
		if !ok || math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s: %v %v, want %v", tc.name, got, ok, tc.want)
		}
	}
}

// TestCostPerSecond (D102): where the per-token input (output) price is not
// set or 0, input_cost_per_second (output_cost_per_second) × the try's
// duration is the prompt (completion) cost; a per-token price wins.
func TestCostPerSecond(t *testing.T) {
	r := New(&config.Config{}, nil, WithFacts(func(provider, model string) (modelfacts.Facts, bool) { return modelfacts.Facts{}, false }))
	inSec, outSec, tok, zero := 0.5, 2.0, 0.001, 0.0
	u := translator.Usage{PromptTokens: 100, CompletionTokens: 10}
	dur := 1500 * time.Millisecond
	for _, tc := range []struct {
		name string
		info config.ModelInfo
		want float64
	}{
		{"both per second", config.ModelInfo{InputCostPerSecond: &inSec, OutputCostPerSecond: &outSec}, 0.5*1.5 + 2*1.5},
		{"input per token wins", config.ModelInfo{InputCostPerToken: &tok, InputCostPerSecond: &inSec, OutputCostPerSecond: &outSec}, 100*tok + 2*1.5},
		{"per-token 0 falls to per second", config.ModelInfo{InputCostPerToken: &zero, OutputCostPerToken: &zero, OutputCostPerSecond: &outSec}, 2 * 1.5},
	} {
		d := config.Deployment{Info: tc.info}
		got, ok := r.Cost(&d, "openai", "unknown", u, dur)
		if !ok || math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s: %v %v, want %v", tc.name, got, ok, tc.want)
		}
	}
}
