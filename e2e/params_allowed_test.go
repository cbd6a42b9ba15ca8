package e2e

import (
	"context"
	"errors"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/tidwall/gjson"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestParamsAllowedOpenAIParams: allowed_openai_params on Anthropic
// deployments, through Envoy with openai-go, on both request filters
// (D119). The same request with seed and service_tier (params the Anthropic
// translator does not map) goes to: claude-drop (drop_params: true), whose
// provider gets neither; claude-allowed (drop_params: true, both allowed),
// whose provider gets both as sent; claude-strict (no drop_params), refused
// with a 400 naming seed; claude-strict-allowed (seed and service_tier
// allowed), served with both. The fake provider's recorded body is read.
func TestParamsAllowedOpenAIParams(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	for _, mode := range requestFilterModes {
		t.Run(mode.name, func(t *testing.T) {
			g := startGatewayArgs(t, `
model_list:
  - model_name: claude-drop
    litellm_params: {model: anthropic/claude-3-5-haiku-20241022, api_base: `+fake.URL()+`, api_key: k, drop_params: true}
  - model_name: claude-allowed
    litellm_params: {model: anthropic/claude-3-5-haiku-20241022, api_base: `+fake.URL()+`, api_key: k, drop_params: true, allowed_openai_params: [seed, service_tier]}
  - model_name: claude-strict
    litellm_params: {model: anthropic/claude-3-5-haiku-20241022, api_base: `+fake.URL()+`, api_key: k}
  - model_name: claude-strict-allowed
    litellm_params: {model: anthropic/claude-3-5-haiku-20241022, api_base: `+fake.URL()+`, api_key: k, allowed_openai_params: [seed, service_tier]}
`, mode.args)
			client := newClient(g, "any")
			send := func(model string) error {
				_, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
					Model: model, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi")},
					Seed: openai.Int(7), ServiceTier: openai.ChatCompletionNewParamsServiceTierAuto,
				})
				return err
			}
			for _, c := range []struct {
				model, seed, tier string
			}{
				{"claude-drop", "", ""},
				{"claude-allowed", "7", `"auto"`},
				{"claude-strict-allowed", "7", `"auto"`},
			} {
				for range 2 { // the second on a warm path
					if err := send(c.model); err != nil {
						t.Fatalf("%s: %v", c.model, err)
					}
				}
				rec, _ := fake.Last()
				if seed, tier := gjson.GetBytes(rec.Body, "seed").Raw, gjson.GetBytes(rec.Body, "service_tier").Raw; seed != c.seed || tier != c.tier {
					t.Errorf("%s: the provider got seed %q service_tier %q, want %q %q: %s", c.model, seed, tier, c.seed, c.tier, rec.Body)
				}
			}
			var apiErr *openai.Error
			if err := send("claude-strict"); !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Param != "seed" {
				t.Errorf("claude-strict: %v, want a 400 naming seed", err)
			}
		})
	}
}
