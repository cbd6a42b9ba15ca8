package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestModuleConfigsReleased: a reload that changes the listener (here
// general_settings.max_request_size_mb) makes Envoy build new module filter
// configs and, once the old listener drained, destroy the old ones. The
// module then stops their table subscriptions and outcome shipping and reuses
// their slots (dynmod/hooks.go): before, every such reload leaked two table
// streams, an outcome stream and a copy of the config, and after about 1,000
// filter configs the module refused new ones (Envoy rejected the listener).
func TestModuleConfigsReleased(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	cfg := func(mb int) string {
		return fmt.Sprintf(`
model_list:
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/v1, api_key: sk-up}
router_settings: {num_retries: 0}
general_settings: {master_key: %[2]s, max_request_size_mb: %[3]d}
`, fake.URL(), master, mb)
	}
	g := startGatewayArgs(t, cfg(4), moduleArgs)
	waitLog(t, g, "envoy loaded the request filter module")
	body := `{"model":"gpt","messages":[{"role":"user","content":"hi"}]}`
	chat := func(when string) {
		t.Helper()
		if code, _, b := post(t, g.URL+"/v1/chat/completions", master, body); code != 200 {
			t.Fatalf("chat %s: %d %s", when, code, b)
		}
	}
	chat("before any reload")
	for i, mb := range []int{5, 6, 7} {
		before := strings.Count(g.Stderr(), "released")
		g.WriteConfig(cfg(mb))
		deadline := time.Now().Add(20 * time.Second)
		for strings.Count(g.Stderr(), "released") == before {
			if time.Now().After(deadline) {
				t.Fatalf("reload %d: no module filter config released within 20s:\n%s", i+1, g.Logs())
			}
			time.Sleep(100 * time.Millisecond)
		}
		chat(fmt.Sprintf("after reload %d", i+1))
	}
	if strings.Contains(g.Stderr(), "too many filter configs") {
		t.Fatalf("the module ran out of filter config slots:\n%s", g.Logs())
	}
}
