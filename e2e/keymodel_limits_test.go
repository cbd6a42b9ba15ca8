package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// litellm_params.default_api_key_rpm_limit / default_api_key_tpm_limit
// (D109) through Envoy on both request filters, with openai-go: a virtual
// key's third request in a minute to a group whose deployments set
// default_api_key_rpm_limit 2 (the smaller of its two deployments' 2 and 5)
// is refused with LiteLLM's 429 model_per_key error and retry-after, while
// another key, the same key on another group and the master key (its own
// bucket, TestCallerModelDefaultLimits) are served;
// once a key's first answer's tokens are counted, default_api_key_tpm_limit
// refuses that key on its group.
func TestKeyModelDefaultLimits(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	cfg := fmt.Sprintf(`
model_list:
  - model_name: gpt-lim
    litellm_params:
      model: openai/gpt-4o
      api_base: %[1]s/v1
      api_key: sk-provider
      default_api_key_rpm_limit: 2
  - model_name: gpt-lim
    litellm_params:
      model: openai/gpt-4o
      api_base: %[1]s/v1
      api_key: sk-provider
      default_api_key_rpm_limit: 5
  - model_name: gpt-tok
    litellm_params:
      model: openai/gpt-4o
      api_base: %[1]s/v1
      api_key: sk-provider
      default_api_key_tpm_limit: 5
  - model_name: gpt-x
    litellm_params:
      model: openai/gpt-4o
      api_base: %[1]s/v1
      api_key: sk-provider
general_settings:
  master_key: %[2]s
  proxy_batch_write_at: 1
`, fake.URL(), master)
	for _, mode := range requestFilterModes {
		t.Run(mode.name, func(t *testing.T) {
			g := startGatewayArgs(t, cfg, mode.args, "LLMGATE_DATA_DIR="+t.TempDir())
			k := keyAPI{t, g}
			chat := func(key, model string) error {
				client := newClient(g, key)
				_, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
					Model: openai.ChatModel(model), Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello defaults")}})
				return err
			}
			refused := func(err error) *openai.Error {
				var apiErr *openai.Error
				if errors.As(err, &apiErr) && apiErr.StatusCode == 429 {
					return apiErr
				}
				return nil
			}

			for try := 0; ; try++ {
				waitForMinuteLeft(15 * time.Second)
				minute := time.Now().UTC().Truncate(time.Minute)
				key, token := k.generate(`{}`)
				other, _ := k.generate(`{}`)
				for i := 0; i < 2; i++ {
					if err := chat(key, "gpt-lim"); err != nil {
						t.Fatalf("request %d within the default rpm: %v", i+1, err)
					}
				}
				err := chat(key, "gpt-lim")
				if time.Now().UTC().Truncate(time.Minute) != minute && try == 0 {
					continue // the UTC minute turned: count again with new keys
				}
				apiErr := refused(err)
				want := "Rate limit exceeded for model_per_key: " + token + ":gpt-lim. Limit type: requests. Current limit: 2, Remaining: 0."
				if apiErr == nil || apiErr.Type != "rate_limit_error" || !strings.HasPrefix(apiErr.Message, want) ||
					apiErr.Response == nil || apiErr.Response.Header.Get("retry-after") == "" {
					t.Fatalf("the key's third request to gpt-lim in a minute: %v, want 429 %q… with retry-after", err, want)
				}
				if err := chat(other, "gpt-lim"); err != nil {
					t.Errorf("another key on gpt-lim (the limit is per key): %v", err)
				}
				if err := chat(key, "gpt-x"); err != nil {
					t.Errorf("the key on a group without defaults: %v", err)
				}
				for i := 0; i < 2; i++ {
					// (The master key's own bucket, litellm_proxy_master_key:gpt-lim, D136.)
					if err := chat(master, "gpt-lim"); err != nil {
						t.Errorf("the master key's request %d on gpt-lim: %v", i+1, err)
					}
				}
				break
			}

			waitForMinuteLeft(20 * time.Second)
			key, _ := k.generate(`{}`)
			if err := chat(key, "gpt-tok"); err != nil {
				t.Fatalf("the first request under the default tpm: %v", err)
			}
			deadline := time.Now().Add(10 * time.Second)
			var err error
			for {
				err = chat(key, "gpt-tok")
				if err != nil || time.Now().After(deadline) {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			if apiErr := refused(err); apiErr == nil || apiErr.Type != "rate_limit_error" ||
				!strings.Contains(apiErr.Message, ":gpt-tok. Limit type: tokens. Current limit: 5, Remaining: 0.") {
				t.Errorf("the key over gpt-tok's default tpm: %v", err)
			}
		})
	}
}
