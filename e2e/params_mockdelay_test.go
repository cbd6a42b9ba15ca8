package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// TestParamsMockDelay: litellm_params.mock_delay holds a mock_response
// answer that long (D119): a client that gives up after 2 s gets no answer
// from the deployment with mock_delay: 6, while the same mock without it
// answers that client; a client that waits gets the delayed mock. Through
// Envoy with openai-go, on both request filters.
func TestParamsMockDelay(t *testing.T) {
	for _, mode := range requestFilterModes {
		t.Run(mode.name, func(t *testing.T) {
			g := startGatewayArgs(t, `
model_list:
  - model_name: mock
    litellm_params: {model: openai/gpt-4o, mock_response: "hi there"}
  - model_name: mock-slow
    litellm_params: {model: openai/gpt-4o, mock_response: "hi there", mock_delay: 6}
`, mode.args)
			impatient := openai.NewClient(option.WithBaseURL(g.URL+"/v1"), option.WithAPIKey("any"), option.WithMaxRetries(0),
				option.WithRequestTimeout(2*time.Second))
			ask := func(c openai.Client, model string) (string, error) {
				r, err := c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
					Model: model, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Hi")}})
				if err != nil {
					return "", err
				}
				return r.Choices[0].Message.Content, nil
			}
			if got, err := ask(impatient, "mock"); err != nil || got != "hi there" {
				t.Fatalf("mock: %q, %v", got, err)
			}
			if got, err := ask(impatient, "mock-slow"); err == nil {
				t.Errorf("mock-slow answered %q within 2 s; want it held 6 s", got)
			}
			if got, err := ask(newClient(g, "any"), "mock-slow"); err != nil || got != "hi there" {
				t.Errorf("mock-slow, waited for: %q, %v", got, err)
			}
		})
	}
}
