package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestPromptCachePriced (D141): an Anthropic deployment whose system message
// is marked for caching (cache_control_injection_points). The fake provider
// emulates Anthropic's prompt cache: the first request writes the prefix
// (cache_creation_input_tokens), the next ones read it
// (cache_read_input_tokens). Through Envoy with openai-go, on both request
// filters: usage.prompt_tokens counts all three parts with
// prompt_tokens_details.cached_tokens and cache_creation_tokens, and
// x-litellm-response-cost prices them at the model's
// cache_read_input_token_cost and cache_creation_input_token_cost (LiteLLM's
// table: 3e-7 and 3.75e-6 per token for claude-3-5-sonnet-20241022, input
// 3e-6, output 1.5e-5), streamed or not.
func TestPromptCachePriced(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	for i, mode := range requestFilterModes {
		t.Run(mode.name, func(t *testing.T) {
			g := startGatewayArgs(t, fmt.Sprintf(`
model_list:
  - model_name: claude
    litellm_params:
      model: anthropic/claude-3-5-sonnet-20241022
      api_base: %s
      api_key: k
      cache_control_injection_points: [{location: message, role: system}]
`, fake.URL()), mode.args)
			client := newClient(g, "any")
			// Each mode its own prefix: the fake's cache outlives a gateway.
			system := fmt.Sprintf("You are a careful assistant number %d who answers in one short line and never more", i)
			msgs := []openai.ChatCompletionMessageParamUnion{openai.SystemMessage(system), openai.UserMessage("hello there")}
			type usage struct {
				Prompt     int `json:"prompt_tokens"`
				Completion int `json:"completion_tokens"`
				Details    struct {
					Cached   int `json:"cached_tokens"`
					Creation int `json:"cache_creation_tokens"`
				} `json:"prompt_tokens_details"`
			}
			check := func(name string, u usage, cost string, wantRead, wantWrite bool) {
				t.Helper()
				if wantWrite != (u.Details.Creation > 0) || wantRead != (u.Details.Cached > 0) || u.Prompt <= u.Details.Cached+u.Details.Creation {
					t.Fatalf("%s: usage %+v: want a cache write %v, a cache read %v, uncached tokens left", name, u, wantWrite, wantRead)
				}
				uncached := u.Prompt - u.Details.Cached - u.Details.Creation
				want := float64(uncached)*3e-6 + float64(u.Details.Cached)*3e-7 + float64(u.Details.Creation)*3.75e-6 + float64(u.Completion)*1.5e-5
				got, err := strconv.ParseFloat(cost, 64)
				if err != nil || math.Abs(got-want) > 1e-12 {
					t.Errorf("%s: x-litellm-response-cost %q, want %g (usage %+v)", name, cost, want, u)
				}
			}
			for n, wantWrite := range []bool{true, false} {
				var hr *http.Response
				resp, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "claude", Messages: msgs}, option.WithResponseInto(&hr))
				if err != nil {
					t.Fatal(err)
				}
				var body struct{ Usage usage }
				if err := json.Unmarshal([]byte(resp.RawJSON()), &body); err != nil {
					t.Fatal(err)
				}
				check(fmt.Sprintf("request %d", n), body.Usage, hr.Header.Get("x-litellm-response-cost"), !wantWrite, wantWrite)
			}
			var hr *http.Response
			stream := client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{Model: "claude", Messages: msgs,
				StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}}, option.WithResponseInto(&hr))
			var u usage
			for stream.Next() {
				c := stream.Current()
				if c.JSON.Usage.Valid() {
					var chunk struct{ Usage usage }
					if err := json.Unmarshal([]byte(c.RawJSON()), &chunk); err != nil {
						t.Fatal(err)
					}
					u = chunk.Usage
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatal(err)
			}
			if u.Details.Cached == 0 || u.Details.Creation != 0 {
				t.Errorf("stream: usage %+v, want a cache read", u)
			}
		})
	}
}
