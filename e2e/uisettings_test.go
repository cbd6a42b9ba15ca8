package e2e

import (
	"encoding/json"
	"testing"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// general_settings.default_team_disabled (D109) through Envoy: LiteLLM's GET
// /sso/get/ui_settings answers DEFAULT_TEAM_DISABLED to any valid key (a
// virtual key, the master key) on both request filters; without a key it
// is LiteLLM's 401; PROXY_DEFAULT_TEAM_DISABLED=true sets it too; unset it
// is false.
func TestDefaultTeamDisabled(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	settings := func(t *testing.T, g *Gateway, key string) (int, map[string]any) {
		t.Helper()
		st, _, b := do(t, "GET", g.URL+"/sso/get/ui_settings", key, "")
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		return st, m
	}
	for _, mode := range requestFilterModes {
		t.Run(mode.name, func(t *testing.T) {
			g := startGatewayArgs(t, keysConfig(fake.URL(), "")+"  default_team_disabled: true\n", mode.args, "LLMGATE_DATA_DIR="+t.TempDir())
			key, _ := keyAPI{t, g}.generate(`{}`)
			for _, k := range []string{key, master} {
				if st, m := settings(t, g, k); st != 200 || m["DEFAULT_TEAM_DISABLED"] != true || m["SSO_ENABLED"] != false {
					t.Errorf("ui_settings with default_team_disabled: %d %v", st, m)
				}
			}
			if st, m := settings(t, g, ""); st != 401 {
				t.Errorf("ui_settings without a key: %d %v", st, m)
			}
		})
	}
	t.Run("env and unset", func(t *testing.T) {
		g := startGatewayArgs(t, keysConfig(fake.URL(), ""), nil, "LLMGATE_DATA_DIR="+t.TempDir(), "PROXY_DEFAULT_TEAM_DISABLED=True")
		if st, m := settings(t, g, master); st != 200 || m["DEFAULT_TEAM_DISABLED"] != true {
			t.Errorf("ui_settings with PROXY_DEFAULT_TEAM_DISABLED=True: %d %v", st, m)
		}
		g = startGatewayArgs(t, keysConfig(fake.URL(), ""), nil, "LLMGATE_DATA_DIR="+t.TempDir())
		if st, m := settings(t, g, master); st != 200 || m["DEFAULT_TEAM_DISABLED"] != false {
			t.Errorf("ui_settings unset: %d %v", st, m)
		}
	})
}
