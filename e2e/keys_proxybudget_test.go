package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// litellm_settings.max_budget, the proxy-wide budget (D90), through Envoy
// on both request filters and both key stores: once one key's request
// spent past it, another key is refused with LiteLLM's budget_exceeded,
// the master key is still served (LiteLLM checks virtual keys only), and
// the litellm-proxy-budget row carries the spend.
func TestProxyBudget(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	eachFilterAndStore(t, func(t *testing.T, mode requestFilterMode, db string) {
		g := startGatewayArgs(t, keysConfig(fake.URL(), db)+"litellm_settings:\n  max_budget: 0.00001\n  budget_duration: 30d\n",
			mode.args, "LLMGATE_DATA_DIR="+t.TempDir())
		k := keyAPI{t, g}
		a, _ := k.generate(`{}`)
		b, _ := k.generate(`{}`)
		if st, e, _ := k.chat(a, "gpt-x"); st != 200 {
			t.Fatalf("the first request: %d %v", st, e)
		}
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			st, e, _ := k.chat(b, "gpt-x")
			if st == 400 && e["type"] == "budget_exceeded" {
				if msg, _ := e["message"].(string); !strings.HasPrefix(msg, "Budget has been exceeded! Current cost: ") || !strings.HasSuffix(msg, ", Max budget: 1e-05") {
					t.Fatalf("message %q", msg)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("another key was not refused past the proxy budget within 10 s: %d %v", st, e)
			}
		}
		if st, e, _ := k.chat(master, "gpt-x"); st != 200 {
			t.Fatalf("the master key past the proxy budget: %d %v", st, e)
		}
		st, m := k.call("GET", "/user/info?user_id=litellm-proxy-budget", master, "")
		if info, _ := m["user_info"].(map[string]any); st != 200 || info["max_budget"] != 0.00001 || info["budget_duration"] != "30d" {
			t.Fatalf("/user/info of litellm-proxy-budget: %d %v", st, m)
		}
	})
}
