package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestEndUserRegion (D173): with enable_pre_call_checks, a request whose
// end user (the body's user, a /customer/new row) has an
// allowed_model_region goes only to the group's deployments whose
// region_name is that region — a deployment without one takes none of
// them, as LiteLLM's is_region_allowed — and a group with none in the
// region answers the 429 "No deployments available"; a customer without a
// region, or no customer, is spread over the whole group. On both request
// filters: the module hands such a customer to ext_proc, which plans it.
func TestEndUserRegion(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	cfg := fmt.Sprintf(`
model_list:
  - model_name: g
    litellm_params: {model: openai/gpt-eu, api_base: %[1]s/v1, api_key: sk-p, region_name: eu}
  - model_name: g
    litellm_params: {model: openai/gpt-us, api_base: %[1]s/v1, api_key: sk-p, region_name: us}
  - model_name: g
    litellm_params: {model: openai/gpt-none, api_base: %[1]s/v1, api_key: sk-p}
  - model_name: us-only
    litellm_params: {model: openai/gpt-us2, api_base: %[1]s/v1, api_key: sk-p, region_name: us}
router_settings:
  enable_pre_call_checks: true
general_settings:
  master_key: %[2]s
`, fake.URL(), master)
	for _, mode := range requestFilterModes {
		t.Run(mode.name, func(t *testing.T) {
			g := startGatewayArgs(t, cfg, mode.args, "LLMGATE_DATA_DIR="+t.TempDir())
			k := keyAPI{t, g}
			if st, m := k.call("POST", "/customer/new", master, `{"user_id":"cust-eu","allowed_model_region":"eu"}`); st != 200 {
				t.Fatalf("/customer/new: %d %v", st, m)
			}
			if st, m := k.call("POST", "/customer/new", master, `{"user_id":"cust-plain"}`); st != 200 {
				t.Fatalf("/customer/new: %d %v", st, m)
			}
			models := func(user string, n int) map[string]int {
				t.Helper()
				fake.Reset()
				for i := 0; i < n; i++ {
					body := fmt.Sprintf(`{"model":"g","user":%q,"messages":[{"role":"user","content":"hi"}]}`, user)
					if st, _, b := post(t, g.URL+"/v1/chat/completions", master, body); st != 200 {
						t.Fatalf("user %s: %d %s", user, st, b)
					}
				}
				seen := map[string]int{}
				for _, r := range fake.Requests() {
					var m struct{ Model string }
					_ = json.Unmarshal(r.Body, &m)
					seen[m.Model]++
				}
				return seen
			}
			if got := models("cust-eu", 12); got["gpt-eu"] != 12 || len(got) != 1 {
				t.Errorf("customer with allowed_model_region eu: provider models %v, want all 12 on gpt-eu", got)
			}
			for _, user := range []string{"cust-plain", "never-created"} {
				if got := models(user, 30); len(got) != 3 {
					t.Errorf("customer %s (no region): provider models %v, want all three deployments", user, got)
				}
			}
			st, _, b := post(t, g.URL+"/v1/chat/completions", master, `{"model":"us-only","user":"cust-eu","messages":[{"role":"user","content":"hi"}]}`)
			var e struct{ Error struct{ Message string } }
			if err := json.Unmarshal(b, &e); err != nil || st != 429 || !strings.HasPrefix(e.Error.Message, "No deployments available for selected model") {
				t.Errorf("eu customer on a us-only group: %d %s, want 429 No deployments available", st, b)
			}
		})
	}
}
