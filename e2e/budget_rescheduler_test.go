package e2e

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// general_settings.proxy_budget_rescheduler_min_time / _max_time (D109)
// through Envoy with openai-go: a key whose budget (budget_duration 1s) is
// spent stays refused with budget_exceeded well past its budget period
// while the reset check runs only every hour (min = max = 3600), and is
// served again once its period has passed when the check runs every second.
func TestBudgetRescheduler(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	for _, c := range []struct {
		name     string
		every    string
		resetted bool
	}{{"hourly check", "3600", false}, {"check every second", "1", true}} {
		t.Run(c.name, func(t *testing.T) {
			g := startGatewayArgs(t, keysConfig(fake.URL(), "")+"  proxy_budget_rescheduler_min_time: "+c.every+
				"\n  proxy_budget_rescheduler_max_time: "+c.every+"\n", nil, "LLMGATE_DATA_DIR="+t.TempDir())
			k := keyAPI{t, g}
			key, _ := k.generate(`{"max_budget":0.000001,"budget_duration":"1s"}`)
			client := newClient(g, key)
			chat := func() error {
				_, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
					Model: "gpt-x", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello budget")}})
				return err
			}
			overBudget := func(err error) bool {
				var apiErr *openai.Error
				return errors.As(err, &apiErr) && apiErr.StatusCode == 400 && apiErr.Type == "budget_exceeded"
			}
			// Spend the budget: answers are served until the spend batch
			// (every second) has counted one.
			deadline := time.Now().Add(10 * time.Second)
			var err error
			for err = chat(); err == nil && time.Now().Before(deadline); err = chat() {
				time.Sleep(50 * time.Millisecond)
			}
			if !overBudget(err) {
				t.Fatalf("the key over its budget: %v", err)
			}
			// Its budget period (1 s) has long passed after 5 s; the reset
			// check alone decides whether it was started again.
			deadline = time.Now().Add(5 * time.Second)
			for {
				err = chat()
				if err == nil || time.Now().After(deadline) {
					break
				}
				if !overBudget(err) {
					t.Fatalf("a refusal other than budget_exceeded: %v", err)
				}
				time.Sleep(200 * time.Millisecond)
			}
			if served := err == nil; served != c.resetted {
				t.Errorf("served again 5 s after the budget period: %v (%v), want %v", served, err, c.resetted)
			}
		})
	}
}
